import { describeError, MountMissingError } from "../errors/index.js";
import { compileWhiteList, relativeKey, UploadMode } from "../policy/index.js";
import { Pacer, type BaseEntry, type BlobStore, type FileChange, type FileMeta, type MetaStore } from "../store/index.js";
import { ARCHIVE_NAME, MANIFEST_NAME } from "./archive/manifest.js";
import { planArchiveRewrite, storeArchive } from "./archive/upload-archive.js";
import { materializeArchive } from "./archive/materialize-archive.js";
import type { ArchiveItem } from "./archive/write-archive.js";
import type { Clock } from "./clock.js";
import { commitAtHead } from "./commit-at-head.js";
import { hashFileSync } from "./hash-file.js";
import { syncPathOf, type MountLayout } from "./mount-spec.js";
import { readNamespaceView, type NamespaceView } from "./namespace-view.js";
import { planUpload, sameVersion, type UploadPlan } from "./plan-upload.js";
import type { Problem } from "./problem.js";
import { ProgressMeter, type ProgressFn } from "./progress.js";
import { scanTree, type LocalEntry } from "./scan-tree.js";

export interface UploadDeps {
  blobs: BlobStore;
  meta: Pick<MetaStore, "getBase" | "getContext" | "listLiveFiles" | "commitGeneration">;
  clock: Clock;
  /** Directory for temporary archives; default the OS temp dir. */
  tmpDir?: string;
}

export interface UploadResult {
  /** Generation committed, or the unchanged head when there was nothing to commit. */
  generation: number;
  written: number;
  deleted: number;
  /** Files deleted here that another session changed meanwhile; theirs was kept. */
  keptRemote: string[];
  /** Per-file failures; the rest was committed. */
  problems: Problem[];
}

/**
 * Uploads one mount (SPEC §3, Upload): scan → hash what changed since the base → plan a three-way merge
 * against the context's head → commit one generation, with the base update in the same transaction.
 * FILE mode stores changed files as blobs before planning. ARCHIVE mode rewrites the namespace's archive
 * with the merged file set (kept files are carried over from the old archive or their blobs).
 * Either mode takes over data the other mode stored, so a mount may switch modes between sessions.
 * If another session commits first, the plan is rebuilt against the new head; no lock spans a transfer.
 */
