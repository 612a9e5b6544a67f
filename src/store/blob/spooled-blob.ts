import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidParameterError } from "../../errors/index.js";
import type { Digest } from "../blob-store.js";
import { makeDirsSync } from "../make-dirs.js";

/**
 * For a store that needs a blob's digest before its bytes (an object key, a URL): writes `body` to a
 * temp file in `dir` (made if missing; default the OS temp directory), hashing and counting it, and
 * calls `store` with the file and the digest. A byte count other than `sizeBytes` is an InvalidParameterError and `store` is not called.
 * The temp file is removed whatever happens. Memory stays flat whatever the size.
 */
export async function withSpooledBlob<T>(
  body: Readable,
  sizeBytes: number,
  store: (file: string, digest: Digest) => Promise<T>,
  dir: string = os.tmpdir(),
): Promise<T> {
  makeDirsSync(dir, 0o700);
  const tmp = path.join(dir, `ctxsync-spool-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      seen += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, fs.createWriteStream(tmp, { flags: "wx", mode: 0o600 }));
    const digest = hash.digest("hex");
    if (seen !== sizeBytes) {
      throw new InvalidParameterError(`Blob ${digest} has ${seen} bytes but ${sizeBytes} were announced; send the exact size.`);
    }
    return await store(tmp, digest);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
