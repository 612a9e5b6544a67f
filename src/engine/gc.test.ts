import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { LocalDirBlobStore, SqliteMetaStore, type BlobStore, type Digest, type FileChange, type MetaStore } from "../store/index.js";
import { collectGarbage, gcOptionsWithDefaults, type GcDeps } from "./gc.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NO_GRACE = { retentionMs: 7 * DAY_MS, minBlobAgeMs: 0 };
const DEFAULTS = { retentionMs: 7 * DAY_MS, minBlobAgeMs: DAY_MS };

describe("gcOptionsWithDefaults", () => {
  it("keeps history 7 days and leaves unreferenced blobs alone for 24 hours by default", () => {
    expect(gcOptionsWithDefaults()).toEqual(DEFAULTS);
    expect(gcOptionsWithDefaults({ minBlobAgeMs: 0 })).toEqual({ ...DEFAULTS, minBlobAgeMs: 0 });
  });

  const bad: Record<string, Parameters<typeof gcOptionsWithDefaults>[0]> = {
    "a negative retention": { retentionMs: -1 },
    "a NaN grace period": { minBlobAgeMs: Number.NaN },
    "an infinite retention": { retentionMs: Number.POSITIVE_INFINITY },
  };
  for (const [what, opts] of Object.entries(bad)) {
    it(`refuses ${what} with InvalidParameterError`, () => {
      expect(() => gcOptionsWithDefaults(opts)).toThrow(InvalidParameterError);
    });
  }
});

