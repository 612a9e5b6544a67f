import { CommitConflictError, describeError } from "../errors/index.js";
import type { BaseEntry, BlobStore, FileMeta, IngestItem, MetaStore } from "../store/index.js";
import type { Clock } from "./clock.js";
import type { MountLayout } from "./mount-spec.js";
import { planUpload, sameVersion } from "./plan-upload.js";
import { ProgressMeter, type ProgressFn } from "./progress.js";
import type { Problem } from "./problem.js";
import { scanTree, type LocalEntry } from "./scan-tree.js";

export interface UploadDeps {
  blobs: BlobStore;
  meta: Pick<MetaStore, "getBase" | "getContext" | "listLiveFiles" | "commitGeneration">;
  clock: Clock;
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

/** How many times a commit is re-planned when another session committed first. */
const MAX_COMMIT_ATTEMPTS = 8;

/**
 * Uploads one mount (SPEC §3, Upload): scan → hash what changed since the base → store new blobs →
 * plan against the context's head → commit, all in one generation, with the base update in the same
 * transaction. If another session commits first, the plan is rebuilt against the new head (blobs are
 * already stored, so a retry costs one query); no lock is held across the transfer.
 */
export async function uploadMount(
  deps: UploadDeps,
  args: { tenantId: string; sessionId: string; layout: MountLayout; onProgress?: ProgressFn },
): Promise<UploadResult> {
  const { layout, sessionId } = args;
  const problems: Problem[] = [];
  const scan = await scanTree(layout.dir, layout.filter);
  // Sockets, FIFOs and devices (a browser's SingletonSocket) have no content to keep: skipped by design.
  const base = await deps.meta.getBase(sessionId, layout.spec.path);

  // Quick check: a file whose size, mtime and mode match the base is unchanged and is not read again.
  const local = new Map<string, FileMeta>();
  const toIngest: { key: string; entry: LocalEntry }[] = [];
  for (const entry of scan.entries.values()) {
    const key = layout.keyOf(entry.rel);
    if (entry.type === "symlink") {
      local.set(key, { type: "symlink", digest: null, sizeBytes: entry.sizeBytes, mode: entry.mode, mtimeMs: entry.mtimeMs, linkTarget: entry.linkTarget });
      continue;
    }
    const b = base.get(key);
    if (b && b.type === "file" && b.sizeBytes === entry.sizeBytes && b.mtimeMs === entry.mtimeMs && b.mode === entry.mode) {
      local.set(key, b);
    } else {
      toIngest.push({ key, entry });
    }
  }

  const meter = new ProgressMeter(args.onProgress, {
    filesTotal: toIngest.length,
    bytesTotal: toIngest.reduce((n, f) => n + f.entry.sizeBytes, 0),
  });
  const items: IngestItem[] = toIngest.map((f) => ({ path: layout.localPath(f.entry.rel), sizeBytes: f.entry.sizeBytes }));
  const results = await deps.blobs.ingestFiles(items, (bytes) => meter.addBytes(bytes));
  results.forEach((r, i) => {
    const { key, entry } = toIngest[i]!;
    meter.addFiles(1);
    if ("error" in r) {
      // A file deleted since the scan is a local deletion, not a failure.
      if ((r.error as NodeJS.ErrnoException).code !== "ENOENT") problems.push({ key, message: describeError(r.error) });
      return;
    }
    local.set(key, { type: "file", digest: r.digest, sizeBytes: r.sizeBytes, mode: entry.mode, mtimeMs: entry.mtimeMs, linkTarget: null });
  });
  meter.finish();
  if (toIngest.length > 0) await deps.blobs.flush(); // blobs durable before any generation points at them

  // Base entries outside the white list are not this upload's business.
  const scopedBase = new Map<string, BaseEntry>();
  for (const [key, b] of base) if (layout.relOf(key) !== null) scopedBase.set(key, b);
  // A file that failed to read is neither written nor treated as deleted.
  const failed = new Set(problems.map((p) => p.key));

  for (let attempt = 1; ; attempt++) {
    const ctx = await deps.meta.getContext(args.tenantId, layout.spec.contextId);
    if (!ctx) throw new Error(`context ${layout.spec.contextId} disappeared during the upload`);
    const now = deps.clock.now();
    const remote = new Map<string, FileMeta>();
    for (const f of await deps.meta.listLiveFiles(layout.spec.contextId, layout.spec.namespace, now)) {
      if (layout.relOf(f.key) !== null) remote.set(f.key, f);
    }
    const plan = planUpload({
      base: withoutKeys(scopedBase, failed),
      local,
      remote,
      syncLocalFile: layout.spec.policy.deletePolicy.syncLocalFile,
    });
    try {
      const generation = await deps.meta.commitGeneration({
        contextId: layout.spec.contextId,
        expectedHead: ctx.headGeneration,
        sessionId,
        timeMs: now,
        changes: [
          // TODO(#3): expiry from recyclePolicy; until then every file lives forever.
          ...plan.puts.map((p) => ({ kind: "put" as const, key: p.key, meta: p.meta, expiresAtMs: null })),
          ...plan.deletes.map((key) => ({ kind: "delete" as const, key })),
        ],
        base: {
          sessionId,
          mountPath: layout.spec.path,
          upserts: changedSinceBase(local, scopedBase),
          deletes: [...scopedBase.keys()].filter((k) => !local.has(k) && !failed.has(k)),
        },
      });
      return { generation, written: plan.puts.length, deleted: plan.deletes.length, keptRemote: plan.keptRemote, problems };
    } catch (err) {
      if (err instanceof CommitConflictError && attempt < MAX_COMMIT_ATTEMPTS) continue;
      if (err instanceof CommitConflictError) throw new CommitConflictError(layout.spec.contextId, attempt);
      throw err;
    }
  }
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

function withoutKeys<V>(m: ReadonlyMap<string, V>, drop: ReadonlySet<string>): Map<string, V> {
  if (drop.size === 0) return new Map(m);
  return new Map([...m].filter(([k]) => !drop.has(k)));
}

