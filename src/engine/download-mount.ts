import fs from "node:fs";
import path from "node:path";
import { describeError } from "../errors/index.js";
import { batchesOf, mapInLanes, Pacer, type BaseEntry, type BlobStore, type MetaStore } from "../store/index.js";
import { ARCHIVE_NAME } from "./archive/manifest.js";
import { readArchive } from "./archive/read-archive.js";
import { writeEntryFile } from "./archive/write-entry-file.js";
import { archiveKindOf, extractDownloadedArchives } from "./extract/index.js";
import type { Clock } from "./clock.js";
import { hashFileSync } from "./hash-file.js";
import { LocalDirs } from "./local-dirs.js";
import type { MountLayout } from "./mount-spec.js";
import { readNamespaceView, type NamespaceView, type ViewEntry } from "./namespace-view.js";
import type { Problem } from "./problem.js";
import { ProgressMeter, type ProgressFn } from "./progress.js";
import { statEntry } from "./scan-tree.js";
import { downloadTempName, removeStaleDownloadTemps } from "./temp-name.js";

export interface DownloadDeps {
  blobs: BlobStore;
  meta: Pick<MetaStore, "getBase" | "listLiveFiles" | "updateBase">;
  clock: Clock;
}

export interface DownloadResult {
  written: number;
  /** Files already identical on disk, left alone. */
  skipped: number;
  problems: Problem[];
}

/** Files and bytes per fetchFiles call: large enough to amortise the call, small enough to report progress often. */
const FETCH_BATCH_FILES = 256;
const FETCH_BATCH_BYTES = 16 << 20;
/**
 * fetchFiles calls in flight: small batches (unless the store asks for another number:
 * BlobStore.fetchCallsInFlight), and beside them, not in their places, large files, each a call of its
 * own. A local store runs them interleaved on this thread. Two 100 MB files used to take two of three
 * places and leave one for 10,000 small files while they streamed (7 % slower, embedded and remote
 * alike: docs/benchmarks.md).
 */
const FETCH_CALLS_IN_FLIGHT = { small: 3, large: 2 };

interface PendingWrite {
  file: ViewEntry;
  rel: string;
  tmp: string;
}

/**
 * Downloads one mount (SPEC §3, Download): every live, white-listed file of the namespace is written to
 * the mount via a temp name in its directory and renamed into place, with mode and mtime restored.
 * Files already identical on disk are skipped. Local files the context does not have are left alone.
 * Never writes through a symlinked directory inside the mount.
 */
