import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestS3, type TestS3 } from "../../../test/helpers/s3-server.js";
import { StoreUnavailableError } from "../../errors/index.js";
import type { BlobDeletionJournal } from "../blob-deletion-journal.js";
import type { Digest } from "../blob-store.js";
import { SqliteMetaStore } from "../meta/sqlite.js";
import { patternBytes, runBlobStoreContract, sha256 } from "./contract.test-suite.js";
import { DeletionFence } from "./deletion-fence.js";
import { S3BlobStore } from "./s3.js";
import { S3KeyLayout } from "./s3-keys.js";

// S3 cannot delete on a condition, so a refresh landing between a deletion's age check and its delete
// would be lost; these tests hold a deletion open (a `deleting` mark, as a collection makes before its
// check) and make the write land inside it.

const PREFIX = "ctxsync/";
const layout = new S3KeyLayout(PREFIX);

let s3: TestS3;
let dir: string;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-fence-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let buckets = 0;
async function freshBucket(): Promise<string> {
  const name = `fence-${++buckets}`;
  await s3.createBucket(name);
  return name;
}

runBlobStoreContract("S3BlobStore with a deletion journal", async () => {
  const bucket = await freshBucket();
  const metaDir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-fence-meta-"));
  const meta = await SqliteMetaStore.open(path.join(metaDir, "meta.db"));
  const store = await S3BlobStore.open({ client: s3.client(), bucket, prefix: PREFIX, deletions: meta });
  return {
    store,
    cleanup: async () => {
      await meta.close();
      fs.rmSync(metaDir, { recursive: true, force: true });
      await s3.removeBucket(bucket);
    },
    backdate: (digest, storedAtMs) => s3.setLastModified(bucket, layout.blobKey(digest), storedAtMs),
  };
});

/** The metadata store as a journal, with some of its methods replaced. */
function journalOf(meta: SqliteMetaStore, over: Partial<BlobDeletionJournal> = {}): BlobDeletionJournal {
  return {
    deletionWatermark: () => meta.deletionWatermark(),
    blobsMarkedSince: (w, d) => meta.blobsMarkedSince(w, d),
    blobsBeingDeleted: (d) => meta.blobsBeingDeleted(d),
    markBlobDeletion: (d, s, t) => meta.markBlobDeletion(d, s, t),
    settleBlobDeletions: (a, s, c) => meta.settleBlobDeletions(a, s, c),
    ...over,
  };
}

/** The journal, telling when a write first waits for a deletion to end. */
function watched(meta: SqliteMetaStore): { journal: BlobDeletionJournal; waiting: Promise<void> } {
  let resolve!: () => void;
  const waiting = new Promise<void>((r) => (resolve = r));
  const journal = journalOf(meta, {
    blobsBeingDeleted: (d) => {
      resolve();
      return meta.blobsBeingDeleted(d);
    },
  });
  return { journal, waiting };
}

