import { InvalidParameterError, PayloadTooLargeError } from "../errors/index.js";

/**
 * Blob frames: many small blobs in one HTTP body, so an agent moves 10,000 small files in a few dozen
 * requests instead of 20,000 (POST /v1/agent/blobs/batch and /v1/agent/blobs/unnamed upload them, POST
 * /v1/agent/blobs/fetch downloads them). A body is a plain sequence of frames, each a fixed header and
 * then the bytes:
 *
 *   digest   32 bytes   the SHA-256, raw (not hex); zero in an unnamed frame
 *   status    1 byte    0 = the bytes follow; 1 = not found, 2 = unreadable (fetch answers only; no bytes);
 *                       3 = the bytes follow, unnamed: the receiver hashes them (unnamed uploads only)
 *   size      4 bytes   byte count, unsigned big-endian
 *   bytes     size bytes
 *
 * Only blobs up to MAX_FRAMED_BLOB_BYTES travel in frames; larger ones go one per request, streamed, so
 * a frame can be held in memory whole on both sides. The server verifies every digest: those it
 * receives, and those it reads from its store to send.
 */

/** Content type of a body of blob frames. */
export const BLOB_FRAMES_CONTENT_TYPE = "application/vnd.ctxsync.blob-frames";
/** Largest blob sent in a frame; bigger blobs are streamed one per request. */
export const MAX_FRAMED_BLOB_BYTES = 1 << 20;
/** Most digests one batch request may name (missing, fetch) or carry (batch). */
export const MAX_BATCH_BLOBS = 4096;
/** Most blob bytes in one batch body: a sender splits larger batches (receivers hold one frame at a time). */
export const MAX_BATCH_BYTES = 64 << 20;
export const BLOB_FRAME_HEADER_BYTES = 37;

export type BlobFrameStatus = "ok" | "notFound" | "unreadable" | "unnamed";
const STATUS_BYTE: Record<BlobFrameStatus, number> = { ok: 0, notFound: 1, unreadable: 2, unnamed: 3 };
const STATUS_OF_BYTE: readonly BlobFrameStatus[] = ["ok", "notFound", "unreadable", "unnamed"];
/** The digest field of an unnamed frame. */
export const UNNAMED_DIGEST = "0".repeat(64);

/** One decoded frame; `bytes` is empty unless the status is "ok" or "unnamed". */
export interface BlobFrame {
  digest: string;
  status: BlobFrameStatus;
  bytes: Buffer;
}

/** The header of one frame; send the bytes (if any) right after it. */
export function blobFrameHeader(digest: string, status: BlobFrameStatus, sizeBytes: number): Buffer {
  const header = Buffer.allocUnsafe(BLOB_FRAME_HEADER_BYTES);
  writeBlobFrameHeader(header, 0, digest, status, sizeBytes);
  return header;
}

/** Writes the header of one frame into `target` at `offset` (BLOB_FRAME_HEADER_BYTES bytes). */
export function writeBlobFrameHeader(target: Buffer, offset: number, digest: string, status: BlobFrameStatus, sizeBytes: number): void {
  if (!/^[0-9a-f]{64}$/.test(digest) || target.write(digest, offset, 32, "hex") !== 32) {
    throw new InvalidParameterError(`Invalid blob digest ${JSON.stringify(digest)} in a blob frame.`);
  }
  target[offset + 32] = STATUS_BYTE[status];
  target.writeUInt32BE(sizeBytes, offset + 33);
}

export interface DecodeLimits {
  /** Largest blob in one frame (default MAX_FRAMED_BLOB_BYTES): larger is PayloadTooLarge. */
  maxBlobBytes?: number;
  /** Most frames in the body (default MAX_BATCH_BLOBS). */
  maxFrames?: number;
  /** Most blob bytes in the body (default MAX_BATCH_BYTES): more is PayloadTooLarge. */
  maxTotalBytes?: number;
}

/**
 * Reads frames from a byte stream as they arrive, holding at most one frame (plus one read chunk) at a
 * time. A body that ends inside a frame, a bad status byte or too many frames is InvalidParameter; a frame
 * larger than the limit is PayloadTooLarge.
 */