export async function downloadMount(
  deps: DownloadDeps,
  args: { sessionId: string; layout: MountLayout; onProgress?: ProgressFn },
): Promise<DownloadResult> {
  const { layout } = args;
  // Independent reads: asked at once, so a remote store spends one round trip on them, not two.
  const [view, base] = await Promise.all([
    readNamespaceView(deps, layout.spec.contextId, layout.spec.namespace, deps.clock.now()),
    deps.meta.getBase(args.sessionId, layout.spec.path),
  ]);
  const files: { file: ViewEntry; rel: string }[] = [];
  for (const f of view.files.values()) {
    const rel = layout.relOf(f.key);
    if (rel !== null) files.push({ file: f, rel });
  }
  const dirs = new LocalDirs(layout.dir);
  dirs.ensureRoot();

  const problems: Problem[] = [];
  const seen: BaseEntry[] = [];
  const writes: PendingWrite[] = [];
  let skipped = 0;
  for (const { file, rel } of files) {
    const abs = layout.localPath(rel);
    try {
      if (isIdenticalOnDisk(abs, rel, file, base.get(file.key))) {
        seen.push(toBase(file));
        skipped++;
        continue;
      }
      dirs.ensureParentOf(rel);
      writes.push({ file, rel, tmp: path.join(path.dirname(abs), downloadTempName()) });
    } catch (err) {
      problems.push({ key: file.key, message: describeError(err) });
    }
  }

  const meter = new ProgressMeter(args.onProgress, {
    filesTotal: writes.length,
    bytesTotal: writes.reduce((n, w) => n + w.file.sizeBytes, 0),
  });
  const written: PendingWrite[] = [];
  const placed = (w: PendingWrite) => {
    seen.push(toBase(w.file));
    written.push(w);
    meter.addFiles(1);
  };
  const failed = (w: PendingWrite, err: unknown) => {
    fs.rmSync(w.tmp, { force: true });
    problems.push({ key: w.file.key, message: describeError(err) });
    meter.addFiles(1);
  };
  const place = (w: PendingWrite, err: Error | null) => {
    try {
      if (err) throw err;
      placeFile(w, layout.localPath(w.rel));
      placed(w);
    } catch (e) {
      failed(w, e);
    }
  };
  /** Fetches and places every write: blobs in batches, then the entries of the context's archive. */
  const fetchAll = async (): Promise<void> => {
    const inFlight = { ...FETCH_CALLS_IN_FLIGHT, small: deps.blobs.fetchCallsInFlight ?? FETCH_CALLS_IN_FLIGHT.small };
    await mapInLanes(fetchBatches(writes.filter((w) => w.file.source === "blob")), isLargeBatch, inFlight, async (batch) => {
      const regular = batch.filter((w) => w.file.type === "file");
      const errors = await deps.blobs.fetchFiles(
        regular.map((w) => ({ digest: w.file.digest!, targetPath: w.tmp, sizeBytes: w.file.sizeBytes })),
        (bytes) => meter.addBytes(bytes),
      );
      const fetchError = new Map(regular.map((w, j) => [w, errors[j] ?? null]));
      for (const w of batch) place(w, fetchError.get(w) ?? null);
    });
    const fromArchive = new Map(writes.filter((w) => w.file.source === "archive").map((w) => [w.file.key, w]));
    let archiveFailure: unknown = null;
    if (fromArchive.size > 0 && view.archive?.digest) {
      const pacer = new Pacer();
      // verifyWhole false: writeEntryFile checks every entry's SHA-256 before its file is renamed into place.
      // A failure of the archive as a whole (damaged past an entry, cut short) leaves the files placed so
      // far, each verified, and fails the rest with the cause.
      archiveFailure = await readArchive(deps.blobs, view.archive.digest, async ({ entry, body }) => {
        const w = fromArchive.get(layout.keyOf(entry.rel));
        if (!w) return;
        fromArchive.delete(w.file.key);
        if (w.file.type !== "file") return place(w, null);
        try {
          await writeEntryFile(body, w.file, w.tmp, (n) => meter.addBytes(n));
          renameIntoPlace(w.tmp, layout.localPath(w.rel)); // mode and mtime are set already
          placed(w);
        } catch (e) {
          failed(w, e);
        }
        await pacer.tick(w.file.sizeBytes);
      }, { verifyWhole: false }).then(
        () => null,
        (err: unknown) => err,
      );
    }
    if (archiveFailure) problems.push({ key: view.archiveKey, message: describeError(archiveFailure) });
    const notExtracted = archiveFailure
      ? "not extracted: the context's archive could not be read to its end (see its own problem)"
      : "missing from the context's archive; upload it again from a session that has it";
    for (const w of fromArchive.values()) place(w, new Error(notExtracted));
  };
  try {
    await fetchAll();
  } catch (err) {
    // The store failed or the transfer was stopped: files fetched so far but not placed are temp files
    // nobody else would remove (scans skip them), so they go now.
    const kept = new Set(written);
    for (const w of writes) if (!kept.has(w)) fs.rmSync(w.tmp, { force: true });
    throw err;
  }
  meter.finish();
  // Where this download wrote, partial files of an earlier one whose process died (a killed agent) go.
  removeStaleDownloadTemps(new Set(writes.map((w) => path.dirname(w.tmp))));

  // Extract policy: only archives this download wrote, so local edits to extracted files survive a re-sync.
  const fresh = written.filter((w) => w.file.type === "file" && w.rel !== ARCHIVE_NAME).map((w) => w.rel);
  const extractProblems = await extractDownloadedArchives(layout.dir, fresh, layout.spec.policy.extractPolicy, {
    inScope: (rel) => layout.filter.matches(rel),
    keepLocal: (archiveRel, fileRel) => isEditAfterArchive(view, layout.keyOf(archiveRel), layout.keyOf(fileRel)),
  });
  problems.push(...extractProblems.map((p) => ({ key: layout.keyOf(p.key), message: p.message })));
  // An archive removed by deleteSrcFile is forgotten from the base: the next upload must not take its
  // absence for a deletion, since the context keeps its copy.
  // Only files named like archives can have been removed; checking those alone spares a stat per file.
  const removedSources = new Set(
    fresh.filter((rel) => archiveKindOf(path.posix.basename(rel)) !== null && !fs.existsSync(layout.localPath(rel))).map((rel) => layout.keyOf(rel)),
  );
  await deps.meta.updateBase({
    sessionId: args.sessionId,
    mountPath: layout.spec.path,
    upserts: seen.filter((e) => !removedSources.has(e.key)),
    deletes: [...removedSources],
  });
  return { written: written.length, skipped, problems };
}

