import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PayloadTooLargeError } from "../errors/index.js";
import { makeDirsSync, type Digest } from "../store/index.js";

/** A body spooled to a temporary file, with its digest and size. The caller removes `path`. */
export interface SpooledFile {
  path: string;
  digest: Digest;
  sizeBytes: number;
}

/**
 * Writes `body` to a new temporary file in `dir`, hashing and counting as it goes. Past `maxBytes` it
 * stops reading, removes the file and rejects with PayloadTooLargeError; on any failure nothing is left.
 * Memory stays flat whatever the size.
 */
export async function streamToTempFile(body: Readable, dir: string, maxBytes: number): Promise<SpooledFile> {
  makeDirsSync(dir);
  const tmp = path.join(dir, `upload-${Date.now()}-${randomBytes(6).toString("hex")}`);
  const hash = createHash("sha256");
  let sizeBytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sizeBytes += chunk.length;
      if (sizeBytes > maxBytes) {
        cb(new PayloadTooLargeError(maxBytes, "The file"));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, fs.createWriteStream(tmp, { flags: "wx", mode: 0o600 }));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { path: tmp, digest: hash.digest("hex"), sizeBytes };
}
