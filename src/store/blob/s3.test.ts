import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestS3, type TestS3 } from "../../../test/helpers/s3-server.js";
import { BlobDigestMismatchError, BlobNotFoundError, CtxSyncError, StoreUnavailableError } from "../../errors/index.js";
import type { Digest } from "../blob-store.js";
import { patternBytes, readAll, runBlobStoreContract, sha256 } from "./contract.test-suite.js";
import { S3BlobStore } from "./s3.js";
import { S3KeyLayout } from "./s3-keys.js";

const PREFIX = "ctxsync/";
const layout = new S3KeyLayout(PREFIX);

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

let buckets = 0;
/** A new, empty bucket for one test; s3rver holds them all in one directory. */
async function freshBucket(): Promise<string> {
  const name = `blobs-${++buckets}`;
  await s3.createBucket(name);
  return name;
}

runBlobStoreContract("S3BlobStore", async () => {
  const bucket = await freshBucket();
  const store = await S3BlobStore.open({ client: s3.client(), bucket, prefix: PREFIX });
  return {
    store,
    cleanup: () => s3.removeBucket(bucket),
    // S3 has no call that sets Last-Modified; s3rver reports the mtime of the object's file.
    backdate: (digest, storedAtMs) => s3.setLastModified(bucket, layout.blobKey(digest), storedAtMs),
  };
});

