import type { FileChange, FileRecord } from "../store/index.js";
import { sameVersion } from "./plan-upload.js";

/**
 * The changes that make a context's live files under one prefix equal to an earlier generation's
 * (SPEC §3 History): a put for every key whose version then differs from the live one or is not live,
 * a delete for every live key the generation did not have.
 * - A version that has expired by `nowMs` counts as absent: recycled data stays deleted.
 * - A restored version keeps its bytes, mode and mtime, and never expires (expiresAtMs null): the recycle
 *   policy applies to uploads, and restoring is a deliberate act that should not undo itself.
 * - A live version already equal to the old one is left alone, expiry included.
 * `atGeneration` and `live` are the versions under the same prefix; the result is ordered by key.
 */
export function planRestore(
  atGeneration: readonly FileRecord[],
  live: readonly FileRecord[],
  nowMs: number,
): FileChange[] {
  const then = new Map<string, FileRecord>();
  for (const f of atGeneration) if (f.expiresAtMs === null || f.expiresAtMs > nowMs) then.set(f.key, f);
  const now = new Map(live.map((f) => [f.key, f]));
  const changes: FileChange[] = [];
  for (const [key, old] of then) {
    const current = now.get(key);
    if (current && sameVersion(current, old)) continue;
    const { type, digest, sizeBytes, mode, mtimeMs, linkTarget } = old;
    changes.push({ kind: "put", key, meta: { type, digest, sizeBytes, mode, mtimeMs, linkTarget }, expiresAtMs: null });
  }
  for (const key of now.keys()) if (!then.has(key)) changes.push({ kind: "delete", key });
  return changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
