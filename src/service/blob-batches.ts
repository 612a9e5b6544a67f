import { BlobNotFoundError, describeError, errorCode } from "../errors/index.js";
import type { BlobStore, Digest, HeldBlob, SizedDigest } from "../store/index.js";

/** One answer of a batch read: the bytes, or why there are none. */
export type BatchReadResult = { digest: Digest; status: "ok"; bytes: Buffer } | { digest: Digest; status: "notFound" | "unreadable"; bytes?: undefined };

/** A blob of a batch that was not stored, and why. */
export interface BatchPutFailure {
  /** Position of the blob in the batch. */
  index: number;
  digest: Digest;
  code: string;
  message: string;
}

/** Blobs handed to the store per putMany call (and bytes gathered for one): bounded memory, few calls. */
const CHUNK_BLOBS = 256;
const CHUNK_BYTES = 8 << 20;
/**
 * Blobs read per getMany call. Their sizes are unknown until read, so the count is what bounds memory:
 * 16 × 1 MiB, two chunks held at once, whatever digests a caller repeats or asks for.
 */
const READ_CHUNK_BLOBS = 16;

/**
 * Refreshes every stored digest (touch: the caller is about to reference it, so garbage collection must
 * keep it) and returns those not stored, in the order given.
 */
export async function missingBlobs(blobs: BlobStore, digests: readonly Digest[]): Promise<Digest[]> {
  const present = await blobs.touchMany(digests);
  return digests.filter((_, i) => !present[i]);
}

/**
 * Stores blobs as they arrive, a chunk at a time, each verified against its digest. A blob the store
 * refuses (a digest mismatch) is a failure in the answer; the others are stored, and `onStored` hears of
 * them a chunk at a time. A malformed source or a failing store rejects; the chunks stored before stay
 * (whole and verified; GC collects them if unused).
 */
export async function storeBlobs(
  blobs: BlobStore,
  source: AsyncIterable<HeldBlob>,
  onStored: (blobs: SizedDigest[]) => Promise<void> | void = () => undefined,
): Promise<{ stored: number; failed: BatchPutFailure[] }> {
  let stored = 0;
  const failed: BatchPutFailure[] = [];
  let chunk: HeldBlob[] = [];
  let chunkStart = 0;
  let chunkBytes = 0;
  const flush = async () => {
    const results = await blobs.putMany(chunk);
    const done: SizedDigest[] = [];
    results.forEach((err, i) => {
      if (err === null) done.push({ digest: chunk[i]!.digest, sizeBytes: chunk[i]!.bytes.length });
      else failed.push({ index: chunkStart + i, digest: chunk[i]!.digest, code: errorCode(err) ?? "InvalidParameter", message: describeError(err) });
    });
    stored += done.length;
    await onStored(done);
    chunkStart += chunk.length;
    chunk = [];
    chunkBytes = 0;
  };
  for await (const blob of source) {
    chunk.push(blob);
    chunkBytes += blob.bytes.length;
    if (chunk.length >= CHUNK_BLOBS || chunkBytes >= CHUNK_BYTES) await flush();
  }
  if (chunk.length > 0) await flush();
  return { stored, failed };
}

/** A blob of an unnamed batch that was not stored, and why. */
export interface UnnamedPutFailure {
  /** Position of the blob in the batch. */
  index: number;
  code: string;
  message: string;
}

/**
 * storeBlobs for blobs sent without digests (an agent's unnamed upload): each is hashed once, by the store
 * (BlobStore.ingestMany), which names it. Returns every blob's digest in order (null for a refused one).
 * Up to CHUNKS_IN_FLIGHT chunks are being stored while the next is read: with a store that works on a
 * thread of its own (LocalDirBlobStore), reading the request and storing overlap.
 */
