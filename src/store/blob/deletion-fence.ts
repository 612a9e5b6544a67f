import { setTimeout as sleep } from "node:timers/promises";
import { StoreUnavailableError } from "../../errors/index.js";
import { STALE_DELETION_MS, type BlobDeletionJournal, type BlobDeletionState } from "../blob-deletion-journal.js";
import type { Digest } from "../blob-store.js";

export interface DeletionFenceOptions {
  /** How long a write waits for an overlapping deletion to end before it gives up; default 60 s. */
  waitMs?: number;
  /** How often it looks meanwhile; default 100 ms. */
  pollMs?: number;
}

/** Rounds of writing again before giving up: each needs a new deletion of the same blob to overlap it. */
const MAX_ROUNDS = 5;

/**
 * Makes a blob store's writes and deletions of the same blob safe against each other where the store
 * cannot (S3: its delete is not conditional, so a refresh landing between a deletion's age check and its
 * delete is lost). Deletions mark the blob in the journal around their check and delete; writes read
 * the journal's watermark before writing and, after, write again what a deletion overlapped, once that
 * deletion has ended: a refresh then finds the blob, or no blob (which its caller stores anew).
 * Without a journal it only runs what it is given.
 */
export class DeletionFence {
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly journal: BlobDeletionJournal | undefined,
    opts: DeletionFenceOptions = {},
  ) {
    this.waitMs = opts.waitMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 100;
  }

  /**
   * Writes `items` with `write`, which returns for each item the digest it stored or refreshed (undefined
   * for one it did not: absent, or failed), and is called again (round 1, 2, …) with the items a deletion
   * overlapped, after that deletion ended.
   */
  async writeAll<T>(items: readonly T[], write: (items: readonly T[], round: number) => Promise<(Digest | undefined)[]>): Promise<void> {
    if (this.journal === undefined) {
      await write(items, 0);
      return;
    }
    let todo = items;
    for (let round = 0; todo.length > 0; round++) {
      if (round > MAX_ROUNDS) throw new StoreUnavailableError(`Garbage collection deleted blobs while they were being stored, ${MAX_ROUNDS + 1} times in a row; try again after the collection.`);
      const watermark = await this.journal.deletionWatermark();
      const written = await write(todo, round);
      const digests = written.filter((d): d is Digest => d !== undefined);
      const overlapped = digests.length === 0 ? new Set<Digest>() : await this.journal.blobsMarkedSince(watermark, digests);
      if (overlapped.size > 0) await this.untilNotBeingDeleted([...overlapped]);
      todo = todo.filter((_, i) => written[i] !== undefined && overlapped.has(written[i]!));
    }
  }

  /**
   * Runs a deletion of `digest` between its marks; it resolves to whether it deleted. One that fails stays
   * marked `deleting`: its request may still land, so writers keep waiting (and give up after `waitMs`)
   * until a garbage collection settles the mark as stale (BlobDeletionJournal.settleBlobDeletions).
   */
  async deleting(digest: Digest, del: () => Promise<boolean>): Promise<boolean> {
    if (this.journal === undefined) return del();
    await this.journal.markBlobDeletion(digest, "deleting", Date.now());
    const deleted = await del();
    const outcome: BlobDeletionState = deleted ? "deleted" : "kept";
    await this.journal.markBlobDeletion(digest, outcome, Date.now());
    return deleted;
  }

  private async untilNotBeingDeleted(digests: readonly Digest[]): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const running = await this.journal!.blobsBeingDeleted(digests);
      if (running.size === 0) return;
      if (Date.now() >= deadline) {
        const [first] = running;
        throw new StoreUnavailableError(
          `Blob ${first} has been marked as being deleted for over ${Math.round(this.waitMs / 1000)} s. A deletion that failed or stopped midway leaves such a mark; a garbage collection (\`ctxsync gc\`, or the server's job) clears it once it is ${STALE_DELETION_MS / 60_000} minutes old.`,
        );
      }
      await sleep(this.pollMs);
    }
  }
}
