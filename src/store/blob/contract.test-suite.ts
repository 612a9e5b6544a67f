import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobDigestMismatchError, BlobNotFoundError, CtxSyncError, InvalidParameterError } from "../../errors/index.js";
import type { BlobStore, Digest, IngestResult } from "../blob-store.js";

/** A fresh, empty store and the function that removes everything it made. */
export interface BlobStoreHarness {
  store: BlobStore;
  cleanup(): Promise<void>;
  /** Sets a stored blob's storedAtMs back to `storedAtMs`, as if it had been stored then (local-dir: utimes). */
  backdate(digest: Digest, storedAtMs: number): Promise<void>;
}

export interface BlobStoreContractOptions {
  /**
   * Contract tests this implementation is known to fail, by exact test name, with the reason. They still run,
   * as `it.fails`, so fixing the gap turns them red and the entry gets removed.
   */
  knownGaps?: Readonly<Record<string, string>>;
}

/** SHA-256 of `bytes` as a Digest. */
export function sha256(bytes: Buffer): Digest {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `n` deterministic bytes; different seeds give different content. */
export function patternBytes(n: number, seed = 0): Buffer {
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return buf;
}

/** Reads a stream to its end; rejects with the stream's error. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Digests `list()` yields, in its order. */
async function listDigests(store: BlobStore): Promise<Digest[]> {
  return (await collect(store.list())).map((b) => b.digest);
}

/**
 * How far a store's clock (a file's mtime, an object's Last-Modified) may be from this process's Date.now():
 * filesystems stamp with a coarse clock, object stores with their own. Generous, because GC's grace period
 * is hours.
 */
const CLOCK_SLACK_MS = 5000;
const HOUR_MS = 3_600_000;

function bodyOf(bytes: Buffer): Readable {
  return Readable.from(bytes.length === 0 ? [] : [bytes]);
}

function okDigest(r: IngestResult | undefined): { digest: Digest; sizeBytes: number } {
  if (!r || "error" in r) throw new Error(`expected an ingested blob, got ${r ? r.error.message : "nothing"}`);
  return r;
}

const MiB = 1 << 20;
const SMALL = Buffer.from("hello, context\n");
const EMPTY = Buffer.alloc(0);
const ONE_MIB = patternBytes(MiB, 1); // the largest size a store may read in one piece
const JUST_OVER = patternBytes(MiB + 1, 2);
const LARGE = patternBytes(3 * MiB, 3);

const INVALID_DIGESTS: Record<string, string> = {
  "a path that climbs out of the store": "../../etc/passwd",
  "upper-case hex": sha256(SMALL).toUpperCase(),
  "63 hex characters": sha256(SMALL).slice(1),
  "65 hex characters": `${sha256(SMALL)}0`,
  "an empty string": "",
  "a prefixed digest": `sha256:${sha256(SMALL)}`,
};

/**
 * The behaviour every BlobStore must have (see blob-store.ts). Each test gets a fresh store from `makeStore`.
 * Corrupting stored bytes is implementation-specific, so those tests live beside each implementation.
 */
export function runBlobStoreContract(
  name: string,
  makeStore: () => Promise<BlobStoreHarness>,
  opts: BlobStoreContractOptions = {},
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;
    /** Scratch directory for files to ingest and fetch targets; not the store's own directory. */
    let work: string;

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
      work = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-blob-work-"));
    });
    afterEach(async () => {
      await harness.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    });

    const usedGaps = new Set<string>();
    const test = (title: string, fn: () => Promise<void>): void => {
      const gap = opts.knownGaps?.[title];
      if (gap === undefined) {
        it(title, fn);
        return;
      }
      usedGaps.add(title);
      it.fails(`${title} [known gap: ${gap}]`, fn);
    };

    const writeFile = (rel: string, bytes: Buffer): string => {
      const p = path.join(work, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, bytes);
      return p;
    };
    const putBytes = (bytes: Buffer): Promise<void> => store.put(sha256(bytes), bodyOf(bytes), bytes.length);

    describe("put and get", () => {
      const sizes: Record<string, Buffer> = {
        "an empty blob": EMPTY,
        "a small blob": SMALL,
        "a 1 MiB blob": ONE_MIB,
        "a 3 MiB blob": LARGE,
      };
      for (const [what, bytes] of Object.entries(sizes)) {
        test(`get returns exactly the bytes put stored for ${what}`, async () => {
          await putBytes(bytes);
          expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
        });
      }

      test("get of a missing blob rejects with BlobNotFoundError, not a native not-found error", async () => {
        const digest = sha256(SMALL);
        const err: unknown = await store.get(digest).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(BlobNotFoundError);
        expect(err).toMatchObject({ code: "BlobNotFound", digest });
      });

      test("put refuses bytes that do not hash to the digest and stores nothing", async () => {
        const claimed = sha256(SMALL);
        await expect(store.put(claimed, bodyOf(Buffer.from("other bytes")), 11)).rejects.toBeInstanceOf(
          BlobDigestMismatchError,
        );
        expect(await store.has(claimed)).toBe(false);
        expect(await listDigests(store)).toEqual([]);
      });

      const wrongSizes: Record<string, number> = {
        "more bytes than the body has": SMALL.length + 1,
        "fewer bytes than the body has": SMALL.length - 1,
        "zero bytes for a non-empty body": 0,
      };
      for (const [what, announced] of Object.entries(wrongSizes)) {
        test(`put refuses a body when the announced size is ${what} and stores nothing`, async () => {
          const err: unknown = await store.put(sha256(SMALL), bodyOf(SMALL), announced).then(
            () => undefined,
            (e: unknown) => e,
          );
          // Native errors must not leak through the seam.
          expect(err).toBeInstanceOf(CtxSyncError);
          expect(await store.has(sha256(SMALL))).toBe(false);
          expect(await listDigests(store)).toEqual([]);
        });
      }

      test("put of a digest that is already stored succeeds and keeps one copy", async () => {
        await putBytes(SMALL);
        await putBytes(SMALL);
        expect(await listDigests(store)).toEqual([sha256(SMALL)]);
        expect((await readAll(await store.get(sha256(SMALL)))).equals(SMALL)).toBe(true);
      });

      test("put of a digest that is already stored still refuses wrong bytes or a wrong size, keeping the blob", async () => {
        await putBytes(SMALL);
        const digest = sha256(SMALL);
        await expect(store.put(digest, bodyOf(Buffer.from("other bytes")), 11)).rejects.toBeInstanceOf(BlobDigestMismatchError);
        await expect(store.put(digest, bodyOf(SMALL), SMALL.length + 1)).rejects.toBeInstanceOf(CtxSyncError);
        expect((await readAll(await store.get(digest))).equals(SMALL)).toBe(true);
      });
    });

    describe("putUnnamed", () => {
      test("putUnnamed stores the bytes under their SHA-256 and says so, for an empty and a 3 MiB blob", async () => {
        for (const bytes of [EMPTY, LARGE]) {
          expect(await store.putUnnamed(bodyOf(bytes), bytes.length)).toEqual({ digest: sha256(bytes), sizeBytes: bytes.length });
          expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
        }
        expect((await listDigests(store)).sort()).toEqual([sha256(EMPTY), sha256(LARGE)].sort());
      });

      for (const [what, announced] of Object.entries({ more: LARGE.length + 1, fewer: LARGE.length - 1 })) {
        test(`putUnnamed refuses a body of ${what} bytes than announced and stores nothing`, async () => {
          const err: unknown = await store.putUnnamed(bodyOf(LARGE), announced).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(CtxSyncError);
          expect(await listDigests(store)).toEqual([]);
        });
      }

      test("putUnnamed of bytes stored already keeps one copy and refreshes it for garbage collection", async () => {
        await putBytes(SMALL);
        await harness.backdate(sha256(SMALL), Date.now() - 48 * HOUR_MS);
        expect(await store.putUnnamed(bodyOf(SMALL), SMALL.length)).toEqual({ digest: sha256(SMALL), sizeBytes: SMALL.length });
        const stored = await collect(store.list());
        expect(stored.map((b) => b.digest)).toEqual([sha256(SMALL)]);
        expect(stored[0]!.storedAtMs).toBeGreaterThanOrEqual(Date.now() - CLOCK_SLACK_MS);
      });
    });

    describe("has, delete and list", () => {
      test("has is false before put, true after put and false after delete", async () => {
        const digest = sha256(SMALL);
        expect(await store.has(digest)).toBe(false);
        await putBytes(SMALL);
        expect(await store.has(digest)).toBe(true);
        await store.delete(digest);
        expect(await store.has(digest)).toBe(false);
        await expect(store.get(digest)).rejects.toBeInstanceOf(BlobNotFoundError);
      });

      test("delete of a blob that is not stored succeeds", async () => {
        await expect(store.delete(sha256(SMALL))).resolves.toBe(false);
      });

      test("list yields nothing for an empty store", async () => {
        expect(await listDigests(store)).toEqual([]);
      });

      test("list yields exactly the stored digests, each once", async () => {
        const blobs = [SMALL, EMPTY, JUST_OVER, patternBytes(10, 9)];
        for (const b of blobs) await putBytes(b);
        await store.delete(sha256(JUST_OVER));
        const want = [SMALL, EMPTY, patternBytes(10, 9)].map(sha256).sort();
        expect((await listDigests(store)).sort()).toEqual(want);
      });
    });

    describe("batch methods for small blobs", () => {
      const OTHER = patternBytes(5000, 9);

      test("touchMany answers per digest, in order, and refreshes the stored ones", async () => {
        await putBytes(SMALL);
        await putBytes(ONE_MIB);
        await harness.backdate(sha256(SMALL), Date.now() - 48 * HOUR_MS);
        expect(await store.touchMany([sha256(SMALL), sha256(OTHER), sha256(ONE_MIB), sha256(SMALL)])).toEqual([true, false, true, true]);
        const small = (await collect(store.list())).find((b) => b.digest === sha256(SMALL));
        expect(small?.storedAtMs).toBeGreaterThanOrEqual(Date.now() - CLOCK_SLACK_MS);
        expect(await store.has(sha256(OTHER))).toBe(false);
        expect(await store.touchMany([])).toEqual([]);
      });

      test("putMany stores each blob verified, refusing only those whose bytes do not match", async () => {
        const results = await store.putMany([
          { digest: sha256(SMALL), bytes: SMALL },
          { digest: sha256(SMALL), bytes: OTHER }, // wrong bytes for the digest
          { digest: sha256(EMPTY), bytes: EMPTY },
          { digest: sha256(ONE_MIB), bytes: ONE_MIB },
          { digest: sha256(SMALL), bytes: SMALL }, // twice in one call
        ]);
        expect(results.map((r) => r?.constructor.name ?? null)).toEqual([null, "BlobDigestMismatchError", null, null, null]);
        expect((await listDigests(store)).sort()).toEqual([sha256(SMALL), sha256(EMPTY), sha256(ONE_MIB)].sort());
        for (const b of [SMALL, EMPTY, ONE_MIB]) expect((await readAll(await store.get(sha256(b)))).equals(b)).toBe(true);
        expect(await store.has(sha256(OTHER))).toBe(false);
      });

      test("putMany refuses a blob over 1 MiB and a malformed digest per blob, storing the rest", async () => {
        const results = await store.putMany([
          { digest: sha256(JUST_OVER), bytes: JUST_OVER },
          { digest: "../escape", bytes: SMALL },
          { digest: sha256(SMALL), bytes: SMALL },
        ]);
        expect(results[0]).toBeInstanceOf(InvalidParameterError);
        expect(results[1]).toBeInstanceOf(InvalidParameterError);
        expect(results[2]).toBeNull();
        expect(await listDigests(store)).toEqual([sha256(SMALL)]);
      });

      test("ingestMany stores each blob under the digest of its bytes, in order, refusing only one over 1 MiB", async () => {
        await putBytes(SMALL);
        await harness.backdate(sha256(SMALL), Date.now() - 48 * HOUR_MS);
        const results = await store.ingestMany([SMALL, OTHER, EMPTY, JUST_OVER, ONE_MIB, OTHER]);
        expect(results[0]).toEqual({ digest: sha256(SMALL), sizeBytes: SMALL.length });
        expect(results[1]).toEqual({ digest: sha256(OTHER), sizeBytes: OTHER.length });
        expect(results[2]).toEqual({ digest: sha256(EMPTY), sizeBytes: 0 });
        expect("error" in results[3]! && results[3].error).toBeInstanceOf(InvalidParameterError);
        expect(results[4]).toEqual({ digest: sha256(ONE_MIB), sizeBytes: ONE_MIB.length });
        expect(results[5]).toEqual(results[1]); // twice in one call
        expect((await listDigests(store)).sort()).toEqual([sha256(SMALL), sha256(OTHER), sha256(EMPTY), sha256(ONE_MIB)].sort());
        for (const b of [SMALL, OTHER, EMPTY, ONE_MIB]) expect((await readAll(await store.get(sha256(b)))).equals(b)).toBe(true);
        // A blob stored before is stored again, so it counts as new for garbage collection.
        const small = (await collect(store.list())).find((b) => b.digest === sha256(SMALL));
        expect(small?.storedAtMs).toBeGreaterThanOrEqual(Date.now() - CLOCK_SLACK_MS);
        expect(await store.ingestMany([])).toEqual([]);
      });

      test("getMany reads each blob whole, in order, with a per-digest error for missing, malformed and large ones", async () => {
        await putBytes(SMALL);
        await putBytes(EMPTY);
        await putBytes(JUST_OVER);
        const results = await store.getMany([sha256(SMALL), sha256(OTHER), sha256(EMPTY), "nope", sha256(JUST_OVER), sha256(SMALL)]);
        expect(Buffer.isBuffer(results[0]) && results[0].equals(SMALL)).toBe(true);
        expect(results[1]).toBeInstanceOf(BlobNotFoundError);
        expect(Buffer.isBuffer(results[2]) && results[2].length === 0).toBe(true);
        expect(results[3]).toBeInstanceOf(InvalidParameterError);
        expect(results[4]).toBeInstanceOf(Error);
        expect(Buffer.isBuffer(results[4])).toBe(false);
        expect(Buffer.isBuffer(results[5]) && results[5].equals(SMALL)).toBe(true);
      });
    });

    describe("storedAtMs, touch and conditional delete", () => {
      const storedAt = async (digest: Digest): Promise<number | undefined> =>
        (await collect(store.list())).find((b) => b.digest === digest)?.storedAtMs;
      const longAgo = () => Date.now() - 48 * HOUR_MS;

      test("list yields each blob with the time it was stored", async () => {
        const before = Date.now();
        await putBytes(SMALL);
        const after = Date.now();
        const [blob] = await collect(store.list());
        expect(blob?.digest).toBe(sha256(SMALL));
        expect(blob?.storedAtMs).toBeGreaterThanOrEqual(before - CLOCK_SLACK_MS);
        expect(blob?.storedAtMs).toBeLessThanOrEqual(after + CLOCK_SLACK_MS);
      });

      test("touch refreshes a stored blob's storedAtMs and returns true", async () => {
        await putBytes(SMALL);
        const old = longAgo();
        await harness.backdate(sha256(SMALL), old);
        expect(await storedAt(sha256(SMALL))).toBeLessThan(old + CLOCK_SLACK_MS);
        expect(await store.touch(sha256(SMALL))).toBe(true);
        expect(await storedAt(sha256(SMALL))).toBeGreaterThanOrEqual(Date.now() - CLOCK_SLACK_MS);
      });

      test("touch of a missing blob returns false and stores nothing", async () => {
        expect(await store.touch(sha256(SMALL))).toBe(false);
        expect(await store.has(sha256(SMALL))).toBe(false);
        expect(await listDigests(store)).toEqual([]);
      });

      const restores: Record<string, (bytes: Buffer) => Promise<unknown>> = {
        put: (bytes) => putBytes(bytes),
        ingestFiles: (bytes) => store.ingestFiles([{ path: writeFile("again", bytes), sizeBytes: bytes.length }]),
      };
      for (const [how, storeAgain] of Object.entries(restores)) {
        for (const [what, bytes] of Object.entries({ "a small blob": SMALL, "a large blob": LARGE })) {
          test(`${how} of ${what} that is already stored refreshes its storedAtMs`, async () => {
            await putBytes(bytes);
            await harness.backdate(sha256(bytes), longAgo());
            await storeAgain(bytes);
            expect(await storedAt(sha256(bytes))).toBeGreaterThanOrEqual(Date.now() - CLOCK_SLACK_MS);
            expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
          });
        }
      }

      test("delete returns true when it removed the blob and false when there was none", async () => {
        await putBytes(SMALL);
        expect(await store.delete(sha256(SMALL))).toBe(true);
        expect(await store.delete(sha256(SMALL))).toBe(false);
        expect(await store.delete(sha256(SMALL), { ifStoredBeforeMs: Date.now() })).toBe(false);
      });

      test("delete with ifStoredBeforeMs removes a blob stored before that time", async () => {
        await putBytes(SMALL);
        await harness.backdate(sha256(SMALL), longAgo());
        expect(await store.delete(sha256(SMALL), { ifStoredBeforeMs: Date.now() - HOUR_MS })).toBe(true);
        expect(await store.has(sha256(SMALL))).toBe(false);
        expect(await listDigests(store)).toEqual([]);
      });

      const refreshes: Record<string, (bytes: Buffer) => Promise<unknown>> = {
        "touched": (bytes) => store.touch(sha256(bytes)),
        "stored again": (bytes) => putBytes(bytes),
      };
      for (const [how, refresh] of Object.entries(refreshes)) {
        test(`delete with ifStoredBeforeMs keeps a blob ${how} since that time, intact, and returns false`, async () => {
          await putBytes(SMALL);
          await harness.backdate(sha256(SMALL), longAgo());
          const cutoff = Date.now() - HOUR_MS;
          await refresh(SMALL);
          expect(await store.delete(sha256(SMALL), { ifStoredBeforeMs: cutoff })).toBe(false);
          expect(await listDigests(store)).toEqual([sha256(SMALL)]);
          expect((await readAll(await store.get(sha256(SMALL)))).equals(SMALL)).toBe(true);
        });
      }
    });

    describe("digest validation", () => {
      for (const [what, bad] of Object.entries(INVALID_DIGESTS)) {
        test(`every method refuses ${what} as a digest with InvalidParameterError`, async () => {
          await expect(store.has(bad)).rejects.toBeInstanceOf(InvalidParameterError);
          await expect(store.get(bad)).rejects.toBeInstanceOf(InvalidParameterError);
          await expect(store.put(bad, bodyOf(SMALL), SMALL.length)).rejects.toBeInstanceOf(InvalidParameterError);
          await expect(store.delete(bad)).rejects.toBeInstanceOf(InvalidParameterError);
          await expect(store.touch(bad)).rejects.toBeInstanceOf(InvalidParameterError);
          const target = path.join(work, "target");
          const [fetchErr] = await store.fetchFiles([{ digest: bad, targetPath: target, sizeBytes: SMALL.length }]);
          expect(fetchErr).toBeInstanceOf(InvalidParameterError);
          expect(fs.existsSync(target)).toBe(false);
          expect(await listDigests(store)).toEqual([]);
        });
      }
    });

    describe("ingestFiles", () => {
      test("returns the SHA-256 and size of small, empty and large files in order, and stores them", async () => {
        const files: [string, Buffer][] = [
          ["small.txt", SMALL],
          ["empty", EMPTY],
          ["sub/one-mib.bin", ONE_MIB],
          ["just-over.bin", JUST_OVER],
          ["large.bin", LARGE],
          ["copy-of-small.txt", SMALL],
        ];
        const items = files.map(([rel, bytes]) => ({ path: writeFile(rel, bytes), sizeBytes: bytes.length }));
        const results = await store.ingestFiles(items);
        expect(results).toEqual(files.map(([, bytes]) => ({ digest: sha256(bytes), sizeBytes: bytes.length })));
        for (const [, bytes] of files) {
          expect((await readAll(await store.get(sha256(bytes)))).equals(bytes)).toBe(true);
        }
        expect((await listDigests(store)).sort()).toEqual([...new Set(files.map(([, b]) => sha256(b)))].sort());
      });

      test("reports a missing file as an ENOENT result for that item and still stores the others", async () => {
        const a = writeFile("a.txt", SMALL);
        const b = writeFile("b.bin", LARGE);
        const results = await store.ingestFiles([
          { path: a, sizeBytes: SMALL.length },
          { path: path.join(work, "gone.txt"), sizeBytes: 3 },
          { path: b, sizeBytes: LARGE.length },
        ]);
        expect(results).toHaveLength(3);
        expect(okDigest(results[0]).digest).toBe(sha256(SMALL));
        const failed = results[1];
        expect(failed && "error" in failed ? (failed.error as NodeJS.ErrnoException).code : "no error").toBe("ENOENT");
        expect(okDigest(results[2]).digest).toBe(sha256(LARGE));
        expect(await store.has(sha256(LARGE))).toBe(true);
      });

      const linkTargets: Record<string, Buffer> = { "a small file": SMALL, "a large file": LARGE };
      for (const [what, secret] of Object.entries(linkTargets)) {
        test(`does not follow a symlink to ${what}: the item is an error and the target is not stored`, async () => {
          const outside = writeFile("outside/secret", secret);
          const link = path.join(work, "link");
          fs.symlinkSync(outside, link);
          const results = await store.ingestFiles([{ path: link, sizeBytes: secret.length }]);
          expect(results).toHaveLength(1);
          expect(results[0] && "error" in results[0] ? results[0].error : undefined).toBeInstanceOf(Error);
          expect(await store.has(sha256(secret))).toBe(false);
        });
      }

      test("reports progress that adds up to the bytes ingested", async () => {
        const files = [SMALL, EMPTY, LARGE, JUST_OVER];
        const items = files.map((bytes, i) => ({ path: writeFile(`f${i}`, bytes), sizeBytes: bytes.length }));
        let total = 0;
        await store.ingestFiles(items, (n) => (total += n));
        expect(total).toBe(files.reduce((n, b) => n + b.length, 0));
      });

      const resized: Record<string, [Buffer, number]> = {
        "a small file that grew since the scan": [SMALL, SMALL.length - 4],
        "a small file that shrank since the scan": [SMALL, SMALL.length + 4],
        "a large file that grew since the scan": [LARGE, LARGE.length - 4],
      };
      for (const [what, [bytes, scannedSize]] of Object.entries(resized)) {
        test(`stores ${what} as it is now and reports its actual size`, async () => {
          const p = writeFile("changing", bytes);
          const results = await store.ingestFiles([{ path: p, sizeBytes: scannedSize }]);
          expect(results).toEqual([{ digest: sha256(bytes), sizeBytes: bytes.length }]);
          expect(await store.has(sha256(bytes))).toBe(true);
        });
      }
    });

    describe("fetchFiles", () => {
      test("writes the exact bytes of each blob to its target and returns null for each", async () => {
        const blobs = [SMALL, EMPTY, ONE_MIB, LARGE];
        for (const b of blobs) await putBytes(b);
        const items = blobs.map((b, i) => ({ digest: sha256(b), targetPath: path.join(work, `out${i}`), sizeBytes: b.length }));
        expect(await store.fetchFiles(items)).toEqual([null, null, null, null]);
        items.forEach((item, i) => expect(fs.readFileSync(item.targetPath).equals(blobs[i]!)).toBe(true));
      });

      test("returns BlobNotFoundError for a missing blob, leaves no file at its target and fetches the others", async () => {
        await putBytes(SMALL);
        const missing = patternBytes(100, 5);
        const items = [
          { digest: sha256(missing), targetPath: path.join(work, "missing"), sizeBytes: missing.length },
          { digest: sha256(SMALL), targetPath: path.join(work, "present"), sizeBytes: SMALL.length },
        ];
        const [missingErr, presentErr] = await store.fetchFiles(items);
        expect(missingErr).toBeInstanceOf(BlobNotFoundError);
        expect(fs.existsSync(items[0]!.targetPath)).toBe(false);
        expect(presentErr).toBeNull();
        expect(fs.readFileSync(items[1]!.targetPath).equals(SMALL)).toBe(true);
      });

      test("returns an error and leaves an existing file at the target untouched", async () => {
        await putBytes(SMALL);
        const target = writeFile("already-there", Buffer.from("keep me"));
        const [err] = await store.fetchFiles([{ digest: sha256(SMALL), targetPath: target, sizeBytes: SMALL.length }]);
        expect(err).toBeInstanceOf(Error);
        expect(fs.readFileSync(target, "utf8")).toBe("keep me");
      });

      test("reports progress that adds up to the bytes fetched", async () => {
        const blobs = [SMALL, EMPTY, LARGE];
        for (const b of blobs) await putBytes(b);
        let total = 0;
        await store.fetchFiles(
          blobs.map((b, i) => ({ digest: sha256(b), targetPath: path.join(work, `p${i}`), sizeBytes: b.length })),
          (n) => (total += n),
        );
        expect(total).toBe(blobs.reduce((n, b) => n + b.length, 0));
      });
    });

    describe("flush", () => {
      test("resolves after writes, and on an empty store", async () => {
        await expect(store.flush()).resolves.toBeUndefined();
        await putBytes(SMALL);
        await store.ingestFiles([{ path: writeFile("f", LARGE), sizeBytes: LARGE.length }]);
        await expect(store.flush()).resolves.toBeUndefined();
      });
    });

    // Runs after collection, when every test name has been seen: a misspelt gap would silently do nothing.
    it("names only existing tests in knownGaps", () => {
      expect(Object.keys(opts.knownGaps ?? {}).filter((t) => !usedGaps.has(t))).toEqual([]);
    });
  });
}
