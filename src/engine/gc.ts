import { InvalidParameterError } from "../errors/index.js";
import { STALE_DELETION_MS, type BlobStore, type Digest, type MetaStore } from "../store/index.js";
import type { Clock } from "./clock.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How long history is kept, and how long an unreferenced blob is left alone. */
export interface GcOptions {
  /** Generations older than this are pruned, keeping the one that was head at the cutoff (MetaStore.pruneHistory). */
  retentionMs: number;
  /** An unreferenced blob is deleted only once it was stored (or last refreshed) at least this long ago. */
  minBlobAgeMs: number;
}

/** What one collection did. */
export interface GcStats {
  /** File versions removed because they expired under their recycle policy, live and historical. */
  expiredFiles: number;
  /** File versions of the history no kept generation shows any more. */
  prunedVersions: number;
  /** Generation records older than the retention period. */
  prunedGenerations: number;
  /** Blobs deleted: unreferenced and older than the grace period. */
  deletedBlobs: number;
  /** Blobs left in the store: referenced, or too young to judge. */
  keptBlobs: number;
}

/** GcOptions with every missing field at its default; rejects negative or non-finite values. */
export function gcOptionsWithDefaults(opts: Partial<GcOptions> = {}): GcOptions {
  const resolved: GcOptions = {
    // SPEC §3 History: old generations are collected after a retention period, default 7 days.
    retentionMs: opts.retentionMs ?? 7 * DAY_MS,
    // The grace period must outlast the longest upload, from its first blob stored to its commit (an
    // upload's blobs are unreferenced until then), plus any skew between the blob store's clock and ours.
    // A day covers multi-hour uploads of huge mounts with a wide margin; the cost is only that garbage
    // lives one day longer.
    minBlobAgeMs: opts.minBlobAgeMs ?? DAY_MS,
  };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidParameterError(`${field} must be a finite number of milliseconds, 0 or more; got ${value}.`);
    }
  }
  return resolved;
}

export interface GcDeps {
  meta: Pick<MetaStore, "deleteExpired" | "pruneHistory" | "listReferencedDigests" | "forgetUploadsBefore" | "withCollectionLock" | "settleBlobDeletions">;
  blobs: Pick<BlobStore, "list" | "delete">;
  clock: Clock;
}

/**
 * Collects garbage over the whole store (every tenant: the blob store is shared).
 *
 * 1. Delete expired file versions, live and historical (recycled data is gone, not history).
 * 2. Prune history older than `retentionMs`.
 * 3. Mark and sweep blobs: list every blob with the time it was stored, keeping as candidates only those
 *    stored before `now - minBlobAgeMs`; THEN read the set of digests the remaining versions reference;
 *    delete each unreferenced candidate with `ifStoredBeforeMs`, so a blob refreshed meanwhile stays.
 *
 * Why this order is safe against a concurrent upload (which stores blobs, then commits versions naming
 * them; a writer reusing a blob that exists touches it first — BlobStore's rule):
 * - A blob stored after the listing is no candidate: this run never deletes it.
 * - A blob committed before the referenced set is read is in that set: kept. Listing first makes this
 *   cover every blob the listing saw, with no window; reading the set first would leave one — a blob
 *   stored and committed between the set and the listing would be listed, absent from the older set,
 *   and deleted.
 * - What remains is an upload that stored a blob before the listing and commits after the set was read:
 *   the blob is young (the upload is shorter than the grace period) and no candidate — or, if it is an
 *   old blob the upload reused, the upload touched it, and the conditional delete sees the new time (on
 *   S3, whose delete checks and deletes in two requests, a touch landing between them is written again:
 *   store/blob/deletion-fence.ts).
 */
export function collectGarbage(deps: GcDeps, opts: GcOptions): Promise<GcStats> {
  // One collection at a time per store: see MetaStore.withCollectionLock (and FreshBlobs, which relies on it).
  return deps.meta.withCollectionLock(() => collectOnce(deps, opts));
}

async function collectOnce(deps: GcDeps, opts: GcOptions): Promise<GcStats> {
  const now = deps.clock.now();
  const expired = await deps.meta.deleteExpired(now);
  const pruned = await deps.meta.pruneHistory(null, now - opts.retentionMs);

  const blobCutoffMs = now - opts.minBlobAgeMs;
  // An upload older than the grace period entitles no commit any more: its blob may go below.
  await deps.meta.forgetUploadsBefore(blobCutoffMs);
  // Deletion marks (BlobDeletionJournal) left by a deletion that failed or stopped midway, and old ones.
  await deps.meta.settleBlobDeletions(now, now - STALE_DELETION_MS, blobCutoffMs);
  let listed = 0;
  const candidates: Digest[] = [];
  for await (const blob of deps.blobs.list()) {
    listed++;
    if (blob.storedAtMs < blobCutoffMs) candidates.push(blob.digest);
  }
  const referenced = await deps.meta.listReferencedDigests();
  let deletedBlobs = 0;
  for (const digest of candidates) {
    if (referenced.has(digest)) continue;
    if (await deps.blobs.delete(digest, { ifStoredBeforeMs: blobCutoffMs })) deletedBlobs++;
  }
  return {
    expiredFiles: expired.liveVersions + expired.historicalVersions,
    prunedVersions: pruned.versions,
    prunedGenerations: pruned.generations,
    deletedBlobs,
    keptBlobs: listed - deletedBlobs,
  };
}
