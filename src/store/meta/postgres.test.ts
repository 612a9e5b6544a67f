import net from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dropSchema, freePort, freshSchemaName, startTestPostgres, type TestPostgres } from "../../../test/helpers/postgres-server.js";
import { CommitConflictError, InvalidParameterError, StoreUnavailableError } from "../../errors/index.js";
import type { FileChange, FileMeta, TaskRecord } from "../meta-store.js";
import { newId } from "../new-id.js";
import { runMetaStoreContract } from "./contract.test-suite.js";
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import { PostgresMetaStore } from "./postgres.js";

// One server for the whole file; every store gets a schema of its own.
let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.stop();
});

runMetaStoreContract("PostgresMetaStore", async () => {
  const schema = freshSchemaName();
  const store = await PostgresMetaStore.open(server.url, { schema, maxConnections: 4 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropSchema(server.url, schema);
    },
  };
});

const T0 = 1_700_000_000_000;
const DA = "a".repeat(64);
const FILE: FileMeta = { type: "file", digest: DA, sizeBytes: 10, mode: 0o644, mtimeMs: T0, linkTarget: null };
const put = (key: string, meta: FileMeta = FILE): FileChange => ({ kind: "put", key, meta, expiresAtMs: null });

describe("PostgresMetaStore on a shared server", () => {
  let schema: string;
  const opened: PostgresMetaStore[] = [];
  /** A store on this test's schema: each is a pool of its own, as a separate server process would have. */
  const open = async (): Promise<PostgresMetaStore> => {
    const store = await PostgresMetaStore.open(server.url, { schema, maxConnections: 4 });
    opened.push(store);
    return store;
  };
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const versions = (): Promise<number[]> =>
    admin(async (c) => (await c.query<{ version: number }>(`SELECT version FROM ${schema}.ctxsync_migrations ORDER BY version`)).rows.map((r) => r.version));

  beforeEach(() => {
    schema = freshSchemaName();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await dropSchema(server.url, schema);
  });

  describe("migrations", () => {
    it("records the schema version, and reopening keeps the data without migrating again", async () => {
      const first = await open();
      const tenant = await first.ensureTenant("acme");
      const ctx = await first.createContext(tenant, "notes", T0);
      await first.commitGeneration({ contextId: ctx.id, expectedHead: 0, sessionId: null, timeMs: T0, changes: [put("/a")] });
      await first.close();
      expect(await versions()).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));

      const second = await open();
      expect(await second.ensureTenant("acme")).toBe(tenant);
      expect(await second.getContextByName(tenant, "notes")).toMatchObject({ id: ctx.id, headGeneration: 1 });
      expect((await second.listLiveFiles(ctx.id, "/", T0)).map((f) => f.key)).toEqual(["/a"]);
      expect(await versions()).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
    });

    it("migrates a new schema once when several processes open it at the same time", async () => {
      const stores = await Promise.all([open(), open(), open()]);
      expect(await versions()).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
      const tenants = await Promise.all(stores.map((s) => s.ensureTenant("acme")));
      expect(new Set(tenants).size).toBe(1);
    });

    it("refuses a schema written by a newer ctxsync with an error that says to upgrade, and leaves it alone", async () => {
      await (await open()).close();
      const newer = POSTGRES_MIGRATIONS.length + 1;
      await admin((c) => c.query(`INSERT INTO ${schema}.ctxsync_migrations (version, applied_at_ms) VALUES ($1, 0)`, [newer]));
      const err: unknown = await open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect(err).toMatchObject({ message: expect.stringMatching(/newer than this ctxsync understands.*upgrade ctxsync/) });
      expect((await versions()).at(-1)).toBe(newer);
    });

    it("rejects a schema name that is not a plain lower-case identifier", async () => {
      await expect(PostgresMetaStore.open(server.url, { schema: 'x"; DROP SCHEMA public; --' })).rejects.toBeInstanceOf(
        InvalidParameterError,
      );
    });
  });

  describe("concurrency across processes", () => {
    it("runs one garbage collection at a time across servers on one schema, not across schemas", async () => {
      const [a, b] = [await open(), await open()];
      const events: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const first = a.withCollectionLock(async () => {
        events.push("a starts");
        await held;
        events.push("a ends");
      });
      while (events.length === 0) await new Promise((r) => setTimeout(r, 5));
      const second = b.withCollectionLock(async () => {
        events.push("b runs");
      });
      // A store on another schema (another deployment on the same database) does not wait.
      const otherSchema = freshSchemaName();
      const other = await PostgresMetaStore.open(server.url, { schema: otherSchema, maxConnections: 2 });
      try {
        expect(await other.withCollectionLock(async () => "ran")).toBe("ran");
      } finally {
        await other.close();
        await dropSchema(server.url, otherSchema);
      }
      expect(events).toEqual(["a starts"]);
      release();
      await Promise.all([first, second]);
      expect(events).toEqual(["a starts", "a ends", "b runs"]);
      // A collection that fails lets the next one run.
      await expect(a.withCollectionLock(() => Promise.reject(new Error("disk on fire")))).rejects.toThrow("disk on fire");
      expect(await b.withCollectionLock(async () => "after")).toBe("after");
    });

    it("lets exactly one of two commits with the same expected head win; the other writes nothing", async () => {
      const [a, b] = [await open(), await open()];
      const tenant = await a.ensureTenant("acme");
      const ctx = await a.createContext(tenant, "race", T0);
      const sessA = { id: newId("sess"), tenantId: tenant, status: "running" as const, root: "/", labels: {}, createdAtMs: T0 };
      const sessB = { ...sessA, id: newId("sess") };
      await a.createSession(sessA, []);
      await a.createSession(sessB, []);
      for (let head = 0; head < 10; head++) {
        const attempt = (store: PostgresMetaStore, sessionId: string) =>
          store.commitGeneration({
            contextId: ctx.id,
            expectedHead: head,
            sessionId,
            timeMs: T0 + head,
            changes: [put(`/${sessionId}/${head}`), put("/shared", { ...FILE, sizeBytes: head })],
            base: { sessionId, mountPath: "/w", upserts: [{ key: `/w/${head}`, ...FILE }], deletes: [] },
          });
        const results = await Promise.allSettled([attempt(a, sessA.id), attempt(b, sessB.id)]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        expect(won.map((r) => r.value)).toEqual([head + 1]);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(CommitConflictError);

        const winner = results[0]!.status === "fulfilled" ? sessA.id : sessB.id;
        const loser = winner === sessA.id ? sessB.id : sessA.id;
        const live = (await a.listLiveFiles(ctx.id, "/", T0)).map((f) => f.key);
        expect(live).toContain(`/${winner}/${head}`);
        expect(live).not.toContain(`/${loser}/${head}`);
        expect((await a.getBase(loser, "/w")).has(`/w/${head}`)).toBe(false);
        expect((await a.getBase(winner, "/w")).has(`/w/${head}`)).toBe(true);
      }
      expect((await a.listGenerations(ctx.id, 100)).map((g) => g.generation)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(await b.getLiveFile(ctx.id, "/shared", T0)).toMatchObject({ generation: 10, sizeBytes: 9 });
    });

    it("never hands one task to two concurrent claims", async () => {
      const stores = [await open(), await open(), await open()];
      const first = stores[0]!;
      const tenant = await first.ensureTenant("acme");
      const ctx = await first.createContext(tenant, "tasks", T0);
      const sess = { id: newId("sess"), tenantId: tenant, status: "running" as const, root: "/", labels: {}, createdAtMs: T0, agent: "external" as const };
      await first.createSession(sess, []);
      for (let round = 0; round < 5; round++) {
        const created: TaskRecord[] = Array.from({ length: 40 }, (_, i) => ({
          id: newId("task"), sessionId: sess.id, contextId: ctx.id, path: "/w", taskType: "download", status: "Pending",
          startTimeMs: null, finishTimeMs: null, errorMessage: "", filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0,
          createdAtMs: T0 + round * 100 + i,
        }));
        for (const t of created) await first.createTask(t);
        const claims = await Promise.all(stores.flatMap((s) => [s.claimPendingTasks(sess.id, T0 + 1), s.claimPendingTasks(sess.id, T0 + 2)]));
        const ids = claims.flat().map((t) => t.id);
        expect(ids.length).toBe(new Set(ids).size);
        expect(new Set(ids)).toEqual(new Set(created.map((t) => t.id)));
        for (const claim of claims) {
          // Each claim lists its own tasks oldest first.
          expect(claim.map((t) => t.createdAtMs)).toEqual(claim.map((t) => t.createdAtMs).sort((x, y) => x - y));
        }
      }
    });
  });

  describe("large batches and values", () => {
    it("commits 12 000 changes and a base of as many entries, then replaces and deletes them all", async () => {
      const store = await open();
      const tenant = await store.ensureTenant("acme");
      const ctx = await store.createContext(tenant, "big", T0);
      const sess = { id: newId("sess"), tenantId: tenant, status: "running" as const, root: "/", labels: {}, createdAtMs: T0 };
      await store.createSession(sess, []);
      const keys = Array.from({ length: 12_000 }, (_, i) => `/w/d${i % 50}/f${i}`);
      const base = keys.map((key) => ({ key, ...FILE }));
      await store.commitGeneration({
        contextId: ctx.id, expectedHead: 0, sessionId: sess.id, timeMs: T0, changes: keys.map((k) => put(k)),
        base: { sessionId: sess.id, mountPath: "/w", upserts: base, deletes: [] },
      });
      expect(await store.getGeneration(ctx.id, 1)).toMatchObject({ added: 12_000, changed: 0, removed: 0 });
      expect((await store.getBase(sess.id, "/w")).size).toBe(12_000);

      const half = keys.length / 2;
      const changes: FileChange[] = keys.map((k, i) => (i < half ? put(k, { ...FILE, sizeBytes: 99 }) : { kind: "delete", key: k }));
      expect(await store.commitGeneration({ contextId: ctx.id, expectedHead: 1, sessionId: null, timeMs: T0 + 1, changes })).toBe(2);
      expect(await store.getGeneration(ctx.id, 2)).toMatchObject({ added: 0, changed: half, removed: half });
      const live = await store.listLiveFiles(ctx.id, "/", T0 + 1);
      expect(live).toHaveLength(half);
      expect(live.every((f) => f.sizeBytes === 99 && f.generation === 2)).toBe(true);
      expect(await store.listFilesAtGeneration(ctx.id, 1, "/")).toHaveLength(12_000);
    });

    it("keeps the last of several base entries for one key, as one write per entry would", async () => {
      const store = await open();
      const tenant = await store.ensureTenant("acme");
      const sess = { id: newId("sess"), tenantId: tenant, status: "running" as const, root: "/", labels: {}, createdAtMs: T0 };
      await store.createSession(sess, []);
      await store.updateBase({
        sessionId: sess.id, mountPath: "/w", deletes: [],
        upserts: [{ key: "/w/a", ...FILE, sizeBytes: 1 }, { key: "/w/b", ...FILE }, { key: "/w/a", ...FILE, sizeBytes: 2 }],
      });
      expect((await store.getBase(sess.id, "/w")).get("/w/a")).toMatchObject({ sizeBytes: 2 });
    });

    it("returns times and sizes past 2^31 as exact numbers, and fractional mtimes unchanged", async () => {
      const store = await open();
      const tenant = await store.ensureTenant("acme");
      const ctx = await store.createContext(tenant, "numbers", T0);
      const meta: FileMeta = { ...FILE, sizeBytes: 5_000_000_123, mtimeMs: 1_699_999_999_999.625 };
      const far = 8_000_000_000_000;
      await store.commitGeneration({
        contextId: ctx.id, expectedHead: 0, sessionId: null, timeMs: T0,
        changes: [{ kind: "put", key: "/big", meta, expiresAtMs: far }],
      });
      expect(await store.getLiveFile(ctx.id, "/big", T0)).toEqual({
        key: "/big", ...meta, generation: 1, writtenAtMs: T0, expiresAtMs: far,
      });
      expect(await store.getContext(tenant, ctx.id)).toMatchObject({ createdAtMs: T0, lastUsedAtMs: T0 });
    });
  });

  describe("connection failures", () => {
    const isUnavailable = (err: unknown): boolean => err instanceof StoreUnavailableError;

    it("rejects with StoreUnavailable when nothing listens at the address", async () => {
      const port = await freePort();
      const err: unknown = await PostgresMetaStore.open(`postgres://u:hunter2secret@127.0.0.1:${port}/db`).catch((e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
      expect((err as Error).message).toContain(`127.0.0.1:${port}/db`);
      expect((err as Error).message).not.toContain("hunter2secret");
    });

    it("rejects with StoreUnavailable, not a hang, when the server accepts but never answers", async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((s) => sockets.add(s));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      try {
        const { port } = silent.address() as net.AddressInfo;
        const err: unknown = await PostgresMetaStore.open(`postgres://u:p@127.0.0.1:${port}/db`, { connectTimeoutMs: 300 }).catch(
          (e: unknown) => e,
        );
        expect(isUnavailable(err)).toBe(true);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    // Skipped on $PG_URL: a server of someone else's may trust any password.
    it.skipIf(process.env.PG_URL !== undefined)("rejects a wrong password with StoreUnavailable, without showing the password", async () => {
      const url = new URL(server.url);
      url.password = "wrong-secret-123";
      const err: unknown = await PostgresMetaStore.open(url.toString(), { schema }).catch((e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
      expect((err as Error).message).not.toContain("wrong-secret-123");
    });

    it("rejects a malformed URL with InvalidParameterError that does not echo it", async () => {
      const err: unknown = await PostgresMetaStore.open("postgres://u:pa ss@[bad").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect((err as Error).message).not.toContain("pa ss");
    });

    it("a collection whose lock connection the server dropped still finishes, and the next one runs", async () => {
      const name = `ctxsync_gc_${schema}`;
      const url = new URL(server.url);
      url.searchParams.set("application_name", name);
      const store = await PostgresMetaStore.open(url.toString(), { schema });
      opened.push(store);
      const done = await store.withCollectionLock(async () => {
        // The lock's own connection dies under it: the server drops the lock with it.
        await admin((c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]));
        return "collected";
      });
      expect(done).toBe("collected");
      expect(await (await open()).withCollectionLock(async () => "next")).toBe("next");
    });

    it("reconnects after the server dropped the pool's connections", async () => {
      // A name of its own, so only this store's connections are dropped on a shared $PG_URL server.
      const name = `ctxsync_${schema}`;
      const url = new URL(server.url);
      url.searchParams.set("application_name", name);
      const store = await PostgresMetaStore.open(url.toString(), { schema });
      opened.push(store);
      const tenant = await store.ensureTenant("acme");
      const dropped = await admin((c) =>
        c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]),
      );
      expect(dropped.rowCount).toBeGreaterThan(0);
      // The first call may still meet a dead connection; it must fail with StoreUnavailable, not crash or hang.
      const first = await store.ensureTenant("acme").catch((e: unknown) => e);
      if (first instanceof Error) expect(isUnavailable(first)).toBe(true);
      else expect(first).toBe(tenant);
      expect(await store.ensureTenant("acme")).toBe(tenant);
    });
  });
});
