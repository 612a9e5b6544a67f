import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { BlobDigestMismatchError } from "../../errors/index.js";
import type { Digest } from "../blob-store.js";

/**
 * A pass-through stream that hashes what flows through it and fails at the end with
 * BlobDigestMismatchError when the bytes do not hash to `expected`. Consumers that write the bytes
 * somewhere must treat the output as unverified until the stream ends without error.
 */
export function verifyingStream(expected: Digest): Transform {
  const hash = createHash("sha256");
  return new Transform({
    // A chunk or more of buffer on each side, so hashing overlaps with the reader and the writer instead
    // of stopping every 16 KiB.
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = hash.digest("hex");
      cb(actual === expected ? null : new BlobDigestMismatchError(expected, actual, "while reading a blob"));
    },
  });
}