describe("S3BlobStore in a bucket", () => {
  let bucket: string;
  let client: S3Client;
  let store: S3BlobStore;
  let work: string;

  beforeEach(async () => {
    bucket = await freshBucket();
    client = s3.client();
    store = await S3BlobStore.open({ client, bucket, prefix: PREFIX });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-s3-work-"));
  });
  afterEach(async () => {
    await s3.removeBucket(bucket);
    fs.rmSync(work, { recursive: true, force: true });
  });

  const putBytes = (bytes: Buffer, into: S3BlobStore = store): Promise<void> =>
    into.put(sha256(bytes), Readable.from(bytes.length === 0 ? [] : [bytes]), bytes.length);
  /** Every key in the bucket, under any prefix. */
  const allKeys = async (): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key ?? "");
  /** Replaces a stored blob's bytes behind the store's back, as damage in the bucket would. */
  const damage = async (digest: Digest, bytes: Buffer): Promise<void> => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: layout.blobKey(digest), Body: bytes }));
  };

  it("keeps each blob at <prefix>blobs/<first two hex digits>/<digest>", async () => {
    const bytes = Buffer.from("layout");
    await putBytes(bytes);
    const digest = sha256(bytes);
    expect(await allKeys()).toEqual([`ctxsync/blobs/${digest.slice(0, 2)}/${digest}`]);
  });

  // The same bytes overwritten in place, and replaced by shorter bytes: both must be caught.
  const corruptions: Record<string, { original: Buffer; corrupt: (b: Buffer) => Buffer }> = {
    "a small blob with one byte flipped": { original: patternBytes(1000, 1), corrupt: flipFirstByte },
    "a small blob cut short": { original: patternBytes(1000, 2), corrupt: (b) => b.subarray(0, 10) },
    "a 3 MiB blob with one byte flipped": { original: patternBytes(3 << 20, 3), corrupt: flipFirstByte },
    "a 3 MiB blob cut short": { original: patternBytes(3 << 20, 4), corrupt: (b) => b.subarray(0, 2 << 20) },
  };
  for (const [what, { original, corrupt }] of Object.entries(corruptions)) {
    it(`get of ${what} in the bucket errors with BlobDigestMismatchError before handing out all its bytes`, async () => {
      await putBytes(original);
      const damaged = corrupt(original);
      await damage(sha256(original), damaged);
      const stream = await store.get(sha256(original));
      let received = 0;
      const err: unknown = await (async () => {
        for await (const chunk of stream) received += (chunk as Buffer).length;
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BlobDigestMismatchError);
      // Never ends complete-looking: a consumer counting bytes sees fewer than the blob has.
      expect(received).toBeLessThan(damaged.length);
    });

    it(`fetchFiles of ${what} in the bucket returns BlobDigestMismatchError and leaves no target file`, async () => {
      await putBytes(original);
      await damage(sha256(original), corrupt(original));
      const target = path.join(work, "out");
      const [err] = await store.fetchFiles([{ digest: sha256(original), targetPath: target, sizeBytes: original.length }]);
      expect(err).toBeInstanceOf(BlobDigestMismatchError);
      expect(fs.existsSync(target)).toBe(false);
    });
  }

  it("getMany refuses a small blob damaged in the bucket with BlobDigestMismatchError and still reads the others", async () => {
    const good = patternBytes(500, 5);
    const bad = patternBytes(500, 6);
    await putBytes(good);
    await putBytes(bad);
    await damage(sha256(bad), flipFirstByte(bad));
    const [badResult, goodResult] = await store.getMany([sha256(bad), sha256(good)]);
    expect(badResult).toBeInstanceOf(BlobDigestMismatchError);
    expect(Buffer.isBuffer(goodResult) && goodResult.equals(good)).toBe(true);
  });

  it("get with verify: false hands out the stored bytes unchecked", async () => {
    const bytes = patternBytes(3 << 20, 7);
    await putBytes(bytes);
    await damage(sha256(bytes), flipFirstByte(bytes));
    expect((await readAll(await store.get(sha256(bytes), { verify: false }))).equals(flipFirstByte(bytes))).toBe(true);
  });

  describe("multipart uploads (blobs larger than one 8 MiB part)", () => {
    const BIG = patternBytes(12 << 20, 8);

    it("put and ingestFiles store a blob of several parts that reads back exactly", async () => {
      await putBytes(BIG);
      expect((await readAll(await store.get(sha256(BIG)))).equals(BIG)).toBe(true);
      await store.delete(sha256(BIG));
      const file = path.join(work, "big");
      fs.writeFileSync(file, BIG);
      let progress = 0;
      expect(await store.ingestFiles([{ path: file, sizeBytes: BIG.length }], (n) => (progress += n))).toEqual([
        { digest: sha256(BIG), sizeBytes: BIG.length },
      ]);
      expect(progress).toBe(BIG.length);
      expect((await readAll(await store.get(sha256(BIG)))).equals(BIG)).toBe(true);
    });

    it("put refuses a body of several parts whose last bytes are wrong and stores nothing", async () => {
      const wrong = Buffer.from(BIG);
      wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
      await expect(store.put(sha256(BIG), Readable.from([wrong]), wrong.length)).rejects.toBeInstanceOf(BlobDigestMismatchError);
      expect(await allKeys()).toEqual([]);
    });

    it("put refuses a body of several parts that is shorter than announced and stores nothing", async () => {
      const err: unknown = await store.put(sha256(BIG), Readable.from([BIG.subarray(0, 10 << 20)]), BIG.length).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CtxSyncError);
      expect(await allKeys()).toEqual([]);
    });
  });

  it("stores nothing anywhere in the bucket when puts are refused", async () => {
    const small = Buffer.from("small");
    await expect(store.put(sha256(small), Readable.from([Buffer.from("other")]), 5)).rejects.toThrow();
    await expect(store.put(sha256(small), Readable.from([small]), 99)).rejects.toThrow();
    const large = patternBytes(3 << 20, 9);
    await expect(store.put(sha256(large), Readable.from([large.subarray(1)]), large.length - 1)).rejects.toThrow();
    expect(await allKeys()).toEqual([]);
  });

  it("putUnnamed spools the bytes in its spool directory, made when missing, and leaves nothing there, stored or refused", async () => {
    const spoolDir = path.join(work, "home", "uploads");
    const spooling = await S3BlobStore.open({ client, bucket, prefix: PREFIX, spoolDir });
    const large = patternBytes(3 << 20, 11);
    expect(await spooling.putUnnamed(Readable.from([large]), large.length)).toEqual({ digest: sha256(large), sizeBytes: large.length });
    expect(fs.readdirSync(spoolDir)).toEqual([]);
    await expect(spooling.putUnnamed(Readable.from([large]), large.length - 1)).rejects.toBeInstanceOf(CtxSyncError);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
    expect(await allKeys()).toEqual([layout.blobKey(sha256(large))]);
  });

  it("keeps stores with different prefixes in one bucket apart", async () => {
    const other = await S3BlobStore.open({ client, bucket, prefix: "other/" });
    const mine = Buffer.from("mine");
    await putBytes(mine);
    expect(await other.has(sha256(mine))).toBe(false);
    await expect(other.get(sha256(mine))).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await other.touch(sha256(mine))).toBe(false);
    const listed: string[] = [];
    for await (const b of other.list()) listed.push(b.digest);
    expect(listed).toEqual([]);
    expect(await other.delete(sha256(mine))).toBe(false);
    expect(await store.has(sha256(mine))).toBe(true);
  });

  it("list pages through more than one ListObjectsV2 page and yields each blob once", async () => {
    let listCalls = 0;
    const counted = s3.client();
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ListObjectsV2Command") listCalls++;
        return next(args);
      },
      { step: "initialize", name: "countListCalls" },
    );
    const paged = await S3BlobStore.open({ client: counted, bucket, prefix: PREFIX, listPageSize: 2 });
    const blobs = Array.from({ length: 7 }, (_, i) => patternBytes(10 + i, i));
    expect(await paged.putMany(blobs.map((bytes) => ({ digest: sha256(bytes), bytes })))).toEqual(blobs.map(() => null));
    const listed: string[] = [];
    for await (const b of paged.list()) listed.push(b.digest);
    expect(listed.sort()).toEqual(blobs.map(sha256).sort());
    expect(listCalls).toBe(4);
  });

  it("list skips keys under the blob prefix that are not blob keys", async () => {
    const bytes = Buffer.from("real");
    await putBytes(bytes);
    const digest = sha256(bytes);
    for (const key of [`${PREFIX}blobs/zz/${digest}`, `${PREFIX}blobs/${digest}`, `${PREFIX}blobs/${digest.slice(0, 2)}/notes.txt`]) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "x" }));
    }
    const listed: string[] = [];
    for await (const b of store.list()) listed.push(b.digest);
    expect(listed).toEqual([digest]);
  });

  it("rejects with a StoreUnavailable error naming the operation and key, SDK error as cause, when the bucket is gone", async () => {
    await s3.removeBucket(bucket);
    const bytes = Buffer.from("nowhere");
    const err: unknown = await putBytes(bytes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: "StoreUnavailable", message: expect.stringContaining(layout.blobKey(sha256(bytes))) });
    expect((err as Error).cause).toBeInstanceOf(Error);
    // A batch call rejects as a whole rather than failing blob by blob.
    await expect(store.putMany([{ digest: sha256(bytes), bytes }])).rejects.toMatchObject({ code: "StoreUnavailable" });
    await expect(store.get(sha256(bytes))).rejects.toMatchObject({ code: "StoreUnavailable" });
  });
});

