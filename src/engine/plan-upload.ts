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
  /** Keys the context holds beside `remote` that this upload may not touch (outside its white list). */
  outside?: ReadonlySet<string>;
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
  /**
   * Local files not written because a key outside this upload's scope is in their way (a file at one of
   * their folders, or files below them): writing them would leave the context a file and a folder of one
   * name, and the key in the way is not this upload's to delete.
   */
  blocked: { key: string; by: string }[];
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
  const plan: UploadPlan = { puts: [], deletes: [], keptRemote: [], blocked: [] };
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
  resolveKeysInTheWay(plan, input.remote, input.outside ?? new Set());
  return plan;
}

/**
 * A context is one tree: a put replaces the context's keys in its way (a file at one of its folders,
 * files below it) by deleting them, unless one of them is outside this upload's scope; then the put is
 * not made (blocked).
 */
function resolveKeysInTheWay(plan: UploadPlan, remote: ReadonlyMap<string, FileMeta>, outside: ReadonlySet<string>): void {
  if (plan.puts.length === 0 || remote.size + outside.size === 0) return;
  const holds = (key: string) => remote.has(key) || outside.has(key);
  let folders: Set<string> | undefined; // every folder the context's files lie in, built only when needed
  const replaced = new Set<string>();
  plan.puts = plan.puts.filter(({ key }) => {
    const inTheWay: string[] = [];
    for (let at = key.lastIndexOf("/"); at > 0; at = key.lastIndexOf("/", at - 1)) {
      const ancestor = key.slice(0, at);
      if (holds(ancestor)) inTheWay.push(ancestor);
    }
    folders ??= foldersOf([...remote.keys(), ...outside]);
    if (folders.has(key)) {
      for (const r of remote.keys()) if (r.startsWith(`${key}/`)) inTheWay.push(r);
      for (const r of outside) if (r.startsWith(`${key}/`)) inTheWay.push(r);
    }
    const by = inTheWay.find((k) => outside.has(k));
    if (by !== undefined) {
      plan.blocked.push({ key, by });
      return false;
    }
    for (const k of inTheWay) replaced.add(k);
    return true;
  });
  if (replaced.size === 0) return;
  plan.keptRemote = plan.keptRemote.filter((k) => !replaced.has(k));
  const deleting = new Set(plan.deletes);
  for (const k of replaced) if (!deleting.has(k)) plan.deletes.push(k);
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
