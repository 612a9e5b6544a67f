import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { BlobDigestMismatchError } from "../../errors/index.js";
import type { Digest } from "../blob-store.js";

/**
 * A pass-through stream that hashes what flows through it and fails at the end with
 * BlobDigestMismatchError when the bytes do not hash to `expected`. It holds back the last chunk until
 * the check passes, so a consumer of damaged bytes never receives all of them: an HTTP answer with a
 * Content-Length ends short (the client sees a broken answer, not a complete-looking one), and a file
 * written from the stream is never whole. Consumers must still treat the output as unverified until the
 * stream ends without error.
 */
export function verifyingStream(expected: Digest): Transform {
  const hash = createHash("sha256");
  let held: Buffer | undefined;
  return new Transform({
    // A chunk or more of buffer on each side, so hashing overlaps with the reader and the writer instead
    // of stopping every 16 KiB.
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      const previous = held;
      held = chunk;
      cb(null, previous);
    },
    flush(cb) {
      const actual = hash.digest("hex");
      if (actual !== expected) return cb(new BlobDigestMismatchError(expected, actual, "while reading a blob"));
      cb(null, held);
    },
  });
}
