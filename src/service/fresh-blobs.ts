import type { Digest } from "../store/index.js";

/** Longest a blob counts as fresh, whatever the grace period: a long window would only hold memory. */
const MAX_WINDOW_MS = 15 * 60_000;
/** Digests remembered at most (~130 bytes each): a bigger upload has its oldest ones touched again. */
const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * How long a blob this server stored or refreshed counts as fresh, for a garbage collection grace period
 * of `minBlobAgeMs`: a quarter of it, at most 15 minutes. The other three quarters are the margin the
 * grace period gives an upload (engine/gc.ts): a blob refreshed that recently cannot be a candidate of any
 * collection that starts before its reference is committed.
 */
export function freshWindowMs(minBlobAgeMs: number): number {
  return Math.min(Math.floor(minBlobAgeMs / 4), MAX_WINDOW_MS);
}

/**
 * Blobs this process stored or refreshed within the last `windowMs`, so that a commit need not refresh
 * them again. A commit refreshes every blob it references (BlobStore's rule for a writer that reuses a
 * blob) and thereby checks that each is stored; for the blobs an agent sent or asked about a moment ago
 * both are already true, and on S3 each refresh is a CopyObject request: a commit of 10,000 new files
 * cost 10,000 of them. Safe because garbage collection deletes only blobs older than its grace period
 * and nothing else deletes blobs; a collection run elsewhere with a grace period shorter than this
 * server's breaks uploads in flight either way (see the README).
 *
 * Bounded: the oldest entries go first, beyond `maxEntries` or once out of the window.
 */
export class FreshBlobs {
  /** Digest → when it was last noted; Map order is noting order (a digest noted again moves to the end). */
  private readonly notedAt = new Map<Digest, number>();

  constructor(
    readonly windowMs: number,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  /** Notes that these blobs were stored or refreshed at `atMs` or later (a time read before the store call). */
  note(digests: Iterable<Digest>, atMs: number): void {
    if (this.windowMs <= 0) return;
    for (const d of digests) {
      const before = this.notedAt.get(d);
      this.notedAt.delete(d);
      this.notedAt.set(d, before === undefined ? atMs : Math.max(before, atMs));
    }
    this.evict(atMs);
  }

  /** The digests among `digests` that were not noted within the window before `nowMs`, in order. */
  staleOf(digests: readonly Digest[], nowMs: number): Digest[] {
    this.evict(nowMs);
    const oldest = nowMs - this.windowMs;
    // Noting order is nearly, not strictly, time order (concurrent requests): eviction may leave an
    // entry a little past the window, so its time is checked here.
    return digests.filter((d) => !((this.notedAt.get(d) ?? -Infinity) >= oldest));
  }

  get size(): number {
    return this.notedAt.size;
  }

  private evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    for (const [d, at] of this.notedAt) {
      if (this.notedAt.size <= this.maxEntries && at >= oldest) break;
      this.notedAt.delete(d);
    }
  }
}
