import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import type { Digest } from "../blob-store.js";

/** Chunk size for streamed reads: memory stays flat, calls stay few. */
const CHUNK_BYTES = 1 << 20;

/*
 * Reading a local file for a store that cannot take it as it is read: whole when small, else hashed in a
 * stream first (the caller reads it again to upload, checking against this).
 */

/**
 * The whole file when it has at most `limitBytes` (read to its end, so a file that grew a little since its
 * stat is read as it is now); undefined when it is larger, also when it grew past the limit while read.
 */
export async function readIfSmall(handle: FileHandle, limitBytes: number): Promise<Buffer | undefined> {
  const { size } = await handle.stat();
  if (size > limitBytes) return undefined;
  // One byte of room beyond the size seen, to notice growth.
  let buf = Buffer.allocUnsafe(size + 1);
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      if (total > limitBytes) return undefined;
      buf = Buffer.concat([buf, Buffer.allocUnsafe(Math.min(total, limitBytes + 1 - total))]);
    }
    const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
    if (bytesRead === 0) return buf.subarray(0, total);
    total += bytesRead;
  }
}

/** SHA-256 and byte count of a file, streamed from its start; the handle stays open. */
export async function hashFile(handle: FileHandle): Promise<{ digest: Digest; sizeBytes: number }> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: CHUNK_BYTES })) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { digest: hash.digest("hex"), sizeBytes };
}
