import fs from "node:fs";
import path from "node:path";
import { describeError, ExtractRejectedError, InvalidParameterError } from "../../errors/index.js";
import type { ArchiveEntry } from "./archive-entry.js";
import { archiveKindOf } from "./archive-kind.js";
import { EntryIndex } from "./entry-index.js";
import { parseEntryName, parseLinkTarget, resolveLexically } from "./entry-path.js";
import { ExtractBudget } from "./extract-budget.js";
import type { ExtractLimits } from "./extract-limits.js";
import { moveIntoTarget, targetInTheWay, type MoveGuard } from "./move-into-target.js";
import { readTarEntries } from "./read-tar.js";
import { readZipEntries } from "./read-zip.js";
import { StagingDir } from "./staging-dir.js";

/** Opens a regular file without following a link, and without blocking should a FIFO have been swapped in. */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Unpacks the archive at `archivePath` (kind from its extension, see archiveKindOf) into `targetDir`, all or
 * nothing:
 *  1. Entries are streamed into a fresh staging folder, `.ctxsync-extract-*`, inside `targetDir` when it
 *     exists, else beside it, so the final renames stay on one file system.
 *  2. Each entry is checked before anything is written for it: its name (no absolute path, drive letter,
 *     `..`, NUL; backslashes count as slashes), no clash with another entry (also after Unicode NFC
 *     normalisation), hard links only to earlier files. Bytes are counted as they are inflated against `limits`.
 *  3. Symlinks are made last, once every entry is known, and only when they resolve inside the root without
 *     passing through another link. Devices and FIFOs are skipped. Modes are masked to 0o777 (folders keep
 *     owner rwx); mtimes are restored.
 *  4. The staging folder's contents are moved into `targetDir` (see moveIntoTarget): new names renamed,
 *     folders merged, files replaced, never through a symlink already there.
 * On any failure the staging folder is deleted and nothing has reached `targetDir`; the archive is never
 * touched. Throws ExtractRejectedError when the archive is at fault (unsafe, too big, damaged, or a
 * conflict in the target), InvalidParameterError for a name that is not an archive's, and an Error with
 * the cause for local I/O failures (no space, no permission). Not safe to run twice at once on one target.
 */
export async function extractArchive(
  archivePath: string,
  targetDir: string,
  limits: ExtractLimits,
  /** Where files may be written and which existing ones stay (moveIntoTarget); everywhere, none when absent. */
  guard: MoveGuard = {},
): Promise<{ files: number; bytes: number }> {
  const kind = archiveKindOf(path.basename(archivePath));
  if (!kind) {
    throw new InvalidParameterError(`${archivePath} is not an archive ctxsync unpacks; its name must end in .zip, .tar, .tar.gz or .tgz.`);
  }
  const target = fs.lstatSync(targetDir, { throwIfNoEntry: false });
  if (target && !target.isDirectory()) throw targetInTheWay(archivePath, targetDir, target);
  let opened: { fd: number; sizeBytes: number };
  try {
    opened = openArchive(archivePath);
  } catch (err) {
    throw err instanceof ExtractRejectedError ? err : localFailure(archivePath, targetDir, err);
  }
  const { fd, sizeBytes } = opened;
  const budget = new ExtractBudget(archivePath, limits, sizeBytes);
  let staging: StagingDir;
  try {
    staging = StagingDir.create(target ? targetDir : path.dirname(targetDir));
  } catch (err) {
    fs.closeSync(fd);
    throw localFailure(archivePath, targetDir, err);
  }
  try {
    // From here the reader owns the descriptor and closes it however the loop ends.
    const entries = kind.kind === "zip" ? readZipEntries(fd, budget) : readTarEntries(fd, kind.kind === "tar.gz", budget);
    await unpack(entries, staging, budget, archivePath);
    staging.finish();
    moveIntoTarget(staging.dir, targetDir, archivePath, guard);
    return { files: staging.files, bytes: staging.bytes };
  } catch (err) {
    if (err instanceof ExtractRejectedError) throw err;
    if (isLocalFailure(err)) throw localFailure(archivePath, targetDir, err);
    // Whatever else the readers throw (yauzl, tar-stream, zlib) means the archive cannot be read.
    const subject = budget.entry === null ? "the archive " : "";
    return budget.reject(`${subject}cannot be read, so the archive is damaged or not a ${kind.kind} file (${describeError(err)})`, err);
  } finally {
    staging.remove();
  }
}

