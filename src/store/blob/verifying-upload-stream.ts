import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { BlobDigestMismatchError, InvalidParameterError } from "../../errors/index.js";
import type { Digest, ProgressFn } from "../blob-store.js";

/**
 * A pass-through for bytes on their way into a store that must be exactly `sizeBytes` bytes hashing to
 * `expected`. It errors as soon as more bytes arrive than announced (InvalidParameterError: local-dir,
 * which reads to the end first, reports BlobDigestMismatchError there), and at the end when the count or
 * the hash disagrees (BlobDigestMismatchError first, as local-dir reports it). Like verifyingStream it holds
 * back the last chunk until the check passes, so a reader never receives the whole body of a wrong blob
 * and an upload fed from it fails instead of completing. (lib-storage's Upload also sends its last part
 * only once the body has ended; holding back makes that hold for any reader, not one implementation.)
 * `onBytes` is called with each chunk's size as it passes (for progress).
 */
export function verifyingUploadStream(expected: Digest, sizeBytes: number, onBytes?: ProgressFn): Transform {
  const hash = createHash("sha256");
  let seen = 0;
  let held: Buffer | undefined;
  const sizeError = (got: string) =>
    new InvalidParameterError(`Blob ${expected} has ${got} bytes but ${sizeBytes} were announced; send the exact size (or retry if the file changed while it was read).`);
  return new Transform({
    // A chunk or more of buffer on each side, as in verifyingStream.
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      // Stop reading a body that is already too long instead of hashing and uploading the rest of it.
      if (seen > sizeBytes) return cb(sizeError(`more than ${sizeBytes}`));
      hash.update(chunk);
      onBytes?.(chunk.length);
      const previous = held;
      held = chunk;
      cb(null, previous);
    },
    flush(cb) {
      const actual = hash.digest("hex");
      if (actual !== expected) return cb(new BlobDigestMismatchError(expected, actual, "while storing a blob"));
      if (seen !== sizeBytes) return cb(sizeError(String(seen)));
      cb(null, held);
    },
  });
}
