import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidParameterError, StoreUnavailableError } from "../errors/index.js";
import { patternBytes, sha256 } from "../store/blob/contract.test-suite.js";
import { LocalDirBlobStore, type BlobStore, type SizedDigest } from "../store/index.js";
import { storeUnnamedBlobs } from "./blob-batches.js";

/** A real store whose ingestMany calls can be held back or failed, one call (a chunk of 256) at a time. */
function steered(real: LocalDirBlobStore, steer: (call: number) => Promise<void>): BlobStore {
  let calls = 0;
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== "ingestMany") return Reflect.get(target, prop, receiver) as unknown;
      return async (blobs: readonly Buffer[]) => {
        await steer(calls++);
        return target.ingestMany(blobs);
      };
    },
  });
}

async function* from(blobs: readonly Buffer[], breakAfter?: number): AsyncGenerator<Buffer> {
  for (const [i, b] of blobs.entries()) {
    if (i === breakAfter) throw new InvalidParameterError("A blob batch ended inside a frame; send whole frames.");
    yield b;
  }
}

describe("storeUnnamedBlobs", () => {
  let dir: string;
  let real: LocalDirBlobStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-unnamed-"));
    real = await LocalDirBlobStore.open(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const blobs = Array.from({ length: 600 }, (_, i) => patternBytes(50 + (i % 7), i)); // three chunks

  it("answers the digests in the order sent when chunks finish out of order, and reports each stored chunk", async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const store = steered(real, async (call) => {
      if (call === 0) await firstHeld; // the first chunk ends after the second
      if (call === 1) releaseFirst();
    });
    const reported: SizedDigest[] = [];
    const { digests, failed } = await storeUnnamedBlobs(store, from([...blobs, Buffer.alloc(2 << 20)]), (done) => void reported.push(...done));
    expect(digests).toEqual([...blobs.map(sha256), null]);
    expect(failed).toEqual([{ index: 600, code: "InvalidParameter", message: expect.stringContaining("over the") }]);
    expect(reported.map((b) => b.digest).sort()).toEqual(blobs.map(sha256).sort());
    for (const b of blobs) expect(await real.has(sha256(b))).toBe(true);
  });

  it("rejects with the store's failure after the chunks being stored have ended; the stored ones stay", async () => {
    const store = steered(real, async (call) => {
      if (call === 1) throw new StoreUnavailableError("the disk is full");
    });
    await expect(storeUnnamedBlobs(store, from(blobs))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await real.has(sha256(blobs[0]!))).toBe(true); // chunk 0 was stored
  });

  it("rejects with the body's error when it breaks off, after the chunks read before it are stored", async () => {
    await expect(storeUnnamedBlobs(real, from(blobs, 300))).rejects.toBeInstanceOf(InvalidParameterError);
    expect(await real.has(sha256(blobs[0]!))).toBe(true);
    expect(await real.has(sha256(blobs[255]!))).toBe(true);
  });
});
