import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobDigestMismatchError } from "../../errors/index.js";
import { patternBytes, readAll, runBlobStoreContract, sha256 } from "./contract.test-suite.js";
import { LocalDirBlobStore } from "./local-dir.js";

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

runBlobStoreContract(
  "LocalDirBlobStore",
  async () => {
    const dir = tempDir("ctxsync-blobs-");
    return {
      store: await LocalDirBlobStore.open(dir),
      cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
      backdate: async (digest, storedAtMs) => {
        const when = new Date(storedAtMs);
        fs.utimesSync(path.join(dir, digest.slice(0, 2), digest), when, when);
      },
    };
  },
);

describe("LocalDirBlobStore on disk", () => {
  let root: string;
  let storeDir: string;
  let work: string;
  let store: LocalDirBlobStore;

  beforeEach(async () => {
    root = tempDir("ctxsync-localdir-");
    storeDir = path.join(root, "blobs");
    work = path.join(root, "work");
    fs.mkdirSync(work);
    store = await LocalDirBlobStore.open(storeDir);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const blobFile = (digest: string): string => path.join(storeDir, digest.slice(0, 2), digest);
  const tmpEntries = (): string[] => fs.readdirSync(path.join(storeDir, "tmp"));
  const putBytes = (bytes: Buffer): Promise<void> => store.put(sha256(bytes), Readable.from([bytes]), bytes.length);

  it("ingestMany stores on its thread, and after close on a new one", async () => {
    const first = patternBytes(300, 41);
    expect(await store.ingestMany([first])).toEqual([{ digest: sha256(first), sizeBytes: 300 }]);
    await store.close();
    const second = patternBytes(400, 42);
    expect(await store.ingestMany([second])).toEqual([{ digest: sha256(second), sizeBytes: 400 }]);
    await store.close();
    for (const b of [first, second]) expect((await readAll(await store.get(sha256(b)))).equals(b)).toBe(true);
  });

  it("keeps each blob at <dir>/<first two hex digits>/<digest>", async () => {
    const bytes = Buffer.from("layout");
    await putBytes(bytes);
    expect(fs.readFileSync(blobFile(sha256(bytes))).equals(bytes)).toBe(true);
  });

  it("sees the blobs of a previous open of the same directory", async () => {
    const bytes = Buffer.from("persisted");
    await putBytes(bytes);
    const reopened = await LocalDirBlobStore.open(storeDir);
    expect((await readAll(await reopened.get(sha256(bytes)))).equals(bytes)).toBe(true);
  });

  it("never lists or serves a partial blob left in tmp by a crash", async () => {
    const bytes = Buffer.from("half written");
    fs.writeFileSync(path.join(storeDir, "tmp", sha256(bytes)), bytes.subarray(0, 4));
    expect(await store.has(sha256(bytes))).toBe(false);
    const listed: string[] = [];
    for await (const b of store.list()) listed.push(b.digest);
    expect(listed).toEqual([]);
  });

  it("puts back, on open, a blob that a conditional delete had set aside when its process died", async () => {
    const bytes = Buffer.from("set aside");
    const digest = sha256(bytes);
    fs.writeFileSync(path.join(storeDir, "tmp", `gc-${digest}-0a1b2c`), bytes);
    const reopened = await LocalDirBlobStore.open(storeDir);
    expect((await readAll(await reopened.get(digest))).equals(bytes)).toBe(true);
    expect(tmpEntries()).toEqual([]);
  });

  it("keeps the copy a writer stored meanwhile when it puts back a set-aside blob", async () => {
    const bytes = Buffer.from("stored twice");
    await putBytes(bytes);
    fs.writeFileSync(path.join(storeDir, "tmp", `gc-${sha256(bytes)}-0a1b2c`), bytes);
    const reopened = await LocalDirBlobStore.open(storeDir);
    expect((await readAll(await reopened.get(sha256(bytes)))).equals(bytes)).toBe(true);
    expect(tmpEntries()).toEqual([]);
  });

  // The same bytes overwritten in place, and replaced by shorter bytes: both must be caught.
  const corruptions: Record<string, { original: Buffer; corrupt: (b: Buffer) => Buffer }> = {
    "a small blob with one byte flipped": { original: patternBytes(1000, 1), corrupt: flipFirstByte },
    "a small blob cut short": { original: patternBytes(1000, 2), corrupt: (b) => b.subarray(0, 10) },
    "a 3 MiB blob with one byte flipped": { original: patternBytes(3 << 20, 3), corrupt: flipFirstByte },
    "a 3 MiB blob cut short": { original: patternBytes(3 << 20, 4), corrupt: (b) => b.subarray(0, 2 << 20) },
  };
  for (const [what, { original, corrupt }] of Object.entries(corruptions)) {
    it(`fetchFiles of ${what} returns BlobDigestMismatchError and leaves no target file`, async () => {
      await putBytes(original);
      fs.writeFileSync(blobFile(sha256(original)), corrupt(original));
      const target = path.join(work, "out");
      const [err] = await store.fetchFiles([{ digest: sha256(original), targetPath: target, sizeBytes: original.length }]);
      expect(err).toBeInstanceOf(BlobDigestMismatchError);
      expect(fs.existsSync(target)).toBe(false);
    });

    it(`get of ${what} fails at the end of the stream with BlobDigestMismatchError`, async () => {
      await putBytes(original);
      fs.writeFileSync(blobFile(sha256(original)), corrupt(original));
      const stream = await store.get(sha256(original));
      await expect(readAll(stream)).rejects.toBeInstanceOf(BlobDigestMismatchError);
    });
  }

  it("get with verify: false hands out the stored bytes unchecked; by default reads check", async () => {
    const small = patternBytes(1000, 7);
    const large = patternBytes(3 << 20, 8);
    for (const b of [small, large]) {
      await putBytes(b);
      fs.writeFileSync(blobFile(sha256(b)), flipFirstByte(b));
    }
    expect((await readAll(await store.get(sha256(large), { verify: false }))).equals(flipFirstByte(large))).toBe(true);
    expect(await store.getMany([sha256(small)])).toEqual([expect.any(BlobDigestMismatchError)]);
  });

  it("leaves <dir>/tmp empty after failed and successful writes and fetches", async () => {
    const small = Buffer.from("small");
    const large = patternBytes(3 << 20, 5);
    await expect(store.put(sha256(small), Readable.from([Buffer.from("other")]), 5)).rejects.toThrow();
    await expect(store.put(sha256(small), Readable.from([small]), 99)).rejects.toThrow();
    await expect(store.put(sha256(large), Readable.from([large.subarray(1)]), large.length - 1)).rejects.toThrow();
    fs.writeFileSync(path.join(work, "large"), large);
    fs.symlinkSync(path.join(work, "large"), path.join(work, "link"));
    await store.ingestFiles([
      { path: path.join(work, "missing"), sizeBytes: 1 },
      { path: path.join(work, "link"), sizeBytes: large.length },
      { path: path.join(work, "large"), sizeBytes: large.length },
      // Same content again: the store already has it and must drop its temp copy.
      { path: path.join(work, "large"), sizeBytes: large.length },
    ]);
    fs.writeFileSync(blobFile(sha256(large)), large.subarray(0, 100));
    await store.fetchFiles([
      { digest: sha256(large), targetPath: path.join(work, "corrupt-out"), sizeBytes: large.length },
      { digest: sha256(small), targetPath: path.join(work, "missing-out"), sizeBytes: small.length },
    ]);
    expect(tmpEntries()).toEqual([]);
  });

  it("leaves <dir>/tmp empty after conditional deletes that removed and that kept a blob", async () => {
    const old = Buffer.from("old");
    const fresh = Buffer.from("fresh");
    await putBytes(old);
    await putBytes(fresh);
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    fs.utimesSync(blobFile(sha256(old)), longAgo, longAgo);
    const cutoff = Date.now() - 3_600_000;
    expect(await store.delete(sha256(old), { ifStoredBeforeMs: cutoff })).toBe(true);
    expect(await store.delete(sha256(fresh), { ifStoredBeforeMs: cutoff })).toBe(false);
    expect(tmpEntries()).toEqual([]);
    expect(fs.existsSync(blobFile(sha256(fresh)))).toBe(true);
  });
});

function flipFirstByte(b: Buffer): Buffer {
  const copy = Buffer.from(b);
  copy[0] = copy[0]! ^ 0xff;
  return copy;
}