export async function uploadMount(
  deps: UploadDeps,
  args: { tenantId: string; sessionId: string; layout: MountLayout; onProgress?: ProgressFn },
): Promise<UploadResult> {
  const { layout, sessionId } = args;
  const archiveMode = layout.spec.policy.uploadPolicy.uploadMode === UploadMode.ARCHIVE;
  const problems: Problem[] = [];
  // Sockets, FIFOs and devices (a browser's SingletonSocket) have no content to keep: skipped by design.
  const scan = await scanTree(layout.dir, layout.filter);
  scan.entries.delete(ARCHIVE_NAME); // reserved names are ctxsync's, never a user's file
  scan.entries.delete(MANIFEST_NAME);
  const base = await deps.meta.getBase(sessionId, layout.spec.path);
  // Base entries outside the white list are not this upload's business.
  const scopedBase = new Map<string, BaseEntry>();
  for (const [key, b] of base) if (layout.relOf(key) !== null) scopedBase.set(key, b);
  // No mount directory at all is a wrong root or an unmounted volume far more often than a wish to
  // delete everything: refuse, rather than upload every file the session had as deleted. Also without
  // syncLocalFile: the upload would still drop the base, and the files, once back, would then overwrite
  // what other sessions committed meanwhile as if they were new.
  if (!scan.dirFound && scopedBase.size > 0) {
    throw new MountMissingError(layout.dir, scopedBase.size);
  }

  // Quick check: a file whose size, mtime and mode match the base is unchanged and is not read again.
  const local = new Map<string, FileMeta>();
  // Only an archive needs local paths later (to read the bytes); FILE mode has stored them by then.
  const localPath = new Map<string, string>();
  const toRead: { key: string; entry: LocalEntry }[] = [];
  for (const entry of scan.entries.values()) {
    const key = layout.keyOf(entry.rel);
    if (archiveMode) localPath.set(key, layout.localPath(entry.rel));
    if (entry.type === "symlink") {
      local.set(key, { type: "symlink", digest: null, sizeBytes: entry.sizeBytes, mode: entry.mode, mtimeMs: entry.mtimeMs, linkTarget: entry.linkTarget });
      continue;
    }
    const b = base.get(key);
    if (b && b.type === "file" && b.sizeBytes === entry.sizeBytes && b.mtimeMs === entry.mtimeMs && b.mode === entry.mode) {
      local.set(key, b);
    } else {
      toRead.push({ key, entry });
    }
  }

  const meter = new ProgressMeter(args.onProgress, {
    filesTotal: toRead.length,
    bytesTotal: toRead.reduce((n, f) => n + f.entry.sizeBytes, 0),
  });
  const readDone = (key: string, entry: LocalEntry, result: { digest: string; sizeBytes: number } | { error: Error }) => {
    meter.addFiles(1);
    if ("error" in result) {
      // A file deleted since the scan is a local deletion, not a failure.
      if ((result.error as NodeJS.ErrnoException).code !== "ENOENT") problems.push({ key, message: describeError(result.error) });
      return;
    }
    local.set(key, { type: "file", digest: result.digest, sizeBytes: result.sizeBytes, mode: entry.mode, mtimeMs: entry.mtimeMs, linkTarget: null });
  };
  if (archiveMode) {
    // Only digests are needed now: the bytes go into the archive later, straight from disk.
    const pacer = new Pacer();
    for (const { key, entry } of toRead) {
      const path = layout.localPath(entry.rel);
      try {
        readDone(key, entry, hashFileSync(path)); // its size, not the scan's: the file may have grown since
      } catch (err) {
        readDone(key, entry, { error: err as Error });
      }
      meter.addBytes(entry.sizeBytes);
      await pacer.tick(entry.sizeBytes);
    }
  } else {
    const results = await deps.blobs.ingestFiles(
      toRead.map((f) => ({ path: layout.localPath(f.entry.rel), sizeBytes: f.entry.sizeBytes })),
      (bytes) => meter.addBytes(bytes),
    );
    results.forEach((r, i) => readDone(toRead[i]!.key, toRead[i]!.entry, r));
    if (toRead.length > 0) await deps.blobs.flush(); // blobs durable before any generation points at them
  }
  meter.finish();

  // A file that failed to read is neither written nor treated as deleted.
  const failed = new Set(problems.map((p) => p.key));
  for (const key of failed) scopedBase.delete(key);

  // Nothing changed here since the base: the plan is empty whatever others did, so skip reading the
  // context. This is the common no-op upload at release.
  if (problems.length === 0 && isUnchangedSinceBase(local, scopedBase)) {
    const ctx = await deps.meta.getContext(args.tenantId, layout.spec.contextId);
    if (!ctx) throw new Error(`context ${layout.spec.contextId} disappeared during the upload`);
    return { generation: ctx.headGeneration, written: 0, deleted: 0, keptRemote: [], problems };
  }

  let plan: UploadPlan | undefined;
  const generation = await commitAtHead(deps, { tenantId: args.tenantId, contextId: layout.spec.contextId, sessionId }, async ({ nowMs }) => {
    const view = await readNamespaceView(deps, layout.spec.contextId, layout.spec.namespace, nowMs);
    const remote = new Map<string, FileMeta>();
    const outside = new Set<string>();
    for (const [key, f] of view.files) {
      if (layout.relOf(key) !== null) remote.set(key, f);
      else outside.add(key);
    }
    plan = planUpload({ base: scopedBase, local, remote, outside, syncLocalFile: layout.spec.policy.deletePolicy.syncLocalFile });
    const blocked = new Set(plan.blocked.map((b) => b.key));
    const changes = archiveMode
      ? await archiveChanges(deps, layout, view, plan, localPath, nowMs)
      : await fileChanges(deps, layout, view, plan, nowMs);
    return {
      changes,
      base: {
        sessionId,
        mountPath: layout.spec.path,
        // A blocked file is not recorded as seen: the next upload tries it again.
        upserts: changedSinceBase(local, scopedBase).filter((e) => !blocked.has(e.key)),
        deletes: [...scopedBase.keys()].filter((k) => !local.has(k)),
      },
    };
  });
  const done = plan!;
  for (const b of done.blocked) problems.push({ key: b.key, message: blockedMessage(layout, b.by) });
  return { generation, written: done.puts.length, deleted: done.deletes.length, keptRemote: done.keptRemote, problems };
}

/**
 * Why a file was not uploaded: `by`, in its way in the context, is outside what this sync may change —
 * the mount's white list, or (a sync of part of a mount) that part.
 */
