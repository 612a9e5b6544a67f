import type { Digest } from "./blob-store.js";

/**
 * How old a `deleting` mark must be before garbage collection takes it for one left by a deletion that
 * failed or stopped midway (a running one, its HEAD and DELETE, takes seconds).
 */
export const STALE_DELETION_MS = 10 * 60_000;

/** What a deletion mark says of a blob: a store is looking at it to delete it, did, or left it. */
export type BlobDeletionState = "deleting" | "deleted" | "kept";

/**
 * Where a blob store without an atomic conditional delete (S3) records its deletions, so that a write of
 * the same blob that overlapped one can tell, and redo itself. The metadata store keeps it (MetaStore
 * extends it): it is the one place every server of a shared bucket sees.
 *
 * Marks form a log: every mark gets a change number higher than any given before, also after older
 * marks were pruned. A deleting store marks a blob `deleting` before it looks at it, then `deleted` or
 * `kept`. A writer reads the watermark before it writes and, once the write is done, asks which of its
 * blobs were marked since (or are being deleted still): a deletion that overlapped its write in any way
 * shows there. A write that finished before the mark was made is seen by the deletion's check of the
 * blob's age; one that started after the deletion ended found no blob, or a fresh one.
 */
export interface BlobDeletionJournal {
  /** The highest change number so far (0 when none): what a writer reads before it writes. */
  deletionWatermark(): Promise<number>;
  /** Of `digests`, those marked after `watermark`, or being deleted now (whenever that started). */
  blobsMarkedSince(watermark: number, digests: readonly Digest[]): Promise<Set<Digest>>;
  /** Of `digests`, those a store is deleting now: their latest mark is `deleting`. */
  blobsBeingDeleted(digests: readonly Digest[]): Promise<Set<Digest>>;
  /** Adds a mark, with a new change number. */
  markBlobDeletion(digest: Digest, state: BlobDeletionState, atMs: number): Promise<void>;
  /**
   * For garbage collection: a blob still `deleting` since before `staleBeforeMs` was left so by a deletion
   * that stopped midway, and is marked `deleted` (a writer waiting on it then checks the blob again); other
   * marks made before `cutoffMs` go (no write lasts that long). Returns how many blobs it marked deleted.
   * A running deletion takes seconds: the staleness bound is what keeps this from ending one still running
   * (collections take turns, but one whose lock connection died goes on, see MetaStore.withCollectionLock).
   */
  settleBlobDeletions(atMs: number, staleBeforeMs: number, cutoffMs: number): Promise<number>;
}
