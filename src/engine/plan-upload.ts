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
 * - files the session never saw are never touched, but for one exception: a context is a tree, so a file
 *   written where the context has a folder replaces the folder's files, and a file written below one the
 *   context has as a file replaces that file (the disk this session uploads from cannot hold both either).
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
  const inTheWay = keysInTheWay(plan.puts, input.remote);
  if (inTheWay.size > 0) {
    plan.keptRemote = plan.keptRemote.filter((k) => !inTheWay.has(k));
    for (const k of inTheWay) if (!plan.deletes.includes(k)) plan.deletes.push(k);
  }
  return plan;
}

/**
 * Keys of `remote` that cannot stay beside `puts` in one tree: a file at a folder of a put's key (an
 * ancestor), or files below a put's key (which is a file, so no folder).
 */
function keysInTheWay(puts: UploadPlan["puts"], remote: ReadonlyMap<string, FileMeta>): Set<string> {
  const found = new Set<string>();
  if (puts.length === 0 || remote.size === 0) return found;
  let folders: Set<string> | undefined; // every folder the remote files lie in, built only when needed
  for (const { key } of puts) {
    for (let at = key.lastIndexOf("/"); at > 0; at = key.lastIndexOf("/", at - 1)) {
      const ancestor = key.slice(0, at);
      if (remote.has(ancestor)) found.add(ancestor);
    }
    folders ??= foldersOf(remote.keys());
    if (folders.has(key)) {
      for (const r of remote.keys()) if (r.startsWith(`${key}/`)) found.add(r);
    }
  }
  return found;
}

function foldersOf(keys: Iterable<string>): Set<string> {
  const folders = new Set<string>();
  for (const key of keys) {
    for (let at = key.lastIndexOf("/"); at > 0; at = key.lastIndexOf("/", at - 1)) {
      const folder = key.slice(0, at);
      if (folders.has(folder)) break; // its ancestors are in already
      folders.add(folder);
    }
  }
  return folders;
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
