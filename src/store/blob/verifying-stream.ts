import { createHash } from "node:crypto";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobDigestMismatchError, InvalidParameterError } from "../../errors/index.js";
import type { Digest, ProgressFn } from "../blob-store.js";

/** What else verifyingStream checks and reports. */
export interface VerifyOptions {
  /**
   * The exact byte count announced for the bytes (a store's incoming body): more fails at once, without
   * reading the rest; fewer fails at the end, after the digest check (InvalidParameterError either way).
   */
  sizeBytes?: number;
  /** Called with each chunk's size as it passes (progress). */
  onBytes?: ProgressFn;
  /** Where the mismatch happened, for its message; default "while reading a blob". */
  during?: string;
}

/**
 * A pass-through stream that hashes what flows through it and fails at the end with
 * BlobDigestMismatchError when the bytes do not hash to `expected`. It holds back the last chunk until
 * the check passes, so a consumer of damaged bytes never receives all of them: an HTTP answer with a
 * Content-Length ends short (the client sees a broken answer, not a complete-looking one), a file
 * written from the stream is never whole, and an upload fed from it (S3's single PUT or last part) is
 * never completed. Consumers must still treat the output as unverified until the stream ends without error.
 */
export function verifyingStream(expected: Digest, opts: VerifyOptions = {}): Transform {
  const { sizeBytes, onBytes, during = "while reading a blob" } = opts;
  const hash = createHash("sha256");
  let seen = 0;
  let held: Buffer | undefined;
  const sizeError = (got: string) =>
    new InvalidParameterError(`Blob ${expected} has ${got} bytes but ${sizeBytes} were announced; send the exact size (or retry if the file changed while it was read).`);
  return new Transform({
    // A chunk or more of buffer on each side, so hashing overlaps with the reader and the writer instead
    // of stopping every 16 KiB.
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      // Stop reading a body that is already too long instead of hashing and passing on the rest of it.
      if (sizeBytes !== undefined && seen > sizeBytes) return cb(sizeError(`more than ${sizeBytes}`));
      hash.update(chunk);
      onBytes?.(chunk.length);
      const previous = held;
      held = chunk;
      cb(null, previous);
    },
    flush(cb) {
      const actual = hash.digest("hex");
      if (actual !== expected) return cb(new BlobDigestMismatchError(expected, actual, during));
      if (sizeBytes !== undefined && seen !== sizeBytes) return cb(sizeError(String(seen)));
      cb(null, held);
    },
  });
}

/**
 * Reads `body` to its end only to check it against `digest` and `sizeBytes`: what `put` does with the
 * body of a blob that is stored already. Checked even then, because a caller that stored a blob without
 * an error has shown it holds the bytes (an agent may then reference the blob).
 */
export async function drainVerified(digest: Digest, body: Readable, sizeBytes: number): Promise<void> {
  const discard = new Writable({ write: (_chunk, _enc, cb) => cb() });
  await pipeline(body, verifyingStream(digest, { sizeBytes, during: "while storing a blob" }), discard);
}