export async function* decodeBlobFrames(source: AsyncIterable<Uint8Array>, limits: DecodeLimits = {}): AsyncGenerator<BlobFrame> {
  const maxBlobBytes = limits.maxBlobBytes ?? MAX_FRAMED_BLOB_BYTES;
  const maxFrames = limits.maxFrames ?? MAX_BATCH_BLOBS;
  const maxTotalBytes = limits.maxTotalBytes ?? MAX_BATCH_BYTES;
  let total = 0;
  const reader = new ExactReader(source[Symbol.asyncIterator]());
  for (let n = 0; ; n++) {
    const header = await reader.read(BLOB_FRAME_HEADER_BYTES);
    if (header === null) return;
    if (n >= maxFrames) throw new InvalidParameterError(`A blob batch carries at most ${maxFrames} blobs; split it into several requests.`);
    const digest = header.toString("hex", 0, 32);
    const status = STATUS_OF_BYTE[header[32]!];
    if (status === undefined) throw new InvalidParameterError(`Blob frame for ${digest} has an unknown status byte ${header[32]}.`);
    const size = header.readUInt32BE(33);
    if (size > maxBlobBytes) throw new PayloadTooLargeError(maxBlobBytes, `Blob ${digest} in a batch`);
    total += size;
    if (total > maxTotalBytes) throw new PayloadTooLargeError(maxTotalBytes, "A blob batch");
    if (status !== "ok" && status !== "unnamed" && size !== 0) throw new InvalidParameterError(`Blob frame for ${digest} has status ${status} and ${size} bytes; it must have none.`);
    const bytes = size === 0 ? Buffer.alloc(0) : await reader.read(size);
    if (bytes === null) throw truncated(digest);
    yield { digest, status, bytes };
  }
}

/** decodeBlobFrames for an upload body: every frame must carry bytes (status 0). */
export async function* decodeUploadFrames(source: AsyncIterable<Uint8Array>, limits: DecodeLimits = {}): AsyncGenerator<{ digest: string; bytes: Buffer }> {
  for await (const f of decodeBlobFrames(source, limits)) {
    if (f.status !== "ok") throw new InvalidParameterError(`Blob frame for ${f.digest} must have status 0 in an upload.`);
    yield { digest: f.digest, bytes: f.bytes };
  }
}

/** The blobs of an unnamed upload body, in order: every frame must be unnamed (status 3, digest zero). */
export async function* decodeUnnamedFrames(source: AsyncIterable<Uint8Array>, limits: DecodeLimits = {}): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const f of decodeBlobFrames(source, limits)) {
    if (f.status !== "unnamed" || f.digest !== UNNAMED_DIGEST) {
      throw new InvalidParameterError(`Frame ${n} of an unnamed upload must have status 3 and a zero digest; send named blobs to /v1/agent/blobs/batch.`);
    }
    n++;
    yield f.bytes;
  }
}

/**
 * The bytes of a body of frames, one per answer (a header, then the blob's bytes when it has them), one
 * buffer per group of answers: a write per group rather than two per blob.
 */
export async function* encodeBlobFrames(
  groups: AsyncIterable<readonly { digest: string; status: BlobFrameStatus; bytes?: Buffer | undefined }[]>,
): AsyncGenerator<Buffer> {
  for await (const group of groups) {
    const parts: Buffer[] = [];
    for (const a of group) {
      const bytes = a.status === "ok" ? (a.bytes ?? Buffer.alloc(0)) : undefined;
      parts.push(blobFrameHeader(a.digest, a.status, bytes?.length ?? 0));
      if (bytes && bytes.length > 0) parts.push(bytes);
    }
    if (parts.length > 0) yield Buffer.concat(parts);
  }
}

function truncated(digest: string): InvalidParameterError {
  return new InvalidParameterError(`A blob batch ended inside the frame of blob ${digest}; send whole frames.`);
}

/** Reads exact byte counts from a chunk iterator. */
class ExactReader {
  /** Unread chunks from `head` on; consumed ones are dropped in bulk, not shifted one by one. */
  private chunks: Buffer[] = [];
  private head = 0;
  private held = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Exactly `n` bytes; null when the stream ended cleanly before the first of them. */
  async read(n: number): Promise<Buffer | null> {
    while (this.held < n && !this.done) {
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.held += chunk.length;
    }
    if (this.held === 0 && this.done) return null;
    if (this.held < n) throw new InvalidParameterError(`A blob batch ended after a partial frame header or body (${this.held} of ${n} bytes); send whole frames.`);
    return this.take(n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[this.head]!;
    let out: Buffer;
    if (first.length >= n) {
      // The common case for small frames: a view into one chunk, no copy.
      out = first.subarray(0, n);
      if (first.length === n) this.head++;
      else this.chunks[this.head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[this.head]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.head++;
        else this.chunks[this.head] = c.subarray(k);
      }
    }
    this.held -= n;
    if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
