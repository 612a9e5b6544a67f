import type { Digest } from "../store/index.js";

/** How long a listing lets its session read the listed blobs without a query: a download reads at once. */
export const LISTED_WINDOW_MS = 5 * 60_000;
/** Digests kept at most, over all sessions (~100 bytes each, shared with the listing's own strings). */
const DEFAULT_MAX_DIGESTS = 200_000;

interface Listing {
  sessionId: string;
  atMs: number;
  digests: ReadonlySet<Digest>;
}

/**
 * The blob digests a session's agent was shown, a moment ago, in a file listing of a context in its
 * scope (AgentService.listLiveFiles). A listing proves what a blob read must show: that a version of an
 * in-scope context references the blob. So the fetches of the download that follows need no query per
 * request to prove it again (~70 ms of the server's CPU per 10,000 files, docs/benchmarks.md).
 *
 * Decided: within the window a session may still read what it was shown even if the file is deleted or
 * the context cleared since: bytes of its own tenant that it was handed a moment before, not another's.
 *
 * Bounded: listings go oldest first, once out of the window or beyond `maxDigests` in all; a listing
 * larger than that is not kept (its reads are checked by query, as before).
 */
export class ListedBlobs {
  /** Listings in the order made (one per listing call: a few hundred in the window, so shift() is cheap). */
  private readonly queue: Listing[] = [];
  private held = 0;
  /** Session id → its listings still kept. */
  private readonly bySession = new Map<string, Listing[]>();

  constructor(
    readonly windowMs = LISTED_WINDOW_MS,
    private readonly maxDigests = DEFAULT_MAX_DIGESTS,
  ) {}

  /** Notes that `sessionId` was shown these digests at `atMs` (a time read before the listing's query). */
  listed(sessionId: string, digests: Iterable<Digest>, atMs: number): void {
    const set = new Set(digests);
    if (this.windowMs <= 0 || set.size === 0 || set.size > this.maxDigests) return;
    const listing: Listing = { sessionId, atMs, digests: set };
    this.queue.push(listing);
    this.held += set.size;
    const ofSession = this.bySession.get(sessionId);
    if (ofSession) ofSession.push(listing);
    else this.bySession.set(sessionId, [listing]);
    this.evict(atMs);
  }

  /** Those of `digests` that a listing within the window before `nowMs` showed `sessionId`. */
  shownTo(sessionId: string, digests: readonly Digest[], nowMs: number): Set<Digest> {
    this.evict(nowMs);
    const shown = new Set<Digest>();
    const listings = this.bySession.get(sessionId);
    if (!listings) return shown;
    const oldest = nowMs - this.windowMs;
    for (const d of digests) {
      // Listings are nearly, not strictly, in time order (concurrent requests), so each one's time is checked.
      if (listings.some((l) => l.atMs >= oldest && l.digests.has(d))) shown.add(d);
    }
    return shown;
  }

  /** Digests held now, over all sessions. */
  get size(): number {
    return this.held;
  }

  private evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    for (let listing = this.queue[0]; listing; listing = this.queue[0]) {
      if (this.held <= this.maxDigests && listing.atMs >= oldest) break;
      this.queue.shift();
      this.held -= listing.digests.size;
      const ofSession = this.bySession.get(listing.sessionId)!;
      ofSession.splice(ofSession.indexOf(listing), 1);
      if (ofSession.length === 0) this.bySession.delete(listing.sessionId);
    }
  }
}
