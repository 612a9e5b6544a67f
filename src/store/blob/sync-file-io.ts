import fs from "node:fs";

/** Read size for the tail of a file that grew since it was scanned. */
const CHUNK_BYTES = 1 << 20;

/**
 * Reads from the descriptor's position into `buf` at `offset` until `max` bytes or the end of the file;
 * returns the count (less than `max` when the file ended first). readSync may read less than asked.
 */
export function readIntoSync(fd: number, buf: Buffer, offset: number, max: number): number {
  let filled = 0;
  while (filled < max) {
    const n = fs.readSync(fd, buf, offset + filled, max - filled, null);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** Reads a small file whole; reads past `expected` too, so a file that grew is stored as it is now. */
export function readAllSync(fd: number, expected: number): Buffer {
  const buf = Buffer.allocUnsafe(expected);
  const filled = readIntoSync(fd, buf, 0, expected);
  if (filled < expected) return buf.subarray(0, filled); // shrank since the scan
  // The common case ends here: a one-byte probe finds EOF, with no second buffer and no copy.
  const probe = Buffer.allocUnsafe(1);
  if (fs.readSync(fd, probe, 0, 1, null) === 0) return buf;
  const chunks: Buffer[] = [buf, probe];
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** Writes all of `buf` at the descriptor's position; writeSync may write less than asked. */
export function writeAllSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}