describe("S3BlobStore writes that a deletion of the same blob overlaps", () => {
  let bucket: string;
  let client: S3Client;
  let meta: SqliteMetaStore;
  let store: S3BlobStore;
  let waiting: Promise<void>;

  beforeEach(async () => {
    bucket = await freshBucket();
    client = s3.client();
    meta = await SqliteMetaStore.open(path.join(dir, "meta.db"));
    const w = watched(meta);
    waiting = w.waiting;
    store = await S3BlobStore.open({ client, bucket, prefix: PREFIX, deletions: w.journal, deletionWait: { waitMs: 2_000, pollMs: 10 } });
  });
  afterEach(async () => {
    await meta.close();
    await s3.removeBucket(bucket);
  });

  const stored = async (bytes: Buffer): Promise<Digest> => {
    const digest = sha256(bytes);
    await store.putMany([{ digest, bytes }]);
    return digest;
  };
  /** What a collection does between its `deleting` mark and its `deleted` one: the object goes. */
  const finishDeletion = async (digest: Digest): Promise<void> => {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: layout.blobKey(digest) }));
    await meta.markBlobDeletion(digest, "deleted", Date.now());
  };

  it("a touch that lands inside a deletion waits for it and then reports the blob absent", async () => {
    const digest = await stored(patternBytes(100, 1));
    await meta.markBlobDeletion(digest, "deleting", Date.now());
    const touched = store.touch(digest);
    await waiting; // the copy is done, and the deletion still running: without the fence, true
    await finishDeletion(digest);
    expect(await touched).toBe(false);
  });

  it("touchMany refreshes the other blobs and reports only the deleted one absent", async () => {
    const kept = await stored(patternBytes(100, 2));
    const doomed = await stored(patternBytes(100, 3));
    await meta.markBlobDeletion(doomed, "deleting", Date.now());
    const touched = store.touchMany([kept, doomed]);
    await waiting;
    await finishDeletion(doomed);
    expect(await touched).toEqual([true, false]);
  });

  it("putMany stores a blob again when a deletion overlapped its PUT", async () => {
    const bytes = patternBytes(100, 4);
    const digest = await stored(bytes);
    await meta.markBlobDeletion(digest, "deleting", Date.now());
    const put = store.putMany([{ digest, bytes }]);
    await waiting;
    await finishDeletion(digest);
    expect(await put).toEqual([null]);
    expect(await store.has(digest)).toBe(true);
  });

  it("ingestFiles reads and stores a file again when a deletion overlapped its blob", async () => {
    const bytes = patternBytes(5000, 5);
    const digest = await stored(bytes);
    const file = path.join(dir, "f");
    fs.writeFileSync(file, bytes);
    await meta.markBlobDeletion(digest, "deleting", Date.now());
    const ingest = store.ingestFiles([{ path: file, sizeBytes: bytes.length }]);
    await waiting;
    await finishDeletion(digest);
    expect(await ingest).toEqual([{ digest, sizeBytes: bytes.length }]);
    expect(await store.has(digest)).toBe(true);
  });

  it("put from a stream fails with StoreUnavailable when a deletion took the blob it just stored", async () => {
    const bytes = patternBytes(100, 6);
    const digest = sha256(bytes);
    await meta.markBlobDeletion(digest, "deleting", Date.now());
    const put = store.put(digest, Readable.from([bytes]), bytes.length);
    await waiting;
    await finishDeletion(digest);
    const err: unknown = await put.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain("deleted by garbage collection while it was being stored");
  });

  it("a write stops waiting on a deletion mark left running and says how it clears", async () => {
    const digest = await stored(patternBytes(100, 7));
    await meta.markBlobDeletion(digest, "deleting", Date.now()); // a collection that died midway
    const impatient = await S3BlobStore.open({ client, bucket, prefix: PREFIX, deletions: meta, deletionWait: { waitMs: 200, pollMs: 10 } });
    const err: unknown = await impatient.touch(digest).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`${digest}.*ctxsync gc`));
    // Settled (as the next collection does), the mark lets writes through and the blob is still there.
    await meta.settleBlobDeletions(Date.now(), Date.now() + 1, 0);
    expect(await store.touch(digest)).toBe(true);
  });

  it("delete marks a blob it deleted `deleted` and one it left `kept`, so writers check again", async () => {
    const old = await stored(patternBytes(100, 8));
    const young = await stored(patternBytes(100, 9));
    await s3.setLastModified(bucket, layout.blobKey(old), Date.now() - 86_400_000);
    const w = await meta.deletionWatermark();
    expect(await store.delete(old, { ifStoredBeforeMs: Date.now() - 3_600_000 })).toBe(true);
    expect(await store.delete(young, { ifStoredBeforeMs: Date.now() - 3_600_000 })).toBe(false);
    expect(await meta.blobsMarkedSince(w, [old, young])).toEqual(new Set([old, young]));
    expect(await meta.blobsBeingDeleted([old, young])).toEqual(new Set());
  });
});

describe("DeletionFence.writeAll", () => {
  it("gives up with StoreUnavailable when deletions keep overlapping the same write", async () => {
    const meta = await SqliteMetaStore.open(path.join(dir, "meta.db"));
    try {
      // Every round, a deletion of the blob comes and goes (kept) between the write and its check.
      const journal = journalOf(meta, {
        blobsMarkedSince: async (w, digests) => {
          for (const d of digests) {
            await meta.markBlobDeletion(d, "deleting", Date.now());
            await meta.markBlobDeletion(d, "kept", Date.now());
          }
          return meta.blobsMarkedSince(w, digests);
        },
      });
      const digest = sha256(Buffer.from("contended"));
      let writes = 0;
      const err: unknown = await new DeletionFence(journal)
        .writeAll([digest], async (items) => {
          writes++;
          return [...items];
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toContain("6 times in a row");
      expect(writes).toBe(6);
    } finally {
      await meta.close();
    }
  });
});

describe("DeletionFence.deleting", () => {
  it("leaves a deletion that failed marked as running: its request may still land", async () => {
    const meta = await SqliteMetaStore.open(path.join(dir, "meta.db"));
    try {
      const fence = new DeletionFence(meta);
      const digest = sha256(Buffer.from("failed delete"));
      const err: unknown = await fence.deleting(digest, () => Promise.reject(new StoreUnavailableError("DeleteObject timed out"))).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(await meta.blobsBeingDeleted([digest])).toEqual(new Set([digest]));
    } finally {
      await meta.close();
    }
  });
});
