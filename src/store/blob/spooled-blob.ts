import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidParameterError, PayloadTooLargeError } from "../../errors/index.js";
import type { Digest } from "../blob-store.js";
import { makeDirsSync } from "../make-dirs.js";

/** A body spooled to a temporary file, with its digest and size. The caller removes `path`. */
export interface SpooledFile {
  path: string;
  digest: Digest;
  sizeBytes: number;
}

/**
 * Writes `body` to a new temporary file in `dir` (made if missing), hashing and counting as it goes.
 * Past `maxBytes` it stops reading, removes the file and rejects with `tooLarge()` (default
 * PayloadTooLargeError); on any failure nothing is left. Memory stays flat whatever the size.
 */
export async function spoolToTempFile(
  body: Readable,
  dir: string,
  maxBytes: number,
  tooLarge: () => Error = () => new PayloadTooLargeError(maxBytes, "The file"),
): Promise<SpooledFile> {
  makeDirsSync(dir, 0o700);
  const tmp = path.join(dir, `ctxsync-spool-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let sizeBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sizeBytes += chunk.length;
      if (sizeBytes > maxBytes) {
        cb(tooLarge());
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, fs.createWriteStream(tmp, { flags: "wx", mode: 0o600 }));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return { path: tmp, digest: hash.digest("hex"), sizeBytes };
}

/**
 * For a store that needs a blob's digest before its bytes (an object key, a URL): spools `body` to a
 * temp file in `dir` (default the OS temp directory) and calls `store` with the file and the digest. A
 * byte count other than `sizeBytes` is an InvalidParameterError and `store` is not called. The temp
 * file is removed whatever happens.
 */
export async function withSpooledBlob<T>(
  body: Readable,
  sizeBytes: number,
  store: (file: string, digest: Digest) => Promise<T>,
  dir: string = os.tmpdir(),
): Promise<T> {
  const wrongSize = (got: string) => new InvalidParameterError(`The blob has ${got} bytes but ${sizeBytes} were announced; send the exact size.`);
  const spooled = await spoolToTempFile(body, dir, sizeBytes, () => wrongSize(`more than ${sizeBytes}`));
  try {
    if (spooled.sizeBytes !== sizeBytes) throw wrongSize(String(spooled.sizeBytes));
    return await store(spooled.path, spooled.digest);
  } finally {
    await fsp.rm(spooled.path, { force: true });
  }
}