export async function storeUnnamedBlobs(
  blobs: BlobStore,
  source: AsyncIterable<Buffer>,
  onStored: (blobs: SizedDigest[]) => Promise<void> | void = () => undefined,
): Promise<{ digests: (Digest | null)[]; failed: UnnamedPutFailure[] }> {
  const digests: (Digest | null)[] = [];
  const failed: UnnamedPutFailure[] = [];
  const storing: Promise<void>[] = [];
  let chunk: Buffer[] = [];
  let chunkBytes = 0;
  let count = 0;
  const store = async (held: Buffer[], first: number) => {
    const done: SizedDigest[] = [];
    (await blobs.ingestMany(held)).forEach((r, k) => {
      if ("error" in r) {
        digests[first + k] = null;
        failed.push({ index: first + k, code: errorCode(r.error) ?? "InvalidParameter", message: describeError(r.error) });
      } else {
        digests[first + k] = r.digest;
        done.push(r);
      }
    });
    await onStored(done);
  };
  const flush = async () => {
    if (storing.length >= CHUNKS_IN_FLIGHT) await storing.shift();
    const stored = store(chunk, count);
    // Handled here so a failure while the next chunk is read is no unhandled rejection; awaited later.
    stored.catch(() => undefined);
    storing.push(stored);
    count += chunk.length;
    chunk = [];
    chunkBytes = 0;
  };
  let broken: { error: unknown } | undefined;
  try {
    for await (const bytes of source) {
      chunk.push(bytes);
      chunkBytes += bytes.length;
      if (chunk.length >= CHUNK_BLOBS || chunkBytes >= CHUNK_BYTES) await flush();
    }
    if (chunk.length > 0) await flush();
  } catch (err) {
    broken = { error: err };
  }
  // Also when the body broke off: the chunks being stored finish (they stay stored) before we answer.
  const settled = await Promise.allSettled(storing);
  if (broken) throw broken.error;
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  failed.sort((a, b) => a.index - b.index);
  return { digests, failed };
}

/**
 * Chunks of an unnamed upload being stored while the next is read, each up to CHUNK_BLOBS blobs and
 * CHUNK_BYTES: the store's thread always has the next chunk waiting.
 */
const CHUNKS_IN_FLIGHT = 2;

/**
 * Reads small blobs whole, in the order given, a chunk ahead of the consumer, and yields them a chunk
 * at a time. A digest the caller may not read (not in `allowed`) or the store lacks is
 * "notFound"; a blob whose stored bytes no longer match its digest (or that is too large to batch) is
 * "unreadable". Failures of the store reject. The store verifies each blob here, where the CPU is to
 * spare: the agent reading the batches trusts them.
 */
export async function* readBlobs(
  blobs: BlobStore,
  digests: readonly Digest[],
  allowed: { has(digest: Digest): boolean },
): AsyncGenerator<BatchReadResult[]> {
  const readChunk = async (chunk: readonly Digest[]): Promise<BatchReadResult[]> => {
    const readable = chunk.filter((d) => allowed.has(d));
    const got = await blobs.getMany(readable);
    const byDigest = new Map(readable.map((d, i) => [d, got[i]!]));
    return chunk.map((digest): BatchReadResult => {
      const r = byDigest.get(digest);
      if (r === undefined || r instanceof BlobNotFoundError) return { digest, status: "notFound" };
      if (r instanceof Error) return { digest, status: "unreadable" };
      return { digest, status: "ok", bytes: r };
    });
  };
  let next: Promise<BatchReadResult[]> | undefined;
  for (let i = 0; i < digests.length; i += READ_CHUNK_BLOBS) {
    const current = next ?? readChunk(digests.slice(i, i + READ_CHUNK_BLOBS));
    const following = i + READ_CHUNK_BLOBS < digests.length ? readChunk(digests.slice(i + READ_CHUNK_BLOBS, i + 2 * READ_CHUNK_BLOBS)) : undefined;
    following?.catch(() => undefined); // observed on the next turn; not an unhandled rejection meanwhile
    next = following;
    try {
      yield await current;
    } catch (err) {
      await following?.catch(() => undefined);
      throw err;
    }
  }
}
