import fs from "node:fs";
import path from "node:path";
import { describeError } from "../../errors/index.js";
import type { ExtractPolicyJSON } from "../../policy/index.js";
import type { Problem } from "../problem.js";
import { archiveKindOf } from "./archive-kind.js";
import { extractArchive } from "./extract-archive.js";
import { defaultExtractLimits, type ExtractLimits } from "./extract-limits.js";

/**
 * Applies the extract policy (SPEC §3) after a download: each of `relPaths` (POSIX, relative to `mountDir`)
 * whose name is an archive's (archiveKindOf) is unpacked with extractArchive — into its own folder when
 * `extractToCurrentFolder`, else into a sibling folder named after its stem (`ext_1.zip` → `ext_1/`, which
 * two archives with one stem share). With `deleteSrcFile` the local archive is removed once it was unpacked,
 * unless the unpacking itself replaced it. Paths that are gone, symlinks, or not archives are passed over.
 * Archives are handled one after another, in the order given; what they unpack is not unpacked again.
 * Per-archive failures come back as problems keyed by the relPath; nothing is thrown for them. An archive
 * with a file that would land on a path `inScope` refuses (mount-relative, the white list) is not
 * extracted at all: such paths are never written, and may hold local files that exist nowhere else.
 * A file already there that `keepLocal(archiveRel, fileRel)` names stays as it is (the download decides:
 * an edit that unpacking again must not undo).
 */
export async function extractDownloadedArchives(
  mountDir: string,
  relPaths: readonly string[],
  policy: ExtractPolicyJSON,
  opts: { limits?: ExtractLimits; inScope?: (rel: string) => boolean; keepLocal?: (archiveRel: string, fileRel: string) => boolean } = {},
): Promise<Problem[]> {
  const limits = opts.limits ?? defaultExtractLimits();
  const { inScope, keepLocal } = opts;
  const relOf = (abs: string) => path.relative(mountDir, abs).split(path.sep).join("/");
  const mayWrite = inScope && ((abs: string) => inScope(relOf(abs)));
  const problems: Problem[] = [];
  if (!policy.extract) return problems;
  for (const rel of relPaths) {
    const kind = archiveKindOf(path.posix.basename(rel));
    if (!kind) continue;
    try {
      const abs = pathInMount(mountDir, rel);
      const before = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (!before?.isFile()) continue;
      const holder = path.dirname(abs);
      const keepExisting = keepLocal && ((target: string) => keepLocal(rel, relOf(target)));
      await extractArchive(abs, policy.extractToCurrentFolder ? holder : path.join(holder, kind.stem), limits, { mayWrite, keepExisting });
      if (policy.deleteSrcFile) removeIfSame(abs, before);
    } catch (err) {
      problems.push({ key: rel, message: describeError(err) });
    }
  }
  return problems;
}

/**
 * The local path of `rel`, refusing a path that is not clean or that lies under a symlinked folder: the
 * download never writes through one, so an archive there is not one it wrote.  `a/b.zip` → `<mount>/a/b.zip`
 */
function pathInMount(mountDir: string, rel: string): string {
  const segments = rel.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(`${JSON.stringify(rel)} is not a clean path inside the mount; it was not extracted`);
  }
  let dir = mountDir;
  for (const seg of segments.slice(0, -1)) {
    dir = path.join(dir, seg);
    if (fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new Error(`${dir} is a symlink; ctxsync does not extract archives through symlinked folders`);
    }
  }
  return path.join(dir, segments[segments.length - 1]!);
}

/** Deletes the archive unless something else now stands at its path (an entry of the same name unpacked over it). */
function removeIfSame(abs: string, before: fs.Stats): void {
  const now = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!now || now.dev !== before.dev || now.ino !== before.ino) return;
  try {
    fs.unlinkSync(abs);
  } catch (err) {
    throw new Error(`${abs} was extracted, but removing the archive failed: ${describeError(err)}`, { cause: err });
  }
}
