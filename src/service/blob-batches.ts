import { Readable } from "node:stream";
import { BlobDigestMismatchError, BlobNotFoundError } from "../errors/index.js";
import type { BlobStore, Digest } from "../store/index.js";

/** A small blob held in memory, as a batch carries it. */
export interface HeldBlob {
  digest: Digest;
  bytes: Buffer;
}

/** One answer of a batch read: the bytes, or why there are none. */
export type BatchReadResult = { digest: Digest; status: "ok"; bytes: Buffer } | { digest: Digest; status: "notFound" | "unreadable"; bytes?: undefined };

/** Store calls in flight at once for one batch: enough to hide file latency, few enough to share the store. */
const BATCH_CONCURRENCY = 8;

/**
 * Refreshes every stored digest (touch: the caller is about to reference it, so garbage collection must
 * keep it) and returns those not stored, in the order given.
 */
export async function missingBlobs(blobs: BlobStore, digests: readonly Digest[]): Promise<Digest[]> {
  const present = new Array<boolean>(digests.length);
  for (let i = 0; i < digests.length; i += BATCH_CONCURRENCY * 4) {
    const slice = digests.slice(i, i + BATCH_CONCURRENCY * 4);
    const answers = await Promise.all(slice.map((d) => blobs.touch(d)));
    answers.forEach((a, k) => (present[i + k] = a));
  }
  return digests.filter((_, i) => !present[i]);
}

/**
 * Stores each blob as it arrives, verified against its digest, a few at a time. The first failure (a
 * digest mismatch, a store error, a malformed batch) rejects once the stores in flight have settled; the
 * blobs stored before it stay (they are whole and verified, and unreferenced ones are collected later).
 */
export async function storeBlobs(blobs: BlobStore, source: AsyncIterable<HeldBlob>): Promise<number> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let stored = 0;
  const start = (blob: HeldBlob) => {
    const p = blobs
      .put(blob.digest, Readable.from([blob.bytes]), blob.bytes.length)
      .then(() => void stored++)
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  try {
    for await (const blob of source) {
      if (failure) break;
      while (inFlight.size >= BATCH_CONCURRENCY) await Promise.race(inFlight);
      start(blob);
    }
  } catch (error) {
    failure ??= { error };
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return stored;
}

/**
 * Reads the blobs whole, in the order given, a few ahead of the consumer. A digest the caller may not
 * read (`mayRead` false) or the store lacks is "notFound"; a blob whose bytes no longer match its digest
 * is "unreadable". Other store failures reject. `maxBlobBytes` bounds what is held per blob: a larger blob
 * rejects (callers batch only small blobs).
 */
export async function* readBlobs(
  blobs: BlobStore,
  digests: readonly Digest[],
  mayRead: (digest: Digest) => Promise<boolean>,
  maxBlobBytes: number,
): AsyncGenerator<BatchReadResult> {
  const read = async (digest: Digest): Promise<BatchReadResult> => {
    if (!(await mayRead(digest))) return { digest, status: "notFound" };
    try {
      return { digest, status: "ok", bytes: await readWhole(await blobs.get(digest), digest, maxBlobBytes) };
    } catch (err) {
      if (err instanceof BlobNotFoundError) return { digest, status: "notFound" };
      if (err instanceof BlobDigestMismatchError) return { digest, status: "unreadable" };
      throw err;
    }
  };
  const ahead: Promise<BatchReadResult>[] = [];
  let next = 0;
  try {
    for (;;) {
      while (ahead.length < BATCH_CONCURRENCY && next < digests.length) {
        const p = read(digests[next++]!);
        p.catch(() => undefined); // observed when its turn comes; not an unhandled rejection meanwhile
        ahead.push(p);
      }
      const p = ahead.shift();
      if (!p) return;
      yield await p;
    }
  } finally {
    // The consumer stopped early (client gone): let the reads in flight finish and release their files.
    await Promise.allSettled(ahead);
  }
}

async function readWhole(stream: Readable, digest: Digest, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += (chunk as Buffer).length;
    if (n > maxBytes) {
      stream.destroy();
      throw new Error(`Blob ${digest} is larger than ${maxBytes} bytes; fetch it on its own.`);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n);
}