interface StagedLink {
  name: string;
  segments: string[];
  steps: string[];
}

/** Checks each entry and writes it into the staging folder; symlinks are checked again once all are known. */
async function unpack(entries: AsyncIterable<ArchiveEntry>, staging: StagingDir, budget: ExtractBudget, archive: string): Promise<void> {
  const index = new EntryIndex();
  const links: StagedLink[] = [];
  const refuse = (reason: string | null): void => {
    if (reason !== null) budget.reject(reason);
  };
  for await (const e of entries) {
    const parsed = parseEntryName(e.name);
    if (!parsed.ok) return budget.reject(parsed.reason);
    const segments = parsed.segments;
    if (e.type === "other") continue;
    if (segments.length === 0) {
      if (e.type === "dir") continue; // `./`: the root itself
      return budget.reject("has an empty name");
    }
    const mode = e.mode === null ? null : e.mode & 0o777;
    switch (e.type) {
      case "dir":
        refuse(index.add(segments, "dir"));
        staging.addDir(segments, mode ?? 0o755, e.mtime);
        break;
      case "file":
        refuse(index.add(segments, "file"));
        await staging.writeFile(segments, await e.open(), mode ?? 0o644, e.mtime);
        break;
      case "hardlink": {
        const to = parseEntryName(e.linkname ?? "");
        if (!to.ok) return budget.reject(`is a hard link to ${JSON.stringify(e.linkname)}, which ${to.reason}`);
        // Checked before this entry is recorded, so a link to itself is not "an earlier file".
        if (index.kindAt(to.segments) !== "file") {
          return budget.reject(`is a hard link to ${JSON.stringify(e.linkname)}, which is not a file earlier in the archive`);
        }
        refuse(index.add(segments, "file"));
        staging.hardLink(segments, to.segments, budget);
        break;
      }
      case "symlink": {
        const target = parseLinkTarget(e.linkname ?? "");
        if (!target.ok) return budget.reject(target.reason);
        if (resolveLexically(segments.slice(0, -1), target.steps) === null) {
          return budget.reject(`is a link to ${JSON.stringify(e.linkname)}, which points outside the target`);
        }
        refuse(index.add(segments, "symlink"));
        refuse(index.charge(Buffer.byteLength(e.linkname ?? "")));
        staging.addSymlink(segments, target.steps.join("/") || ".", e.mtime);
        links.push({ name: e.name, segments, steps: target.steps });
        break;
      }
    }
  }
  for (const l of links) {
    const reason = index.checkLink(l.segments, l.steps);
    if (reason !== null) throw new ExtractRejectedError(archive, reason, l.name);
  }
}

function openArchive(archivePath: string): { fd: number; sizeBytes: number } {
  const st = fs.lstatSync(archivePath);
  if (!st.isFile()) throw notRegular(archivePath, st);
  let fd: number;
  try {
    fd = fs.openSync(archivePath, OPEN_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw notRegular(archivePath, fs.lstatSync(archivePath));
    throw err;
  }
  const opened = fs.fstatSync(fd);
  if (!opened.isFile()) {
    fs.closeSync(fd);
    throw notRegular(archivePath, opened);
  }
  return { fd, sizeBytes: opened.size };
}

function notRegular(archivePath: string, st: fs.Stats): ExtractRejectedError {
  const what = st.isSymbolicLink() ? "a symlink" : st.isDirectory() ? "a folder" : "not a regular file";
  return new ExtractRejectedError(archivePath, `the archive is ${what}; ctxsync unpacks only regular files`);
}

/** Errors from system calls on our side (disk full, permission denied) rather than from the archive. */
function isLocalFailure(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException | null)?.syscall === "string";
}

function localFailure(archivePath: string, targetDir: string, err: unknown): Error {
  return new Error(
    `Could not extract ${archivePath} into ${targetDir}: ${describeError(err)}. Nothing was extracted; check free space and permissions, then download again.`,
    { cause: err },
  );
}
