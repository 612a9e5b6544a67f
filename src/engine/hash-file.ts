import { createHash } from "node:crypto";
import fs from "node:fs";

const CHUNK_BYTES = 1 << 20;

/** SHA-256 (hex) of a local file, read synchronously in 1 MiB chunks: bounded memory at any size. */
export function hashFileSync(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const hash = createHash("sha256");
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    fs.closeSync(fd);
  }
}
