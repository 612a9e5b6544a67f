import type { FileMeta } from "../store/index.js";

/** Inputs of one upload plan, all keyed by context key and limited to the mount's white-listed files. */
export interface UploadPlanInput {
  /** What this session last saw: files it downloaded or uploaded. */
  base: ReadonlyMap<string, FileMeta>;
  /** What is on disk now. */
  local: ReadonlyMap<string, FileMeta>;
  /** What the context holds now (live files). */
  remote: ReadonlyMap<string, FileMeta>;
  /** deletePolicy.syncLocalFile: propagate local deletions. */
  syncLocalFile: boolean;
}

export interface UploadPlan {
  /** Files to write, with the metadata to record. */
  puts: { key: string; meta: FileMeta }[];
  /** Keys to remove from the context. */
  deletes: string[];
  /**
   * Keys where another session's change was kept over ours: we deleted a file that someone else changed
   * after our base. Reported so callers can tell the user; nothing is lost either way.
   */
  keptRemote: string[];
}

/**
 * Three-way merge of one upload (SPEC §3, Concurrency):
 * - a local file that differs from the context is written, unless it is unchanged since the base (then the
 *   context's newer state came from another session and is kept);
 * - a file in the base that is gone locally is deleted, with syncLocalFile, only while the context still
 *   holds the version the base saw;
 * - files the session never saw are never touched.
 */
export function planUpload(input: UploadPlanInput): UploadPlan {
  const plan: UploadPlan = { puts: [], deletes: [], keptRemote: [] };
  for (const [key, l] of input.local) {
    const r = input.remote.get(key);
    if (r && sameVersion(l, r)) continue;
    const b = input.base.get(key);
    if (b && sameVersion(l, b)) continue; // unchanged here; the context's state is someone else's newer one
    plan.puts.push({ key, meta: l });
  }
  if (input.syncLocalFile) {
    for (const [key, b] of input.base) {
      if (input.local.has(key)) continue;
      const r = input.remote.get(key);
      if (!r) continue;
      if (sameVersion(r, b)) plan.deletes.push(key);
      else plan.keptRemote.push(key);
    }
  }
  return plan;
}

/** Same bytes, type, mode and mtime: nothing to record. */
export function sameVersion(a: FileMeta, b: FileMeta): boolean {
  return (
    a.type === b.type &&
    a.digest === b.digest &&
    a.linkTarget === b.linkTarget &&
    a.sizeBytes === b.sizeBytes &&
    a.mode === b.mode &&
    a.mtimeMs === b.mtimeMs
  );
}