describe("S3BlobStore.open", () => {
  const openError = async (opts: Parameters<typeof S3BlobStore.open>[0]): Promise<StoreUnavailableError> => {
    const err: unknown = await S3BlobStore.open(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    return err as StoreUnavailableError;
  };

  it("fails with StoreUnavailable naming the bucket and saying it does not exist", async () => {
    const err = await openError({ client: s3.client(), bucket: "no-such-bucket" });
    expect(err.code).toBe("StoreUnavailable");
    expect(err.message).toContain('"no-such-bucket"');
    expect(err.message).toContain("does not exist");
  });

  it("fails with StoreUnavailable naming the bucket and the endpoint to check when nothing listens there", async () => {
    const secret = "very-secret-key-for-this-test";
    const client = s3.client({ endpoint: "http://127.0.0.1:1", maxAttempts: 1, credentials: { accessKeyId: "S3RVER", secretAccessKey: secret } });
    const err = await openError({ client, bucket: "some-bucket" });
    expect(err.code).toBe("StoreUnavailable");
    expect(err.message).toContain('"some-bucket"');
    expect(err.message).toContain("127.0.0.1:1");
    expect(err.message).toContain("endpoint");
    expect(err.message).not.toContain(secret);
  });

  it("fails with StoreUnavailable pointing at the credentials when the server refuses them", async () => {
    const bucket = await freshBucket();
    const secret = "another-secret-key";
    const client = s3.client({ maxAttempts: 1, credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: secret } });
    const err = await openError({ client, bucket });
    expect(err.code).toBe("StoreUnavailable");
    expect(err.message).toContain(`"${bucket}"`);
    expect(err.message).toContain("credentials");
    expect(err.message).not.toContain(secret);
    await s3.removeBucket(bucket);
  });
});

function flipFirstByte(b: Buffer): Buffer {
  const copy = Buffer.from(b);
  copy[0] = copy[0]! ^ 0xff;
  return copy;
}
