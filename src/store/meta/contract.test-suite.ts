import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CommitConflictError,
  ContextNameConflictError,
  ContextNotFoundError,
  InvalidParameterError,
  PathAlreadyBoundError,
} from "../../errors/index.js";
import type {
  ApiKeyRecord,
  BaseEntry,
  CommitRequest,
  EpochMs,
  FileChange,
  FileMeta,
  MetaStore,
  MountRecord,
  SessionRecord,
  SizedDigest,
  TaskRecord,
  TaskStatus,
} from "../meta-store.js";
import { newId } from "../new-id.js";

/** A fresh, empty store and the function that removes everything it made. */
export interface MetaStoreHarness {
  store: MetaStore;
  cleanup(): Promise<void>;
}

const T0: EpochMs = 1_700_000_000_000;
const DA = "a".repeat(64);
const DB = "b".repeat(64);
const DC = "c".repeat(64);

function meta(digest: string, sizeBytes = 10): FileMeta {
  return { type: "file", digest, sizeBytes, mode: 0o644, mtimeMs: T0 - 1000, linkTarget: null };
}
const LINK: FileMeta = { type: "symlink", digest: null, sizeBytes: 5, mode: 0o777, mtimeMs: T0 - 1000, linkTarget: "a.txt" };

function put(key: string, m: FileMeta = meta(DA), expiresAtMs: EpochMs | null = null): FileChange {
  return { kind: "put", key, meta: m, expiresAtMs };
}
function sized(digest: string, sizeBytes = 10): SizedDigest {
  return { digest, sizeBytes };
}
function del(key: string): FileChange {
  return { kind: "delete", key };
}
function baseEntry(key: string, digest = DA): BaseEntry {
  return { key, ...meta(digest) };
}

/**
 * The behaviour every MetaStore must have (see meta-store.ts). Each test gets a fresh store from `makeStore`.
 */