describe("collectGarbage", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: LocalDirBlobStore;
  let nowMs: number;
  let contextId: string;
  let head: number;
  const clock = { now: () => nowMs };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-gc-"));
    meta = SqliteMetaStore.open(path.join(dir, "meta.db"));
    blobs = await LocalDirBlobStore.open(path.join(dir, "blobs"));
    // The real time: blobs are stamped with it, and the grace period compares those stamps with this clock.
    nowMs = Date.now();
    const tenant = await meta.ensureTenant("acme");
    contextId = (await meta.createContext(tenant, "c", nowMs)).id;
    head = 0;
  });
  afterEach(async () => {
    await meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const storeBlob = async (text: string, storedAgoMs = 0): Promise<Digest> => {
    const bytes = Buffer.from(text);
    const digest = createHash("sha256").update(bytes).digest("hex");
    await blobs.put(digest, Readable.from([bytes]), bytes.length);
    if (storedAgoMs > 0) {
      const when = new Date(Date.now() - storedAgoMs);
      fs.utimesSync(path.join(dir, "blobs", digest.slice(0, 2), digest), when, when);
    }
    return digest;
  };
  const commit = async (changes: FileChange[]): Promise<void> => {
    head = await meta.commitGeneration({ contextId, expectedHead: head, sessionId: null, timeMs: nowMs, changes });
  };
  const put = (key: string, digest: Digest, expiresAtMs: number | null = null): FileChange => ({
    kind: "put",
    key,
    meta: { type: "file", digest, sizeBytes: 1, mode: 0o644, mtimeMs: 1, linkTarget: null },
    expiresAtMs,
  });
  const stored = async (): Promise<Digest[]> => {
    const out: Digest[] = [];
    for await (const b of blobs.list()) out.push(b.digest);
    return out.sort();
  };
  /**
   * Deps whose blob listing and referenced-set read run `between` just before whichever of the two comes
   * second: the moment a concurrent upload would slip in between them.
   */
  const interleaved = (between: () => Promise<void>): GcDeps => {
    let first: "list" | "mark" | undefined;
    const step = async (op: "list" | "mark"): Promise<void> => {
      if (first === undefined) first = op;
      else if (first !== op) await between();
    };
    const wrappedBlobs: GcDeps["blobs"] = {
      delete: (d, o) => blobs.delete(d, o),
      async *list() {
        await step("list");
        yield* blobs.list();
      },
    };
    const wrappedMeta: GcDeps["meta"] = {
      deleteExpired: (n) => meta.deleteExpired(n),
      pruneHistory: (c, t) => meta.pruneHistory(c, t),
      forgetUploadsBefore: (t) => meta.forgetUploadsBefore(t),
      withCollectionLock: (fn) => meta.withCollectionLock(fn),
      settleBlobDeletions: (a, s, c) => meta.settleBlobDeletions(a, s, c),
      async listReferencedDigests() {
        await step("mark");
        return meta.listReferencedDigests();
      },
    };
    return { meta: wrappedMeta, blobs: wrappedBlobs as BlobStore, clock };
  };

  it("settles the deletion marks a collection that stopped midway left, so writes of those blobs go on", async () => {
    const digest = await storeBlob("left marked");
    await meta.markBlobDeletion(digest, "deleting", nowMs - 2 * DAY_MS);
    await collectGarbage({ meta, blobs, clock }, DEFAULTS);
    expect(await meta.blobsBeingDeleted([digest])).toEqual(new Set());
    // Marked deleted now (a writer that waited checks its blob again); the old mark is pruned.
    expect(await meta.blobsMarkedSince(0, [digest])).toEqual(new Set([digest]));
    nowMs += 2 * DAY_MS;
    await collectGarbage({ meta, blobs, clock }, { ...DEFAULTS, retentionMs: 30 * DAY_MS });
    expect(await meta.blobsMarkedSince(0, [digest])).toEqual(new Set());
  });

  it("deletes unreferenced blobs older than the grace period and keeps referenced and younger ones", async () => {
    const referenced = await storeBlob("referenced", 2 * DAY_MS);
    const garbage = await storeBlob("garbage", 2 * DAY_MS);
    const young = await storeBlob("young", HOUR_MS);
    await commit([put("/a", referenced)]);

    const stats = await collectGarbage({ meta, blobs, clock }, DEFAULTS);
    expect(stats).toEqual({ expiredFiles: 0, prunedVersions: 0, prunedGenerations: 0, deletedBlobs: 1, keptBlobs: 2 });
    expect(await stored()).toEqual([referenced, young].sort());
    expect(await stored()).not.toContain(garbage);
  });

  it("frees the blobs of expired files and of pruned history in the same run", async () => {
    const expiring = await storeBlob("expiring", 2 * DAY_MS);
    const old = await storeBlob("old version", 2 * DAY_MS);
    const current = await storeBlob("current version", 2 * DAY_MS);
    await commit([put("/cache/x", expiring, nowMs + DAY_MS), put("/a", old)]);
    await commit([put("/a", current)]);
    nowMs += 8 * DAY_MS;

    const stats = await collectGarbage({ meta, blobs, clock }, DEFAULTS);
    expect(stats).toEqual({ expiredFiles: 1, prunedVersions: 1, prunedGenerations: 1, deletedBlobs: 2, keptBlobs: 1 });
    expect(await stored()).toEqual([current]);
    expect([...(await meta.listReferencedDigests())]).toEqual([current]);
  });

  it("keeps a blob stored and committed between the blob listing and the referenced-set read, even with no grace period", async () => {
    let late: Digest | undefined;
    nowMs = Date.now() + 60_000; // a minute on: with no grace, every blob stored before now is a candidate
    const deps = interleaved(async () => {
      late = await storeBlob("committed while gc ran");
      await commit([put("/late", late)]);
    });
    const stats = await collectGarbage(deps, NO_GRACE);
    expect(late).toBeDefined();
    expect(await stored()).toEqual([late]);
    expect(stats.deletedBlobs).toBe(0);
  });

  it("keeps an old unreferenced blob that an upload touched while the collection ran, for the upload to commit", async () => {
    const reused = await storeBlob("reused by an upload", 2 * DAY_MS);
    const deps = interleaved(async () => {
      expect(await blobs.touch(reused)).toBe(true);
    });
    const stats = await collectGarbage(deps, DEFAULTS);
    expect(stats).toMatchObject({ deletedBlobs: 0, keptBlobs: 1 });
    expect(await stored()).toEqual([reused]);
  });

  it("deletes an uncommitted blob only once it is older than the grace period", async () => {
    const uncommitted = await storeBlob("stored, never committed");
    nowMs += 23 * HOUR_MS;
    expect(await collectGarbage({ meta, blobs, clock }, DEFAULTS)).toMatchObject({ deletedBlobs: 0, keptBlobs: 1 });
    expect(await stored()).toEqual([uncommitted]);
    nowMs += 2 * HOUR_MS;
    expect(await collectGarbage({ meta, blobs, clock }, DEFAULTS)).toMatchObject({ deletedBlobs: 1, keptBlobs: 0 });
    expect(await stored()).toEqual([]);
  });

  it("forgets, with the blobs it may delete, which session sent them: such a record entitles no commit any more", async () => {
    const tenant = await meta.ensureTenant("acme");
    const session = { id: "sess-1", tenantId: tenant, status: "running" as const, root: "/", labels: {}, createdAtMs: nowMs, agent: "external" as const, lastHeartbeatMs: null };
    await meta.createSession(session, []);
    const sent = await storeBlob("sent by an agent, never committed");
    await meta.recordUploads(session.id, [{ digest: sent, sizeBytes: 34 }], nowMs);
    nowMs += 23 * HOUR_MS;
    await collectGarbage({ meta, blobs, clock }, DEFAULTS);
    expect(await meta.uploadedBlobSizes(session.id, [sent])).toEqual(new Map([[sent, 34]]));
    nowMs += 2 * HOUR_MS;
    await collectGarbage({ meta, blobs, clock }, DEFAULTS);
    expect(await meta.uploadedBlobSizes(session.id, [sent])).toEqual(new Map());
  });
});