/**
 * Cuts the writes into fetchFiles batches of at most FETCH_BATCH_FILES files and (about) FETCH_BATCH_BYTES
 * bytes, files larger than that in batches of their own (isLargeBatch).
 */
function fetchBatches(writes: readonly PendingWrite[]): PendingWrite[][] {
  const small = batchesOf(writes.filter((w) => !isLargeFile(w)), (w) => w.file.sizeBytes, FETCH_BATCH_FILES, FETCH_BATCH_BYTES);
  return [...writes.filter(isLargeFile).map((w) => [w]), ...small];
}

function isLargeFile(w: PendingWrite): boolean {
  return w.file.sizeBytes > FETCH_BATCH_BYTES;
}

function isLargeBatch(batch: readonly PendingWrite[]): boolean {
  return batch.length === 1 && isLargeFile(batch[0]!);
}

/** Gives the temp file (or a new symlink) its mode and mtime, then renames it over the target. */
function placeFile(w: PendingWrite, target: string): void {
  const f = w.file;
  const mtime = f.mtimeMs / 1000;
  if (f.type === "symlink") {
    fs.symlinkSync(f.linkTarget!, w.tmp);
    fs.lutimesSync(w.tmp, mtime, mtime);
  } else {
    fs.chmodSync(w.tmp, f.mode);
    fs.utimesSync(w.tmp, mtime, mtime);
  }
  renameIntoPlace(w.tmp, target);
}

/** Renames a finished temp file over `target`, unless a directory or special file is in the way. */
function renameIntoPlace(tmp: string, target: string): void {
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) {
    throw new Error(`cannot replace ${target}: a directory or special file is in the way; move it and download again`);
  }
  fs.renameSync(tmp, target);
}

/**
 * Quick check before writing: same type, size, mtime and mode, and the same bytes — known from the base
 * when the session saw this version before, else by hashing the local file.
 */
function isIdenticalOnDisk(abs: string, rel: string, f: ViewEntry, b: BaseEntry | undefined): boolean {
  const local = statEntry(abs, rel);
  if (local === "gone" || local === "special") return false;
  if (local.type !== f.type || local.mtimeMs !== f.mtimeMs) return false;
  if (f.type === "symlink") return local.linkTarget === f.linkTarget;
  if (local.sizeBytes !== f.sizeBytes || local.mode !== f.mode) return false;
  if (b && b.digest === f.digest && b.sizeBytes === local.sizeBytes && b.mtimeMs === local.mtimeMs) return true;
  return hashFileSync(abs).digest === f.digest;
}

/**
 * Whether the context holds `fileKey` in a version a later generation wrote than `archiveKey`'s: an edit
 * uploaded after the archive, which unpacking the archive again must not undo. Unpacking replaces every
 * other local file. (One ARCHIVE-mode object has one generation for all its files, so there, and for
 * edits not uploaded yet, the archive still wins: see the README.)
 */
function isEditAfterArchive(view: NamespaceView, archiveKey: string, fileKey: string): boolean {
  const generationOf = (key: string): number | undefined =>
    view.plainRecords.get(key)?.generation ?? (view.files.get(key)?.source === "archive" ? view.archive?.generation : undefined);
  const archiveGen = generationOf(archiveKey);
  const fileGen = generationOf(fileKey);
  return archiveGen !== undefined && fileGen !== undefined && fileGen > archiveGen;
}

function toBase(f: ViewEntry): BaseEntry {
  return {
    key: f.key,
    type: f.type,
    digest: f.digest,
    sizeBytes: f.sizeBytes,
    mode: f.mode,
    mtimeMs: f.mtimeMs,
    linkTarget: f.linkTarget,
  };
}