function blockedMessage(layout: MountLayout, by: string): string {
  const rel = relativeKey(layout.spec.namespace, by);
  if (layout.spec.scope && rel !== null && compileWhiteList(layout.spec.policy.bwList).matches(rel)) {
    return `not uploaded: ${by} is in its way in the context, outside the part of the mount this sync covers (${syncPathOf(layout.spec)}); sync ${layout.spec.path} itself, or remove it there`;
  }
  return `not uploaded: ${by} is in its way in the context, and outside this mount's white list; remove it there or widen the white list`;
}

/** FILE mode: one change per planned file; an archive left by ARCHIVE mode is unpacked into blobs. */
async function fileChanges(
  deps: UploadDeps,
  layout: MountLayout,
  view: NamespaceView,
  plan: UploadPlan,
  now: number,
): Promise<FileChange[]> {
  const changes: FileChange[] = plan.puts.map((p) => ({ kind: "put", key: p.key, meta: p.meta, expiresAtMs: expiryOf(layout, p.key, now) }));
  changes.push(...plan.deletes.map((key): FileChange => ({ kind: "delete", key })));
  if (view.archive) {
    const touched = new Set(changes.map((c) => c.key));
    const carried = [...view.files.values()].filter((f) => f.source === "archive" && !touched.has(f.key));
    await materializeArchive(deps, view.archive.digest!, carried);
    for (const f of carried) changes.push({ kind: "put", key: f.key, meta: f, expiresAtMs: view.archive.expiresAtMs });
    changes.push({ kind: "delete", key: view.archiveKey });
  }
  return changes;
}

/** ARCHIVE mode: write and store the new archive; plain files it absorbs are deleted as files. */
async function archiveChanges(
  deps: UploadDeps,
  layout: MountLayout,
  view: NamespaceView,
  plan: UploadPlan,
  localPath: ReadonlyMap<string, string>,
  now: number,
): Promise<FileChange[]> {
  const rewrite = planArchiveRewrite(layout, view, plan, localPath);
  if (!rewrite.needed) return [];
  const changes: FileChange[] = rewrite.absorbedKeys.map((key) => ({ kind: "delete", key }));
  if (rewrite.items.length === 0) {
    if (view.archive) changes.push({ kind: "delete", key: view.archiveKey });
    return changes;
  }
  const { meta } = await storeArchive(deps, view, rewrite.items, now);
  changes.push({ kind: "put", key: view.archiveKey, meta, expiresAtMs: archiveExpiry(layout, view, rewrite.items, now) });
  return changes;
}

/**
 * One object holds every entry, so it lives as long as the longest-lived of them (null, never, if any
 * never expires): files this upload writes expire by its recycle policy, files carried over keep the
 * lifetime they had (another session's Forever file must not expire with this one's scratch files).
 * TODO(#3): recycle paths below the mount root cannot expire single files inside an archive.
 */
function archiveExpiry(layout: MountLayout, view: NamespaceView, items: readonly ArchiveItem[], now: number): number | null {
  let latest = 0;
  for (const item of items) {
    const expires =
      item.from === "local"
        ? layout.expiresAt(item.entry.rel, now)
        : item.from === "archive"
          ? (view.archive?.expiresAtMs ?? null)
          : (view.plainRecords.get(layout.keyOf(item.entry.rel))?.expiresAtMs ?? null);
    if (expires === null) return null;
    latest = Math.max(latest, expires);
  }
  return latest;
}

function expiryOf(layout: MountLayout, key: string, now: number): number | null {
  const rel = layout.relOf(key);
  return rel === null ? null : layout.expiresAt(rel, now);
}

function isUnchangedSinceBase(local: ReadonlyMap<string, FileMeta>, base: ReadonlyMap<string, BaseEntry>): boolean {
  if (local.size !== base.size) return false;
  for (const [key, m] of local) {
    const b = base.get(key);
    if (!b || !sameVersion(b, m)) return false;
  }
  return true;
}

/** Local entries the base does not already hold as they are: a no-op upload rewrites no base rows. */
function changedSinceBase(local: ReadonlyMap<string, FileMeta>, base: ReadonlyMap<string, BaseEntry>): BaseEntry[] {
  const out: BaseEntry[] = [];
  for (const [key, m] of local) {
    const b = base.get(key);
    if (!b || !sameVersion(b, m)) out.push({ key, ...m });
  }
  return out;
}