export function runMetaStoreContract(name: string, makeStore: () => Promise<MetaStoreHarness>): void {
  describe(`MetaStore contract: ${name}`, () => {
    let harness: MetaStoreHarness;
    let store: MetaStore;
    let tenant: string;
    let otherTenant: string;

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
      tenant = await store.ensureTenant("acme");
      otherTenant = await store.ensureTenant("globex");
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    const session = (over: Partial<SessionRecord> = {}): SessionRecord => ({
      id: newId("sess"),
      tenantId: tenant,
      status: "running",
      root: "/",
      labels: { team: "infra" },
      createdAtMs: T0,
      agent: "local",
      lastHeartbeatMs: null,
      ...over,
    });
    const mount = (sessionId: string, contextId: string, path: string, bindTimeMs = T0): MountRecord => ({
      sessionId,
      contextId,
      path,
      policyJson: '{"uploadPolicy":{"autoUpload":true}}',
      waitForCompletion: true,
      bindTimeMs,
    });
    const commit = (contextId: string, expectedHead: number, changes: FileChange[], over: Partial<CommitRequest> = {}) =>
      store.commitGeneration({ contextId, expectedHead, sessionId: null, timeMs: T0, changes, ...over });
    const liveKeys = async (contextId: string, prefix = "/", nowMs = T0): Promise<string[]> =>
      (await store.listLiveFiles(contextId, prefix, nowMs)).map((f) => f.key);

    describe("tenants", () => {
      it("ensureTenant returns the same id for the same name every time", async () => {
        expect(await store.ensureTenant("acme")).toBe(tenant);
        expect(await store.ensureTenant("acme")).toBe(tenant);
      });

      it("ensureTenant gives different names different ids", () => {
        expect(otherTenant).not.toBe(tenant);
      });
    });

    describe("contexts", () => {
      it("createContext returns the new context, and getContext and getContextByName find it", async () => {
        const ctx = await store.createContext(tenant, "notes", T0);
        expect(ctx).toMatchObject({ tenantId: tenant, name: "notes", createdAtMs: T0, lastUsedAtMs: T0, state: "available", headGeneration: 0 });
        expect(await store.getContext(tenant, ctx.id)).toEqual(ctx);
        expect(await store.getContextByName(tenant, "notes")).toEqual(ctx);
        expect(await store.getContextByName(tenant, "other")).toBeUndefined();
      });

      it("createContext refuses a name the tenant already uses with ContextNameConflictError", async () => {
        await store.createContext(tenant, "notes", T0);
        await expect(store.createContext(tenant, "notes", T0 + 1)).rejects.toBeInstanceOf(ContextNameConflictError);
        expect((await store.listContexts(tenant, { limit: 10 })).totalCount).toBe(1);
      });

      it("createContext allows a name that only another tenant uses", async () => {
        await store.createContext(otherTenant, "notes", T0);
        await expect(store.createContext(tenant, "notes", T0)).resolves.toMatchObject({ name: "notes", tenantId: tenant });
      });

      it("renameContext changes the name getContextByName finds", async () => {
        const ctx = await store.createContext(tenant, "old", T0);
        await store.renameContext(tenant, ctx.id, "new");
        expect(await store.getContextByName(tenant, "old")).toBeUndefined();
        expect(await store.getContextByName(tenant, "new")).toMatchObject({ id: ctx.id, name: "new" });
      });

      it("renameContext to its own name succeeds", async () => {
        const ctx = await store.createContext(tenant, "same", T0);
        await store.renameContext(tenant, ctx.id, "same");
        expect(await store.getContext(tenant, ctx.id)).toMatchObject({ name: "same" });
      });

      it("renameContext to a name in use rejects with ContextNameConflictError and keeps both names", async () => {
        const a = await store.createContext(tenant, "a", T0);
        await store.createContext(tenant, "b", T0);
        await expect(store.renameContext(tenant, a.id, "b")).rejects.toBeInstanceOf(ContextNameConflictError);
        expect(await store.getContext(tenant, a.id)).toMatchObject({ name: "a" });
      });

      it("deleteContext removes the context with its files and history, and frees its name", async () => {
        const ctx = await store.createContext(tenant, "doomed", T0);
        await commit(ctx.id, 0, [put("/a"), put("/b")]);
        expect(await store.deleteContext(tenant, ctx.id)).toBe(true);
        expect(await store.getContext(tenant, ctx.id)).toBeUndefined();
        expect(await store.listLiveFiles(ctx.id, "/", T0)).toEqual([]);
        expect(await store.getLiveFile(ctx.id, "/a", T0)).toBeUndefined();
        expect(await store.listGenerations(ctx.id, 10)).toEqual([]);
        expect(await store.deleteContext(tenant, ctx.id)).toBe(false);
        await expect(store.createContext(tenant, "doomed", T0)).resolves.toMatchObject({ name: "doomed" });
      });

      it("touchContext updates lastUsedAtMs", async () => {
        const ctx = await store.createContext(tenant, "t", T0);
        await store.touchContext(ctx.id, T0 + 5000);
        expect(await store.getContext(tenant, ctx.id)).toMatchObject({ createdAtMs: T0, lastUsedAtMs: T0 + 5000 });
      });

      describe("tenant isolation", () => {
        const strangers: Record<string, (s: { foreignId: string }) => string> = {
          "an id that does not exist": () => newId("ctx"),
          "another tenant's context id": (s) => s.foreignId,
        };
        for (const [what, idOf] of Object.entries(strangers)) {
          it(`treats ${what} as missing in get, rename, delete and list, and leaves the owner's context alone`, async () => {
            const foreign = await store.createContext(otherTenant, "theirs", T0);
            await commit(foreign.id, 0, [put("/x")]);
            const id = idOf({ foreignId: foreign.id });

            expect(await store.getContext(tenant, id)).toBeUndefined();
            expect(await store.getContextByName(tenant, "theirs")).toBeUndefined();
            await expect(store.renameContext(tenant, id, "mine")).rejects.toBeInstanceOf(ContextNotFoundError);
            expect(await store.deleteContext(tenant, id)).toBe(false);
            expect(await store.listContexts(tenant, { limit: 10 })).toEqual({ items: [], nextToken: undefined, totalCount: 0 });

            expect(await store.getContext(otherTenant, foreign.id)).toMatchObject({ name: "theirs", headGeneration: 1 });
            expect(await liveKeys(foreign.id)).toEqual(["/x"]);
          });
        }
      });

      describe("listContexts", () => {
        const createMany = async (n: number, timeOf: (i: number) => EpochMs): Promise<string[]> => {
          const names: string[] = [];
          for (let i = 0; i < n; i++) {
            // Names sort against creation order, so a listing by name cannot pass by accident.
            const name = `ctx-${String(n - i).padStart(3, "0")}`;
            await store.createContext(tenant, name, timeOf(i));
            names.push(name);
          }
          return names;
        };
        const listAll = async (limit: number) => {
          const pages: { names: string[]; totalCount: number; hasNext: boolean }[] = [];
          let nextToken: string | undefined;
          do {
            const page = await store.listContexts(tenant, nextToken === undefined ? { limit } : { limit, nextToken });
            pages.push({ names: page.items.map((c) => c.name), totalCount: page.totalCount, hasNext: page.nextToken !== undefined });
            nextToken = page.nextToken;
          } while (nextToken !== undefined && pages.length < 100);
          return pages;
        };

        const cases = [
          { name: "pages through contexts created in the same millisecond in creation order", n: 25, limit: 7, timeOf: () => T0 },
          { name: "pages through contexts created in successive milliseconds in creation order", n: 10, limit: 3, timeOf: (i: number) => T0 + i },
          { name: "returns one page without a nextToken when the limit equals the count", n: 7, limit: 7, timeOf: () => T0 },
        ];
        for (const c of cases) {
          it(c.name, async () => {
            const names = await createMany(c.n, c.timeOf);
            const pages = await listAll(c.limit);
            expect(pages.flatMap((p) => p.names)).toEqual(names);
            expect(pages.map((p) => p.names.length)).toEqual(
              Array.from({ length: Math.ceil(c.n / c.limit) }, (_, i) => Math.min(c.limit, c.n - i * c.limit)),
            );
            expect(pages.map((p) => p.hasNext)).toEqual(pages.map((_, i) => i < pages.length - 1));
            for (const p of pages) expect(p.totalCount).toBe(c.n);
          });
        }

        it("returns an empty page without a nextToken for a tenant with no contexts", async () => {
          expect(await store.listContexts(tenant, { limit: 5 })).toEqual({ items: [], nextToken: undefined, totalCount: 0 });
        });

        const badTokens: Record<string, string> = {
          "a word": "not-a-token",
          "base64 of a short id": Buffer.from("ctx-123").toString("base64url"),
          "base64 of a session id": Buffer.from(newId("sess")).toString("base64url"),
          "characters outside base64": "%%%***",
        };
        for (const [what, token] of Object.entries(badTokens)) {
          it(`rejects ${what} as nextToken with InvalidParameterError`, async () => {
            await store.createContext(tenant, "one", T0);
            await expect(store.listContexts(tenant, { limit: 5, nextToken: token })).rejects.toBeInstanceOf(
              InvalidParameterError,
            );
          });
        }
      });
    });

    describe("commitGeneration and live files", () => {
      let ctx: string;
      beforeEach(async () => {
        ctx = (await store.createContext(tenant, "work", T0)).id;
      });

      it("commits the first changes as generation 1 and lists them as live files", async () => {
        const sess = session();
        await store.createSession(sess, []);
        const gen = await commit(ctx, 0, [put("/w/a.txt", meta(DA, 3)), put("/w/link", LINK)], { sessionId: sess.id, timeMs: T0 + 10 });
        expect(gen).toBe(1);
        expect(await store.getContext(tenant, ctx)).toMatchObject({ headGeneration: 1, lastUsedAtMs: T0 + 10 });
        expect(await store.listLiveFiles(ctx, "/", T0 + 10)).toEqual([
          { key: "/w/a.txt", ...meta(DA, 3), generation: 1, writtenAtMs: T0 + 10, expiresAtMs: null },
          { key: "/w/link", ...LINK, generation: 1, writtenAtMs: T0 + 10, expiresAtMs: null },
        ]);
        expect(await store.getLiveFile(ctx, "/w/a.txt", T0 + 10)).toMatchObject({ digest: DA, generation: 1 });
        expect(await store.listGenerations(ctx, 10)).toEqual([
          { contextId: ctx, generation: 1, timeMs: T0 + 10, sessionId: sess.id, added: 2, changed: 0, removed: 0 },
        ]);
      });

      it("counts adds, changes and removals and keeps untouched files at their generation", async () => {
        await commit(ctx, 0, [put("/keep"), put("/change"), put("/remove")]);
        const gen = await commit(ctx, 1, [put("/change", meta(DB)), del("/remove"), put("/new", meta(DC)), del("/never-existed")]);
        expect(gen).toBe(2);
        const live = await store.listLiveFiles(ctx, "/", T0);
        expect(live.map((f) => [f.key, f.digest, f.generation])).toEqual([
          ["/change", DB, 2],
          ["/keep", DA, 1],
          ["/new", DC, 2],
        ]);
        expect(await store.getLiveFile(ctx, "/remove", T0)).toBeUndefined();
        expect((await store.listGenerations(ctx, 1))[0]).toMatchObject({ generation: 2, added: 1, changed: 1, removed: 1 });
      });

      const staleHeads: Record<string, number> = { "behind the head": 0, "ahead of the head": 5 };
      for (const [what, expectedHead] of Object.entries(staleHeads)) {
        it(`rejects an expected head ${what} with CommitConflictError and writes neither files nor base`, async () => {
          const sess = session();
          await store.createSession(sess, []);
          await commit(ctx, 0, [put("/a")]);
          await store.updateBase({ sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/old")], deletes: [] });

          const err = await commit(ctx, expectedHead, [put("/a", meta(DB)), put("/b"), del("/a")], {
            sessionId: sess.id,
            base: { sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/new")], deletes: ["/w/old"] },
          }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(CommitConflictError);

          expect(await store.getContext(tenant, ctx)).toMatchObject({ headGeneration: 1 });
          expect((await store.listLiveFiles(ctx, "/", T0)).map((f) => [f.key, f.digest])).toEqual([["/a", DA]]);
          expect((await store.listGenerations(ctx, 10)).map((g) => g.generation)).toEqual([1]);
          expect([...(await store.getBase(sess.id, "/w")).keys()]).toEqual(["/w/old"]);
        });
      }

      it("with no changes writes no generation, returns the head and still applies the base", async () => {
        const sess = session();
        await store.createSession(sess, []);
        await commit(ctx, 0, [put("/a")]);
        const head = await commit(ctx, 1, [], {
          base: { sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/a")], deletes: [] },
        });
        expect(head).toBe(1);
        expect(await store.getContext(tenant, ctx)).toMatchObject({ headGeneration: 1 });
        expect((await store.listGenerations(ctx, 10)).map((g) => g.generation)).toEqual([1]);
        expect(await store.getBase(sess.id, "/w")).toEqual(new Map([["/w/a", baseEntry("/w/a")]]));
      });

      it("applies the base together with the commit", async () => {
        const sess = session();
        await store.createSession(sess, []);
        await store.updateBase({ sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/gone")], deletes: [] });
        await commit(ctx, 0, [put("/w/a")], {
          base: { sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/a")], deletes: ["/w/gone"] },
        });
        expect([...(await store.getBase(sess.id, "/w")).keys()]).toEqual(["/w/a"]);
      });

      describe("listLiveFiles by prefix", () => {
        const KEYS = ["/a", "/a/x", "/a/y/z", "/a.txt", "/a-b", "/a0", "/ab/x", "/b"];
        const cases: Record<string, string[]> = {
          "/": [...KEYS].sort(),
          "/a": ["/a", "/a/x", "/a/y/z"],
          "/a/y": ["/a/y/z"],
          "/a/y/z": ["/a/y/z"],
          "/ab": ["/ab/x"],
          "/a.txt": ["/a.txt"],
          "/c": [],
        };
        for (const [prefix, want] of Object.entries(cases)) {
          it(`prefix ${prefix} lists ${want.length === 0 ? "nothing" : want.join(", ")}`, async () => {
            await commit(ctx, 0, KEYS.map((k) => put(k)));
            expect(await liveKeys(ctx, prefix)).toEqual(want);
          });
        }
      });

      describe("expiry", () => {
        const EXPIRES = T0 + 100;
        const visibility: Record<string, { nowMs: EpochMs; live: boolean }> = {
          "before its expiry time": { nowMs: EXPIRES - 1, live: true },
          "at its expiry time": { nowMs: EXPIRES, live: false },
          "after its expiry time": { nowMs: EXPIRES + 1, live: false },
        };
        for (const [when, { nowMs, live }] of Object.entries(visibility)) {
          it(`a file is ${live ? "live" : "not live"} ${when}`, async () => {
            await commit(ctx, 0, [put("/e", meta(DA), EXPIRES), put("/forever")]);
            expect(await liveKeys(ctx, "/", nowMs)).toEqual(live ? ["/e", "/forever"] : ["/forever"]);
            expect(await store.getLiveFile(ctx, "/e", nowMs)).toEqual(
              live ? expect.objectContaining({ key: "/e", expiresAtMs: EXPIRES }) : undefined,
            );
          });
        }

        it("rewriting an expired file counts as an add, and deleting one counts as nothing", async () => {
          await commit(ctx, 0, [put("/e1", meta(DA), EXPIRES), put("/e2", meta(DA), EXPIRES)]);
          await commit(ctx, 1, [put("/e1", meta(DB)), del("/e2")], { timeMs: EXPIRES });
          expect((await store.listGenerations(ctx, 1))[0]).toMatchObject({ generation: 2, added: 1, changed: 0, removed: 0 });
          expect(await store.listLiveFiles(ctx, "/", EXPIRES + 1000)).toEqual([
            expect.objectContaining({ key: "/e1", digest: DB, generation: 2, expiresAtMs: null }),
          ]);
        });
      });

      it("listGenerations returns the newest generations first, up to the limit", async () => {
        for (let head = 0; head < 4; head++) await commit(ctx, head, [put(`/f${head}`)], { timeMs: T0 + head });
        expect((await store.listGenerations(ctx, 3)).map((g) => [g.generation, g.timeMs])).toEqual([
          [4, T0 + 3],
          [3, T0 + 2],
          [2, T0 + 1],
        ]);
      });
    });

    describe("history", () => {
      let ctx: string;
      beforeEach(async () => {
        ctx = (await store.createContext(tenant, "hist", T0)).id;
      });
      const filesAt = async (generation: number, prefix = "/"): Promise<[string, string | null][]> =>
        (await store.listFilesAtGeneration(ctx, generation, prefix)).map((f) => [f.key, f.digest]);
      /** Generations 1–3 at T0, T0+10, T0+20: writes, a change and a removal, in two folders. */
      const threeGenerations = async (): Promise<void> => {
        await commit(ctx, 0, [put("/w/a"), put("/w/b"), put("/x/c")], { timeMs: T0 });
        await commit(ctx, 1, [put("/w/a", meta(DB)), del("/w/b")], { timeMs: T0 + 10 });
        await commit(ctx, 2, [put("/w/d", meta(DC)), del("/x/c")], { timeMs: T0 + 20 });
      };

      it("getGeneration returns a generation's record, and undefined for one that never existed", async () => {
        await threeGenerations();
        expect(await store.getGeneration(ctx, 2)).toEqual({
          contextId: ctx, generation: 2, timeMs: T0 + 10, sessionId: null, added: 0, changed: 1, removed: 1,
        });
        expect(await store.getGeneration(ctx, 0)).toBeUndefined();
        expect(await store.getGeneration(ctx, 4)).toBeUndefined();
        expect(await store.getGeneration(newId("ctx"), 1)).toBeUndefined();
      });

      const atGeneration: { generation: number; prefix: string; want: [string, string][] }[] = [
        { generation: 1, prefix: "/", want: [["/w/a", DA], ["/w/b", DA], ["/x/c", DA]] },
        { generation: 2, prefix: "/", want: [["/w/a", DB], ["/x/c", DA]] },
        { generation: 3, prefix: "/", want: [["/w/a", DB], ["/w/d", DC]] },
        { generation: 1, prefix: "/w", want: [["/w/a", DA], ["/w/b", DA]] },
        { generation: 2, prefix: "/w/b", want: [] },
        { generation: 1, prefix: "/w/b", want: [["/w/b", DA]] },
        { generation: 3, prefix: "/x", want: [] },
      ];
      for (const c of atGeneration) {
        it(`listFilesAtGeneration ${c.generation} under ${c.prefix} lists the versions the context held then`, async () => {
          await threeGenerations();
          expect(await filesAt(c.generation, c.prefix)).toEqual(c.want);
        });
      }

      it("listFilesAtGeneration returns each version with the generation that wrote it, expired or not", async () => {
        await commit(ctx, 0, [put("/e", meta(DA), T0 + 5)], { timeMs: T0 });
        await commit(ctx, 1, [put("/f", meta(DB))], { timeMs: T0 + 10 });
        expect(await store.listFilesAtGeneration(ctx, 2, "/")).toEqual([
          { key: "/e", ...meta(DA), generation: 1, writtenAtMs: T0, expiresAtMs: T0 + 5 },
          { key: "/f", ...meta(DB), generation: 2, writtenAtMs: T0 + 10, expiresAtMs: null },
        ]);
      });

      describe("pruneHistory", () => {
        const generations = async (id = ctx): Promise<number[]> =>
          (await store.listGenerations(id, 100)).map((g) => g.generation);

        it("keeps the generation that was head at the cutoff and everything after it, with their files", async () => {
          await threeGenerations();
          const before = await filesAt(2);
          // Generation 2 (T0+10) was head at T0+15: it stays restorable; generation 1 goes, with the two
          // versions generation 2 replaced or deleted.
          expect(await store.pruneHistory(ctx, T0 + 15)).toEqual({ versions: 2, generations: 1 });
          expect(await generations()).toEqual([3, 2]);
          expect(await filesAt(2)).toEqual(before);
          expect(await filesAt(3)).toEqual([["/w/a", DB], ["/w/d", DC]]);
        });

        it("keeps only the head and the live files when every generation is older than the cutoff", async () => {
          await threeGenerations();
          expect(await store.pruneHistory(ctx, T0 + 1000)).toEqual({ versions: 3, generations: 2 });
          expect(await generations()).toEqual([3]);
          expect(await liveKeys(ctx)).toEqual(["/w/a", "/w/d"]);
          expect(await filesAt(3)).toEqual([["/w/a", DB], ["/w/d", DC]]);
        });

        it("removes nothing when no generation is older than the cutoff, or when run again", async () => {
          await threeGenerations();
          expect(await store.pruneHistory(ctx, T0)).toEqual({ versions: 0, generations: 0 });
          expect(await generations()).toEqual([3, 2, 1]);
          await store.pruneHistory(ctx, T0 + 15);
          expect(await store.pruneHistory(ctx, T0 + 15)).toEqual({ versions: 0, generations: 0 });
        });

        it("never removes a live version, however old", async () => {
          await commit(ctx, 0, [put("/old")], { timeMs: T0 });
          for (let head = 1; head < 5; head++) await commit(ctx, head, [put("/churn", meta(head % 2 ? DB : DC))], { timeMs: T0 + head });
          await store.pruneHistory(ctx, T0 + 1000);
          expect(await store.listLiveFiles(ctx, "/", T0)).toEqual([
            expect.objectContaining({ key: "/churn", digest: DC, generation: 5 }),
            expect.objectContaining({ key: "/old", digest: DA, generation: 1 }),
          ]);
        });

        it("prunes only the named context, and every context of every tenant with null", async () => {
          const other = (await store.createContext(otherTenant, "theirs", T0)).id;
          await threeGenerations();
          await commit(other, 0, [put("/a")], { timeMs: T0 });
          await commit(other, 1, [put("/a", meta(DB))], { timeMs: T0 + 10 });

          await store.pruneHistory(other, T0 + 1000);
          expect(await generations(other)).toEqual([2]);
          expect(await generations()).toEqual([3, 2, 1]);

          expect(await store.pruneHistory(null, T0 + 1000)).toEqual({ versions: 3, generations: 2 });
          expect(await generations()).toEqual([3]);
        });
      });

      describe("deleteExpired", () => {
        const EXP = T0 + 100;

        it("removes expired live versions for good and leaves the live view as it showed them", async () => {
          await commit(ctx, 0, [put("/e", meta(DA), EXP), put("/later", meta(DB), EXP + 1), put("/forever", meta(DC))]);
          expect(await store.deleteExpired(EXP)).toEqual({ liveVersions: 1, historicalVersions: 0 });
          expect(await liveKeys(ctx, "/", EXP)).toEqual(["/forever", "/later"]);
          expect(await liveKeys(ctx, "/", T0)).toEqual(["/forever", "/later"]);
          expect(await store.getLiveFile(ctx, "/e", T0)).toBeUndefined();
          expect(await filesAt(1)).toEqual([["/forever", DC], ["/later", DB]]);
        });

        it("removes expired versions of the history too", async () => {
          await commit(ctx, 0, [put("/e", meta(DA), EXP)], { timeMs: T0 });
          await commit(ctx, 1, [put("/e", meta(DB))], { timeMs: T0 + 10 });
          expect(await store.deleteExpired(EXP + 5)).toEqual({ liveVersions: 0, historicalVersions: 1 });
          expect(await filesAt(1)).toEqual([]);
          expect(await filesAt(2)).toEqual([["/e", DB]]);
        });

        it("removes nothing that expires after now or never", async () => {
          await commit(ctx, 0, [put("/e", meta(DA), EXP), put("/forever")]);
          expect(await store.deleteExpired(EXP - 1)).toEqual({ liveVersions: 0, historicalVersions: 0 });
          expect(await liveKeys(ctx, "/", EXP - 1)).toEqual(["/e", "/forever"]);
        });

        it("leaves a removed key free: writing it again is an add, deleting it changes nothing", async () => {
          await commit(ctx, 0, [put("/e1", meta(DA), EXP), put("/e2", meta(DA), EXP)]);
          await store.deleteExpired(EXP);
          expect(await commit(ctx, 1, [put("/e1", meta(DB)), del("/e2")], { timeMs: EXP })).toBe(2);
          expect((await store.listGenerations(ctx, 1))[0]).toMatchObject({ generation: 2, added: 1, changed: 0, removed: 0 });
          expect(await filesAt(2)).toEqual([["/e1", DB]]);
        });
      });

      describe("listReferencedDigests", () => {
        it("is empty for a store without files", async () => {
          expect(await store.listReferencedDigests()).toEqual(new Set());
        });

        it("holds the digests of live and historical versions of every tenant's contexts, and no symlink's", async () => {
          const other = (await store.createContext(otherTenant, "theirs", T0)).id;
          await commit(ctx, 0, [put("/a", meta(DA)), put("/l", LINK)]);
          await commit(ctx, 1, [put("/a", meta(DB))]);
          await commit(other, 0, [put("/c", meta(DC))]);
          expect(await store.listReferencedDigests()).toEqual(new Set([DA, DB, DC]));
        });

        it("drops digests whose versions were pruned, expired or deleted with their context", async () => {
          await commit(ctx, 0, [put("/a", meta(DA)), put("/e", meta(DC), T0 + 5)], { timeMs: T0 });
          await commit(ctx, 1, [put("/a", meta(DB))], { timeMs: T0 + 10 });
          await store.pruneHistory(ctx, T0 + 1000);
          await store.deleteExpired(T0 + 5);
          expect(await store.listReferencedDigests()).toEqual(new Set([DB]));
          await store.deleteContext(tenant, ctx);
          expect(await store.listReferencedDigests()).toEqual(new Set());
        });
      });
    });

    describe("sessions and mounts", () => {
      let ctxA: string;
      let ctxB: string;
      beforeEach(async () => {
        ctxA = (await store.createContext(tenant, "a", T0)).id;
        ctxB = (await store.createContext(tenant, "b", T0)).id;
      });

      it("createSession stores the session and its mounts", async () => {
        const sess = session({ labels: { team: "infra", "k=v": "ünïcode" } });
        const mounts = [mount(sess.id, ctxA, "/home/a", T0), mount(sess.id, ctxB, "/home/b", T0 + 1)];
        await store.createSession(sess, mounts);
        expect(await store.getSession(tenant, sess.id)).toEqual(sess);
        expect(await store.listSessions(tenant)).toEqual([sess]);
        expect(await store.listMounts(sess.id)).toEqual(mounts);
      });

      it("contextsInUse names the contexts a running or releasing session mounts, and no others", async () => {
        const ctxC = (await store.createContext(tenant, "c", T0)).id;
        const running = session();
        await store.createSession(running, [mount(running.id, ctxA, "/home/a", T0)]);
        const releasing = session();
        await store.createSession(releasing, [mount(releasing.id, ctxB, "/home/b", T0)]);
        await store.setSessionStatus(releasing.id, "releasing");
        const released = session();
        await store.createSession(released, [mount(released.id, ctxC, "/home/c", T0)]);
        await store.setSessionStatus(released.id, "released");
        expect(await store.contextsInUse([ctxA, ctxB, ctxC, newId("ctx")])).toEqual(new Set([ctxA, ctxB]));
        expect(await store.contextsInUse([ctxC])).toEqual(new Set());
        expect(await store.contextsInUse([])).toEqual(new Set());
        await store.setSessionStatus(running.id, "released");
        expect(await store.contextsInUse([ctxA, ctxB])).toEqual(new Set([ctxB]));
      });

      it("nextAgentEpoch numbers a session's agent attaches 1, 2, …; agentEpoch reads the latest", async () => {
        const sess = session();
        await store.createSession(sess, []);
        expect(await store.agentEpoch(sess.id)).toBe(0);
        expect(await store.nextAgentEpoch(sess.id)).toBe(1);
        expect(await store.nextAgentEpoch(sess.id)).toBe(2);
        expect(await store.agentEpoch(sess.id)).toBe(2);
        expect(await store.agentEpoch(newId("sess"))).toBeUndefined();
        await expect(store.nextAgentEpoch(newId("sess"))).rejects.toMatchObject({ code: "SessionNotFound" });
      });

      it("getSession and listSessions do not show another tenant's sessions", async () => {
        const theirs = session({ tenantId: otherTenant });
        await store.createSession(theirs, []);
        expect(await store.getSession(tenant, theirs.id)).toBeUndefined();
        expect(await store.listSessions(tenant)).toEqual([]);
        expect(await store.getSession(otherTenant, theirs.id)).toEqual(theirs);
      });

      it("createSession with the same mount path twice rejects with PathAlreadyBoundError and creates no session", async () => {
        const sess = session();
        await expect(
          store.createSession(sess, [mount(sess.id, ctxA, "/home/a"), mount(sess.id, ctxB, "/home/a")]),
        ).rejects.toBeInstanceOf(PathAlreadyBoundError);
        expect(await store.getSession(tenant, sess.id)).toBeUndefined();
        expect(await store.listSessions(tenant)).toEqual([]);
        expect(await store.listMounts(sess.id)).toEqual([]);
      });

      it("addMount adds a mount, and a second mount at the same path rejects with PathAlreadyBoundError", async () => {
        const sess = session();
        const first = mount(sess.id, ctxA, "/home/a", T0);
        await store.createSession(sess, [first]);
        const second = { ...mount(sess.id, ctxB, "/home/b", T0 + 5), waitForCompletion: false };
        await store.addMount(second);
        const err: unknown = await store.addMount(mount(sess.id, ctxB, "/home/a", T0 + 6)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PathAlreadyBoundError);
        expect(err).toMatchObject({ path: "/home/a" });
        expect(await store.listMounts(sess.id)).toEqual([first, second]);
      });

      it("setSessionStatus changes the status getSession reports", async () => {
        const sess = session();
        await store.createSession(sess, []);
        await store.setSessionStatus(sess.id, "released");
        expect(await store.getSession(tenant, sess.id)).toMatchObject({ status: "released" });
      });
    });

    describe("bases", () => {
      let sess: SessionRecord;
      beforeEach(async () => {
        sess = session();
        await store.createSession(sess, []);
      });

      it("getBase of a path with no base is empty", async () => {
        expect(await store.getBase(sess.id, "/w")).toEqual(new Map());
      });

      it("updateBase inserts, replaces and deletes entries of one path only", async () => {
        await store.updateBase({ sessionId: sess.id, mountPath: "/w", upserts: [baseEntry("/w/a"), baseEntry("/w/b")], deletes: [] });
        await store.updateBase({ sessionId: sess.id, mountPath: "/v", upserts: [baseEntry("/v/a")], deletes: [] });
        const link: BaseEntry = { key: "/w/l", ...LINK };
        await store.updateBase({
          sessionId: sess.id,
          mountPath: "/w",
          upserts: [baseEntry("/w/a", DB), link],
          deletes: ["/w/b", "/w/never"],
        });
        expect(await store.getBase(sess.id, "/w")).toEqual(
          new Map([
            ["/w/a", baseEntry("/w/a", DB)],
            ["/w/l", link],
          ]),
        );
        expect(await store.getBase(sess.id, "/v")).toEqual(new Map([["/v/a", baseEntry("/v/a")]]));
      });
    });

    describe("tasks", () => {
      let sess: SessionRecord;
      let ctxA: string;
      let ctxB: string;
      beforeEach(async () => {
        sess = session();
        await store.createSession(sess, []);
        ctxA = (await store.createContext(tenant, "a", T0)).id;
        ctxB = (await store.createContext(tenant, "b", T0)).id;
      });
      const task = (over: Partial<TaskRecord>): TaskRecord => ({
        id: newId("task"),
        sessionId: sess.id,
        contextId: ctxA,
        path: "/home/a",
        taskType: "upload",
        status: "Pending",
        startTimeMs: null,
        finishTimeMs: null,
        errorMessage: "",
        filesDone: 0,
        filesTotal: 0,
        bytesDone: 0,
        bytesTotal: 0,
        createdAtMs: T0,
        ...over,
      });

      it("createTask stores a task that listTasks returns as it was given", async () => {
        const t = task({});
        await store.createTask(t);
        expect(await store.listTasks(sess.id)).toEqual([t]);
      });

      it("updateTask changes only the fields it is given", async () => {
        const t = task({ filesTotal: 4, bytesTotal: 400 });
        await store.createTask(t);
        await store.updateTask(t.id, { status: "Running", startTimeMs: T0 + 1 });
        await store.updateTask(t.id, { filesDone: 2, bytesDone: 200 });
        await store.updateTask(t.id, { status: "Failed", finishTimeMs: T0 + 2, errorMessage: "disk full" });
        expect(await store.listTasks(sess.id)).toEqual([
          { ...t, status: "Failed", startTimeMs: T0 + 1, finishTimeMs: T0 + 2, errorMessage: "disk full", filesDone: 2, bytesDone: 200 },
        ]);
      });

      it("updateTask leaves a field passed as undefined unchanged", async () => {
        const t = task({ status: "Running", startTimeMs: T0 + 1, errorMessage: "earlier" });
        await store.createTask(t);
        await store.updateTask(t.id, { status: "Success", startTimeMs: undefined, errorMessage: undefined });
        expect(await store.listTasks(sess.id)).toEqual([{ ...t, status: "Success" }]);
      });

      describe("listTasks", () => {
        // Created out of order, so a listing in insertion order cannot pass by accident.
        const specs = [
          { label: "t3", createdAtMs: T0 + 3, ctx: "A", path: "/home/a", taskType: "download" as const },
          { label: "t1", createdAtMs: T0 + 1, ctx: "A", path: "/home/a", taskType: "upload" as const },
          { label: "t2", createdAtMs: T0 + 2, ctx: "B", path: "/home/b", taskType: "upload" as const },
          { label: "t4", createdAtMs: T0 + 4, ctx: "B", path: "/home/a", taskType: "download" as const },
        ];
        const cases: { name: string; filter: (ids: { A: string; B: string }) => Parameters<MetaStore["listTasks"]>[1]; want: string[] }[] = [
          { name: "lists all of a session's tasks oldest first", filter: () => undefined, want: ["t1", "t2", "t3", "t4"] },
          { name: "filters by context", filter: (ids) => ({ contextId: ids.B }), want: ["t2", "t4"] },
          { name: "filters by path", filter: () => ({ path: "/home/a" }), want: ["t1", "t3", "t4"] },
          { name: "filters by task type", filter: () => ({ taskType: "download" }), want: ["t3", "t4"] },
          { name: "combines filters", filter: (ids) => ({ contextId: ids.A, path: "/home/a", taskType: "upload" }), want: ["t1"] },
          { name: "returns nothing when no task matches", filter: () => ({ path: "/nowhere" }), want: [] },
        ];
        for (const c of cases) {
          it(c.name, async () => {
            const ids = { A: ctxA, B: ctxB };
            const labels = new Map<string, string>();
            for (const s of specs) {
              const t = task({ createdAtMs: s.createdAtMs, contextId: ids[s.ctx as "A" | "B"], path: s.path, taskType: s.taskType });
              labels.set(t.id, s.label);
              await store.createTask(t);
            }
            const other = session();
            await store.createSession(other, []);
            await store.createTask(task({ sessionId: other.id }));
            const listed = await store.listTasks(sess.id, c.filter(ids));
            expect(listed.map((t) => labels.get(t.id))).toEqual(c.want);
          });
        }
      });
    });

    describe("context state", () => {
      it("setContextState changes the state only from the states it is given, and says whether it did", async () => {
        const ctx = await store.createContext(tenant, "c", T0);
        expect(await store.setContextState(ctx.id, "clearing", ["available", "in-use"])).toBe(true);
        expect(await store.setContextState(ctx.id, "clearing", ["available", "in-use"])).toBe(false);
        expect(await store.getContext(tenant, ctx.id)).toMatchObject({ state: "clearing" });
        expect(await store.setContextState(ctx.id, "available")).toBe(true);
        expect(await store.getContext(tenant, ctx.id)).toMatchObject({ state: "available" });
        expect(await store.setContextState(newId("ctx"), "clearing")).toBe(false);
      });

      it("listContextsInState lists the contexts of every tenant in that state", async () => {
        const a = await store.createContext(tenant, "a", T0);
        await store.createContext(tenant, "b", T0);
        const c = await store.createContext(otherTenant, "c", T0);
        await store.setContextState(a.id, "clearing");
        await store.setContextState(c.id, "clearing");
        expect((await store.listContextsInState("clearing")).map((x) => x.id)).toEqual([a.id, c.id]);
        expect(await store.listContextsInState("in-use")).toEqual([]);
      });
    });

    describe("external sessions", () => {
      const external = (over: Partial<SessionRecord> = {}) => session({ agent: "external", lastHeartbeatMs: T0, ...over });
      const task = (sessionId: string, contextId: string, over: Partial<TaskRecord> = {}): TaskRecord => ({
        id: newId("task"),
        sessionId,
        contextId,
        path: "/w",
        taskType: "download",
        status: "Pending",
        startTimeMs: null,
        finishTimeMs: null,
        errorMessage: "",
        filesDone: 0,
        filesTotal: 0,
        bytesDone: 0,
        bytesTotal: 0,
        createdAtMs: T0,
        ...over,
      });
      let ctx: string;
      beforeEach(async () => {
        ctx = (await store.createContext(tenant, "x", T0)).id;
      });

      it("stores the agent kind and heartbeat, and finds the session by its token hash only", async () => {
        const sess = external();
        await store.createSession(sess, [], { tokenHash: "f".repeat(64) });
        expect(await store.getSession(tenant, sess.id)).toEqual(sess);
        expect(await store.getSessionByTokenHash("f".repeat(64))).toEqual(sess);
        expect(await store.getSessionByTokenHash("e".repeat(64))).toBeUndefined();
        const local = session();
        await store.createSession(local, []);
        expect(await store.getSession(tenant, local.id)).toMatchObject({ agent: "local", lastHeartbeatMs: null });
      });

      it("listStaleSessions finds running and releasing external sessions whose heartbeat is older than the cutoff", async () => {
        const stale = external({ lastHeartbeatMs: T0 });
        const releasing = external({ lastHeartbeatMs: T0, status: "releasing", tenantId: otherTenant });
        const fresh = external({ lastHeartbeatMs: T0 });
        const released = external({ lastHeartbeatMs: T0, status: "released" });
        const local = session();
        for (const s of [stale, releasing, fresh, released, local]) await store.createSession(s, []);
        await store.recordHeartbeat(fresh.id, T0 + 10_000);
        expect((await store.listStaleSessions(T0 + 5000, 0)).map((s) => s.id).sort()).toEqual([stale.id, releasing.id].sort());
        expect(await store.getSession(tenant, fresh.id)).toMatchObject({ lastHeartbeatMs: T0 + 10_000 });
      });

      it("listStaleSessions judges a session whose agent never called in by its creation time and the start cutoff", async () => {
        const old = external({ lastHeartbeatMs: null, createdAtMs: T0 });
        const young = external({ lastHeartbeatMs: null, createdAtMs: T0 + 10_000 });
        for (const s of [old, young]) await store.createSession(s, []);
        expect(await store.listStaleSessions(T0 + 60_000, T0)).toEqual([]);
        expect((await store.listStaleSessions(T0 + 60_000, T0 + 5000)).map((s) => s.id)).toEqual([old.id]);
      });

      it("markSessionLost marks the session lost and fails its open tasks, leaving finished ones alone", async () => {
        const sess = external();
        await store.createSession(sess, []);
        const open: TaskStatus[] = ["Pending", "Running"];
        const tasks = [...open, "Success" as const].map((status) => task(sess.id, ctx, { status }));
        for (const t of tasks) await store.createTask(t);
        const silence = { heartbeatCutoffMs: T0 + 1, startCutoffMs: T0 + 1 };
        expect(await store.markSessionLost(sess.id, T0 + 99, "agent gone", silence)).toBe(true);
        expect(await store.getSession(tenant, sess.id)).toMatchObject({ status: "lost" });
        expect((await store.listTasks(sess.id)).map((t) => [t.status, t.errorMessage, t.finishTimeMs])).toEqual([
          ["Failed", "agent gone", T0 + 99],
          ["Failed", "agent gone", T0 + 99],
          ["Success", "", null],
        ]);
        expect(await store.markSessionLost(sess.id, T0 + 100, "again", silence)).toBe(false);
      });

      it("markSessionLost leaves alone a session whose agent called in after the cutoff, or that is young and never called in", async () => {
        const sess = external({ lastHeartbeatMs: T0 });
        const young = external({ lastHeartbeatMs: null, createdAtMs: T0 + 50 });
        for (const s of [sess, young]) await store.createSession(s, []);
        const t = task(sess.id, ctx, { status: "Running" });
        await store.createTask(t);
        // The caller found it silent with cutoff T0 + 1; the agent calls in before the mark.
        await store.recordHeartbeat(sess.id, T0 + 5);
        const silence = { heartbeatCutoffMs: T0 + 1, startCutoffMs: T0 + 10 };
        expect(await store.markSessionLost(sess.id, T0 + 6, "agent gone", silence)).toBe(false);
        expect(await store.markSessionLost(young.id, T0 + 6, "agent gone", silence)).toBe(false);
        expect(await store.getSession(tenant, sess.id)).toMatchObject({ status: "running", lastHeartbeatMs: T0 + 5 });
        expect(await store.getSession(tenant, young.id)).toMatchObject({ status: "running" });
        expect(await store.getTask(sess.id, t.id)).toMatchObject({ status: "Running", errorMessage: "" });
        expect(await store.markSessionLost(young.id, T0 + 6, "never came", { heartbeatCutoffMs: T0 + 1, startCutoffMs: T0 + 51 })).toBe(true);
      });

      it("claimPendingTasks hands each Pending task out once, marked Running", async () => {
        const sess = external();
        await store.createSession(sess, []);
        const first = task(sess.id, ctx, { createdAtMs: T0 + 1 });
        const second = task(sess.id, ctx, { createdAtMs: T0 + 2, taskType: "upload" });
        await store.createTask(second);
        await store.createTask(first);
        await store.createTask(task(sess.id, ctx, { status: "Success" }));
        const claimed = await store.claimPendingTasks(sess.id, T0 + 50);
        expect(claimed).toEqual([
          { ...first, status: "Running", startTimeMs: T0 + 50 },
          { ...second, status: "Running", startTimeMs: T0 + 50 },
        ]);
        expect(await store.claimPendingTasks(sess.id, T0 + 60)).toEqual([]);
        expect(await store.getTask(sess.id, first.id)).toEqual(claimed[0]);
      });

      it("requeueRunningTasks puts a session's Running tasks back for the next claim, and only those", async () => {
        const sess = external();
        const other = external();
        await store.createSession(sess, []);
        await store.createSession(other, []);
        const running = task(sess.id, ctx, { createdAtMs: T0 + 1 });
        const done = task(sess.id, ctx, { status: "Success" });
        const othersRunning = task(other.id, ctx);
        for (const t of [running, done, othersRunning]) await store.createTask(t);
        await store.claimPendingTasks(sess.id, T0 + 50);
        await store.claimPendingTasks(other.id, T0 + 50);
        expect(await store.requeueRunningTasks(sess.id)).toBe(1);
        expect(await store.getTask(sess.id, running.id)).toEqual({ ...running, status: "Pending", startTimeMs: null });
        expect(await store.getTask(sess.id, done.id)).toEqual(done);
        expect(await store.getTask(other.id, othersRunning.id)).toMatchObject({ status: "Running" });
        expect(await store.claimPendingTasks(sess.id, T0 + 70)).toEqual([{ ...running, status: "Running", startTimeMs: T0 + 70 }]);
        expect(await store.requeueRunningTasks(sess.id)).toBe(1);
        expect(await store.requeueRunningTasks(other.id)).toBe(1);
      });

      it("getTask finds only the session's own tasks", async () => {
        const a = external();
        const b = external();
        await store.createSession(a, []);
        await store.createSession(b, []);
        const t = task(a.id, ctx);
        await store.createTask(t);
        expect(await store.getTask(a.id, t.id)).toEqual(t);
        expect(await store.getTask(b.id, t.id)).toBeUndefined();
      });

      it("updateTaskIf updates only from the given statuses", async () => {
        const sess = external();
        await store.createSession(sess, []);
        const t = task(sess.id, ctx, { status: "Running" });
        await store.createTask(t);
        expect(await store.updateTaskIf(t.id, ["Pending"], { status: "Success" })).toBe(false);
        expect(await store.updateTaskIf(t.id, ["Running"], { filesDone: 3 })).toBe(true);
        expect(await store.updateTaskIf(t.id, ["Running"], { status: "Success", finishTimeMs: T0 + 5 })).toBe(true);
        expect(await store.updateTaskIf(t.id, ["Running"], { status: "Failed" })).toBe(false);
        expect(await store.getTask(sess.id, t.id)).toEqual({ ...t, status: "Success", filesDone: 3, finishTimeMs: T0 + 5 });
      });
    });

    describe("referencedBlobSizes", () => {
      it("finds only digests some version of one of the named contexts has, with the size it records", async () => {
        const a = (await store.createContext(tenant, "a", T0)).id;
        const b = (await store.createContext(tenant, "b", T0)).id;
        const theirs = (await store.createContext(otherTenant, "t", T0)).id;
        await commit(a, 0, [put("/x", meta(DA, 11))]);
        await commit(a, 1, [put("/x", meta(DB, 22)), put("/again", meta(DA, 11))]);
        await commit(theirs, 0, [put("/y", meta(DC))]);
        expect(await store.referencedBlobSizes([a], [DA])).toEqual(new Map([[DA, [11]]]));
        expect(await store.referencedBlobSizes([b, a], [DC, DB, DA, DB])).toEqual(new Map([[DA, [11]], [DB, [22]]]));
        expect(await store.referencedBlobSizes([a, b], [DC])).toEqual(new Map());
        expect(await store.referencedBlobSizes([], [DA])).toEqual(new Map());
        expect(await store.referencedBlobSizes([a], [])).toEqual(new Map());
        // A version that recorded another size for the same content: both sizes are reported.
        await commit(a, 2, [put("/odd", meta(DA, 12))]);
        expect(new Set((await store.referencedBlobSizes([a], [DA])).get(DA))).toEqual(new Set([11, 12]));
      });

      it("answers for more digests than one statement may bind", async () => {
        const a = (await store.createContext(tenant, "a", T0)).id;
        await commit(a, 0, [put("/x", meta(DA))]);
        const many = Array.from({ length: 40_000 }, (_, i) => i.toString(16).padStart(64, "0"));
        expect(await store.referencedBlobSizes([a], [...many, DA])).toEqual(new Map([[DA, [10]]]));
      });
    });

    describe("withCollectionLock", () => {
      it("runs collections of one store one after another, also after one that failed", async () => {
        const events: string[] = [];
        const slow = store.withCollectionLock(async () => {
          events.push("1 starts");
          await new Promise((r) => setTimeout(r, 30));
          events.push("1 ends");
          throw new Error("failed collection");
        });
        const next = store.withCollectionLock(async () => {
          events.push("2 runs");
          return 2;
        });
        await expect(slow).rejects.toThrow("failed collection");
        expect(await next).toBe(2);
        expect(events).toEqual(["1 starts", "1 ends", "2 runs"]);
      });
    });

    describe("session uploads", () => {
      it("records per session which blobs it sent, answers for many digests, and forgets on request", async () => {
        const mine = session();
        const other = session();
        await store.createSession(mine, []);
        await store.createSession(other, []);
        // A digest named twice in one call keeps its last size.
        await store.recordUploads(mine.id, [sized(DA, 7), sized(DB, 5_000_000_000), sized(DA, 1)], T0);
        expect(await store.uploadedBlobSizes(mine.id, [DA, DB, DC])).toEqual(new Map([[DA, 1], [DB, 5_000_000_000]]));
        expect(await store.uploadedBlobSizes(other.id, [DA, DB])).toEqual(new Map());
        const many = Array.from({ length: 40_000 }, (_, i) => i.toString(16).padStart(64, "0"));
        expect(await store.uploadedBlobSizes(mine.id, [...many, DB])).toEqual(new Map([[DB, 5_000_000_000]]));
        await store.forgetUploads(mine.id, [DA, DC]);
        expect(await store.uploadedBlobSizes(mine.id, [DA, DB])).toEqual(new Map([[DB, 5_000_000_000]]));
      });

      it("forgets the uploads recorded before a time, keeping a newer record of the same blob", async () => {
        const mine = session();
        await store.createSession(mine, []);
        await store.recordUploads(mine.id, [sized(DA), sized(DB)], T0);
        await store.recordUploads(mine.id, [sized(DB)], T0 + 10);
        expect(await store.forgetUploadsBefore(T0 + 5)).toBe(1);
        expect(await store.uploadedBlobSizes(mine.id, [DA, DB])).toEqual(new Map([[DB, 10]]));
      });
    });

    describe("blob deletion journal", () => {
      it("starts at watermark 0 with nothing marked, and gives every mark a higher change number", async () => {
        expect(await store.deletionWatermark()).toBe(0);
        expect(await store.blobsMarkedSince(0, [DA, DB])).toEqual(new Set());
        await store.markBlobDeletion(DA, "deleting", T0);
        const w1 = await store.deletionWatermark();
        expect(w1).toBeGreaterThan(0);
        await store.markBlobDeletion(DA, "kept", T0);
        expect(await store.deletionWatermark()).toBeGreaterThan(w1);
      });

      it("shows a writer every blob marked after its watermark, and a blob being deleted whenever that began", async () => {
        await store.markBlobDeletion(DA, "deleting", T0); // began before the writer looked
        const w = await store.deletionWatermark();
        expect(await store.blobsMarkedSince(w, [DA, DB, DC])).toEqual(new Set([DA]));
        await store.markBlobDeletion(DB, "deleting", T0);
        await store.markBlobDeletion(DB, "deleted", T0);
        expect(await store.blobsMarkedSince(w, [DA, DB, DC])).toEqual(new Set([DA, DB]));
        expect(await store.blobsBeingDeleted([DA, DB, DC])).toEqual(new Set([DA]));
        await store.markBlobDeletion(DA, "kept", T0);
        // DA's deletion ended (kept) after the watermark: still shown, so the writer checks again.
        expect(await store.blobsMarkedSince(w, [DA, DB, DC])).toEqual(new Set([DA, DB]));
        expect(await store.blobsBeingDeleted([DA, DB, DC])).toEqual(new Set());
        expect(await store.blobsMarkedSince(await store.deletionWatermark(), [DA, DB, DC])).toEqual(new Set());
      });

      it("settle marks a deletion left running past the staleness bound deleted and prunes old marks, without lowering later change numbers", async () => {
        await store.markBlobDeletion(DA, "deleting", T0); // a deletion that stopped midway
        await store.markBlobDeletion(DB, "deleting", T0);
        await store.markBlobDeletion(DB, "kept", T0);
        const before = await store.deletionWatermark();
        expect(await store.settleBlobDeletions(T0 + 10, T0 + 1, T0 + 5)).toBe(1);
        expect(await store.blobsBeingDeleted([DA, DB])).toEqual(new Set());
        // The settling mark (at T0 + 10) is newer than the watermark and outlives the prune.
        expect(await store.blobsMarkedSince(before, [DA, DB])).toEqual(new Set([DA]));
        await store.settleBlobDeletions(T0 + 20, T0 + 11, T0 + 15);
        expect(await store.blobsMarkedSince(0, [DA, DB])).toEqual(new Set());
        const w = await store.deletionWatermark();
        await store.markBlobDeletion(DC, "deleting", T0 + 30);
        expect(await store.blobsMarkedSince(w, [DC])).toEqual(new Set([DC]));
        expect(await store.blobsMarkedSince(before, [DC])).toEqual(new Set([DC]));
      });

      it("settle leaves a deletion that may still be running alone, however old the prune cutoff", async () => {
        await store.markBlobDeletion(DA, "deleting", T0 + 10);
        const w = await store.deletionWatermark();
        expect(await store.settleBlobDeletions(T0 + 20, T0 + 5, T0 + 30)).toBe(0);
        expect(await store.blobsBeingDeleted([DA])).toEqual(new Set([DA]));
        expect(await store.blobsMarkedSince(w, [DA])).toEqual(new Set([DA]));
        expect(await store.deletionWatermark()).toBe(w);
      });
    });

    describe("API keys", () => {
      const key = (over: Partial<ApiKeyRecord> = {}): Omit<ApiKeyRecord, "tenantName"> => ({
        id: newId("key"),
        tenantId: tenant,
        hash: "1".repeat(64),
        isAdmin: false,
        createdAtMs: T0,
        revokedAtMs: null,
        ...over,
      });

      it("stores keys, finds one by hash with its tenant name, and lists them all oldest first", async () => {
        expect(await store.countApiKeys()).toBe(0);
        const a = key({ isAdmin: true });
        const b = key({ hash: "2".repeat(64), tenantId: otherTenant, createdAtMs: T0 + 1 });
        await store.createApiKey(b);
        await store.createApiKey(a);
        expect(await store.getApiKeyByHash("1".repeat(64))).toEqual({ ...a, tenantName: "acme" });
        expect(await store.getApiKeyByHash("3".repeat(64))).toBeUndefined();
        expect(await store.listApiKeys()).toEqual([
          { ...a, tenantName: "acme" },
          { ...b, tenantName: "globex" },
        ]);
        expect(await store.countApiKeys()).toBe(2);
      });

      it("createFirstApiKey stores a key only on a store that never had one, also for calls in flight together", async () => {
        const first = await Promise.all([key(), key({ hash: "2".repeat(64) }), key({ hash: "3".repeat(64) })].map((k) => store.createFirstApiKey(k)));
        expect(first.filter(Boolean)).toHaveLength(1);
        expect(await store.countApiKeys()).toBe(1);
        const [only] = await store.listApiKeys();
        await store.revokeApiKey(only!.id, T0);
        // Revoking every key does not make the store "new" again.
        expect(await store.createFirstApiKey(key({ hash: "4".repeat(64) }))).toBe(false);
        expect(await store.countApiKeys()).toBe(1);
      });

      it("revokeApiKey stamps the key once and reports unknown ids", async () => {
        const a = key();
        await store.createApiKey(a);
        expect(await store.revokeApiKey(a.id, T0 + 5)).toBe(true);
        expect(await store.revokeApiKey(a.id, T0 + 9)).toBe(true);
        expect(await store.getApiKeyByHash(a.hash)).toMatchObject({ revokedAtMs: T0 + 5 });
        expect(await store.revokeApiKey(newId("key"), T0)).toBe(false);
        expect(await store.countApiKeys()).toBe(1);
      });
    });
  });
}
