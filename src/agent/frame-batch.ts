import { createHash } from "node:crypto";
import fs from "node:fs";
import { BLOB_FRAME_HEADER_BYTES, UNNAMED_DIGEST, writeBlobFrameHeader } from "../api/index.js";
import { toError } from "../errors/index.js";
import { readIntoSync, type Digest } from "../store/index.js";

/** One file read into a batch: its frame is `batch.bytes[offset, offset + frameBytes)`. */
export interface BatchedFile {
  /** The caller's index of the file. */
  index: number;
  /** The SHA-256 of its bytes; null in an unnamed batch (the server names its blobs). */
  digest: Digest | null;
  sizeBytes: number;
  offset: number;
  frameBytes: number;
}

/** Why a file could not join the batch: it grew past the size it may have, or reading it failed. */
export type AddResult = BatchedFile | "tooLarge" | Error;

/**
 * Small files read straight into one buffer of blob frames (src/api/blob-frames.ts): no buffer per
 * file and no copy to assemble the request body, which for 10,000 files was most of an agent's
 * garbage-collection time. A batch is filled, sent, then `reset` and filled again.
 *
 * A named batch hashes each file into its frame; an unnamed one sends unnamed frames (status 3), for
 * the server to hash (see DedupProbe).
 */
export class FrameBatch {
  readonly bytes: Buffer;
  readonly files: BatchedFile[] = [];
  private used = 0;
  private payload = 0;
  private isNamed = true;

  /** Room for `maxFiles` frames holding `maxBytes` of file bytes in total. */
  constructor(
    private readonly maxFiles: number,
    private readonly maxBytes: number,
  ) {
    this.bytes = Buffer.allocUnsafe(maxBytes + maxFiles * BLOB_FRAME_HEADER_BYTES);
  }

  /** Whether a file of `sizeBytes` (as scanned) still fits. An empty batch takes any file up to maxBytes. */
  fits(sizeBytes: number): boolean {
    return this.files.length < this.maxFiles && this.payload + sizeBytes <= this.maxBytes;
  }

  get length(): number {
    return this.files.length;
  }

  /** Whether the frames carry digests (set by `reset`; a new batch is named). */
  get named(): boolean {
    return this.isNamed;
  }

  /** The frames as one buffer (a view, valid until `reset`). */
  get body(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  /**
   * Reads the file at `filePath` into a frame, hashing it in a named batch. The file may have shrunk since the scan;
   * one that grew past `sizeBytes` (the room the caller checked with `fits`) is "tooLarge" and adds
   * nothing. O_NOFOLLOW: a file swapped for a symlink after the scan must not pull outside data in.
   */
  add(index: number, filePath: string, sizeBytes: number): AddResult {
    const dataStart = this.used + BLOB_FRAME_HEADER_BYTES;
    let n: number;
    try {
      const fd = fs.openSync(filePath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        n = readUpTo(fd, this.bytes, dataStart, sizeBytes);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      return toError(err);
    }
    if (n < 0) return "tooLarge";
    const digest = this.isNamed ? createHash("sha256").update(this.bytes.subarray(dataStart, dataStart + n)).digest("hex") : null;
    writeBlobFrameHeader(this.bytes, this.used, digest ?? UNNAMED_DIGEST, digest === null ? "unnamed" : "ok", n);
    const file: BatchedFile = { index, digest, sizeBytes: n, offset: this.used, frameBytes: BLOB_FRAME_HEADER_BYTES + n };
    this.files.push(file);
    this.used += file.frameBytes;
    this.payload += n;
    return file;
  }

  /** Empties the batch for reuse, named (frames with digests) or not. */
  reset(named = true): void {
    this.isNamed = named;
    this.files.length = 0;
    this.used = 0;
    this.payload = 0;
  }
}

const probe = Buffer.allocUnsafe(1);

/** Reads up to `max` bytes into `buf` at `offset`; the count, or -1 when the file holds more than `max`. */
function readUpTo(fd: number, buf: Buffer, offset: number, max: number): number {
  const n = readIntoSync(fd, buf, offset, max);
  return n === max && fs.readSync(fd, probe, 0, 1, null) > 0 ? -1 : n;
}
