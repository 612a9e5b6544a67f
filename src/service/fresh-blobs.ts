import type { Digest, SizedDigest } from "../store/index.js";

/** Longest a blob counts as fresh, whatever the grace period: a long window would only hold memory. */
const MAX_WINDOW_MS = 15 * 60_000;
/** Notes kept at most (~150 bytes each): a bigger upload has its oldest blobs touched at commit. */
const DEFAULT_MAX_NOTES = 100_000;

/**
 * How long a blob this server created counts as fresh, for a garbage collection grace period of
 * `minBlobAgeMs`: a quarter of it, at most 15 minutes. The other three quarters are the margin for the
 * commit itself and for skew between the blob store's clock and ours.
 */
export function freshWindowMs(minBlobAgeMs: number): number {
  return Math.min(Math.floor(minBlobAgeMs / 4), MAX_WINDOW_MS);
}

interface Note {
  digest: Digest;
  atMs: number;
  created: boolean;
  /** Of a created blob: the session whose agent sent its bytes, and their count. */
  sentBy?: string;
  sizeBytes?: number;
}

/**
 * Blobs this process created a moment ago, so that a commit need not touch them. A commit touches every
 * blob it references (BlobStore's rule for a writer that reuses a blob), which also checks that each is
 * stored; on S3 each touch is a CopyObject, so a commit of 10,000 new files cost 10,000 requests.
 *
 * Only a blob seen absent here (an agent's `missing` or HEAD) and then stored here counts, with the time
 * it was seen absent: every copy of it stored since is younger than that, and garbage collection deletes
 * only blobs older than its grace period, so none can be deleted before a commit within the window lands
 * (engine/gc.ts). A blob that was found present and touched does not count: the commit touches it again,
 * which also checks that it is still stored, and turns a blob gone since into BlobNotFound instead of a
 * reference to nothing.
 *
 * A created blob's note also names the session that sent its bytes, so that session's commit finds its
 * right to name the blob (MetaStore.recordUploads) here instead of asking the database again.
 *
 * Bounded: notes go oldest first, beyond `maxNotes` or once out of the window.
 */
export class FreshBlobs {
  /** Digest → its latest note. */
  private readonly latest = new Map<Digest, Note>();
  /** Every note in the order made; `head` is the oldest not yet evicted (a Map deleted from the front slows down). */
  private queue: Note[] = [];
  private head = 0;

  constructor(
    readonly windowMs: number,
    private readonly maxNotes = DEFAULT_MAX_NOTES,
  ) {}

  /** Notes that this process found these blobs absent at `atMs` (a time read before asking the store). */
  sawAbsent(digests: Iterable<Digest>, atMs: number): void {
    if (this.windowMs <= 0) return;
    for (const digest of digests) this.add({ digest, atMs, created: false });
    this.evict(atMs);
  }

  /**
   * Notes that this process stored these blobs, sent by `sessionId`'s agent; each counts as fresh from
   * when it was seen absent, if it was.
   */
  stored(blobs: Iterable<SizedDigest>, sessionId: string): void {
    for (const { digest, sizeBytes } of blobs) {
      const seen = this.latest.get(digest);
      if (seen && !seen.created) this.add({ digest, atMs: seen.atMs, created: true, sentBy: sessionId, sizeBytes });
    }
  }

  /**
   * Notes that this process wrote these blobs anew, each write begun at or after `atMs`: a write, not a
   * refresh of a copy already there (BlobStore.ingestMany), so every copy is younger than `atMs`, as for
   * a blob seen absent and then stored.
   */
  written(blobs: Iterable<SizedDigest>, atMs: number, sessionId: string): void {
    if (this.windowMs <= 0) return;
    for (const { digest, sizeBytes } of blobs) this.add({ digest, atMs, created: true, sentBy: sessionId, sizeBytes });
    this.evict(atMs);
  }

  /**
   * The sizes of those of `digests` that `sessionId` sent and this process created within the window
   * before `nowMs`: the session may name them (a subset of its upload records, read without a query).
   */
  sentBy(sessionId: string, digests: readonly Digest[], nowMs: number): Map<Digest, number> {
    const oldest = nowMs - this.windowMs;
    const sent = new Map<Digest, number>();
    for (const d of digests) {
      const note = this.latest.get(d);
      if (note?.created && note.sentBy === sessionId && note.sizeBytes !== undefined && note.atMs >= oldest) sent.set(d, note.sizeBytes);
    }
    return sent;
  }

  /** The digests among `digests` that this process did not create within the window before `nowMs`, in order. */
  staleOf(digests: readonly Digest[], nowMs: number): Digest[] {
    this.evict(nowMs);
    const oldest = nowMs - this.windowMs;
    // Notes are nearly, not strictly, in time order (concurrent requests; `stored` keeps the older time),
    // so eviction may leave one a little past the window: its time is checked here.
    return digests.filter((d) => {
      const note = this.latest.get(d);
      return !(note?.created && note.atMs >= oldest);
    });
  }

  /** Digests noted now. */
  get size(): number {
    return this.latest.size;
  }

  private add(note: Note): void {
    this.latest.set(note.digest, note);
    this.queue.push(note);
  }

  private evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    while (this.head < this.queue.length) {
      const note = this.queue[this.head]!;
      if (this.queue.length - this.head <= this.maxNotes && note.atMs >= oldest) break;
      this.head++;
      // A digest noted again since keeps its later note.
      if (this.latest.get(note.digest) === note) this.latest.delete(note.digest);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
