import { createHash } from "node:crypto";
import fs from "node:fs";

const CHUNK_BYTES = 1 << 20;

/**
 * SHA-256 (hex) of a local file and the number of bytes it covers, read synchronously in 1 MiB chunks:
 * bounded memory at any size. The size is of the bytes hashed, which differs from an earlier stat when
 * the file changed meanwhile: record this one with the digest.
 */
export function hashFileSync(file: string): { digest: string; sizeBytes: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const hash = createHash("sha256");
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let sizeBytes = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      sizeBytes += n;
    }
    return { digest: hash.digest("hex"), sizeBytes };
  } finally {
    fs.closeSync(fd);
  }
}
