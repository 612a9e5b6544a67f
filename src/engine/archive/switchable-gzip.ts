import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";

/** Compressible input is deflated in batches of this size: a fresh deflater per batch costs nothing
 *  measurable in ratio (the window is 32 KiB) and keeps the work on the thread pool in large pieces. */
const DEFLATE_BATCH_BYTES = 1 << 20;
/** Largest stored deflate block (RFC 1951 §3.2.4: LEN is 16 bits). */
const STORED_BLOCK_MAX = 0xffff;
/** gzip member header: magic, CM = deflate, no flags, no mtime, no extra flags, OS = unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** The final block: an empty stored block with BFINAL set. */
const FINAL_BLOCK = Buffer.from([1, 0, 0, 0xff, 0xff]);

const deflateRaw = promisify(zlib.deflateRaw);

/**
 * A gzip stream whose compression level can change mid-stream, e.g. between archive entries. Level 0
 * writes stored deflate blocks directly (copy speed, no zlib); other levels deflate in batches on the
 * thread pool. Plain gzip reads the result (one member).
 *
 * Why not Node's zlib: its Gzip accepts params() but never applies it (the binding sets parameters for the
 * DEFLATE and DEFLATERAW modes only), and on a DeflateRaw stream params() races the next queued write:
 * zlib's state is changed on the main thread while the thread pool may be deflating, which crashed test
 * workers. Here a level applies from the next input chunk on, in stream order, with no shared state.
 *
 * Each compressed batch comes from a fresh deflater ended with a sync flush (byte-aligned, not final), so
 * no block refers back across a batch or a stored block; the stream ends with an empty final block.
 */
export class SwitchableGzip extends Transform {
  private level: number;
  private crc = 0;
  private inputBytes = 0;
  private headerSent = false;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private batchLevel = 0;

  constructor(level: number) {
    super();
    this.level = level;
  }

  /** Applies `level` to every chunk this stream has not started on yet, including chunks already written and
   *  waiting (so the switch point is approximate, which only costs ratio or time, never correctness). */
  setLevel(level: number): void {
    this.level = level;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.consume(chunk).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.deflateBatch()
      .then(() => {
        this.out(FINAL_BLOCK);
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(this.crc >>> 0, 0);
        trailer.writeUInt32LE(this.inputBytes % 2 ** 32, 4); // ISIZE is the length modulo 2^32
        this.push(trailer);
        cb();
      })
      .catch(cb);
  }

  private async consume(chunk: Buffer): Promise<void> {
    this.crc = crc32(chunk, this.crc);
    this.inputBytes += chunk.length;
    if (this.level !== this.batchLevel) await this.deflateBatch(); // at the level it was gathered for
    if (this.level === 0) {
      this.out(storedBlocks(chunk));
      return;
    }
    this.batchLevel = this.level;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= DEFLATE_BATCH_BYTES) await this.deflateBatch();
  }

  private async deflateBatch(): Promise<void> {
    if (this.batchBytes === 0) return;
    const input = Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    this.out(await deflateRaw(input, { level: this.batchLevel, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  }

  private out(buf: Buffer): void {
    if (!this.headerSent) {
      this.headerSent = true;
      this.push(GZIP_HEADER);
    }
    this.push(buf);
  }
}

/** `data` as stored deflate blocks (non-final): per block a header byte, LEN and NLEN, then the bytes. */
function storedBlocks(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_BLOCK_MAX));
  const out = Buffer.allocUnsafe(data.length + blocks * 5);
  let at = 0;
  for (let off = 0; off < data.length || at === 0; off += STORED_BLOCK_MAX) {
    const len = Math.min(STORED_BLOCK_MAX, data.length - off);
    out[at] = 0; // BFINAL 0, BTYPE 00 (stored), padded to the byte
    out.writeUInt16LE(len, at + 1);
    out.writeUInt16LE(~len & 0xffff, at + 3);
    data.copy(out, at + 5, off, off + len);
    at += 5 + len;
  }
  return out;
}

/** zlib.crc32 arrived in Node 20.15; earlier 20.x releases (package.json allows them) use the table. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (gzip's) of `data`, continuing from `value`. */
export function crc32(data: Uint8Array, value = 0): number {
  if (nativeCrc32) return nativeCrc32(data, value);
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
