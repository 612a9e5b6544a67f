import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../errors/index.js";
import { runMetaStoreContract } from "./contract.test-suite.js";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import { SqliteMetaStore } from "./sqlite.js";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-sqlite-"));
}

runMetaStoreContract("SqliteMetaStore", async () => {
  const dir = tempDir();
  const store = SqliteMetaStore.open(path.join(dir, "meta.db"));
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("SqliteMetaStore on disk", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, "meta.db");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const userVersion = (): number => {
    const db = new Database(file, { readonly: true });
    try {
      return db.pragma("user_version", { simple: true }) as number;
    } finally {
      db.close();
    }
  };

  it("keeps contexts, files and sessions when the same file is opened again, without re-running migrations", async () => {
    const first = SqliteMetaStore.open(file);
    const tenant = await first.ensureTenant("acme");
    const ctx = await first.createContext(tenant, "notes", 1000);
    await first.commitGeneration({
      contextId: ctx.id,
      expectedHead: 0,
      sessionId: null,
      timeMs: 1000,
      changes: [{ kind: "put", key: "/a", meta: { type: "file", digest: "a".repeat(64), sizeBytes: 1, mode: 0o644, mtimeMs: 1, linkTarget: null }, expiresAtMs: null }],
    });
    await first.close();
    expect(userVersion()).toBe(SQLITE_MIGRATIONS.length);

    const second = SqliteMetaStore.open(file);
    try {
      expect(await second.ensureTenant("acme")).toBe(tenant);
      expect(await second.getContextByName(tenant, "notes")).toMatchObject({ id: ctx.id, headGeneration: 1 });
      expect((await second.listLiveFiles(ctx.id, "/", 1000)).map((f) => f.key)).toEqual(["/a"]);
    } finally {
      await second.close();
    }
    expect(userVersion()).toBe(SQLITE_MIGRATIONS.length);
  });

  it("upgrades a database of schema version 1 in place, keeping its data", async () => {
    const old = new Database(file);
    old.exec(SQLITE_MIGRATIONS[0]!);
    old.pragma("user_version = 1");
    old.prepare("INSERT INTO tenants (id, name) VALUES ('tnt-1', 'acme')").run();
    old.prepare("INSERT INTO contexts (id, tenant_id, name, created_at, last_used_at, head) VALUES ('ctx-1', 'tnt-1', 'n', 1, 1, 1)").run();
    old.prepare("INSERT INTO generations (context_id, generation, time, added, changed, removed) VALUES ('ctx-1', 1, 1000, 1, 0, 0)").run();
    old.close();

    const store = SqliteMetaStore.open(file);
    try {
      expect(await store.getGeneration("ctx-1", 1)).toMatchObject({ generation: 1, timeMs: 1000, added: 1 });
    } finally {
      await store.close();
    }
    expect(userVersion()).toBe(SQLITE_MIGRATIONS.length);
  });

  it("upgrades a database of schema version 2: its sessions read as local, with no heartbeat", async () => {
    const old = new Database(file);
    old.exec(SQLITE_MIGRATIONS[0]!);
    old.exec(SQLITE_MIGRATIONS[1]!);
    old.pragma("user_version = 2");
    old.prepare("INSERT INTO tenants (id, name) VALUES ('tnt-1', 'acme')").run();
    old.prepare("INSERT INTO sessions (id, tenant_id, status, root, labels, created_at) VALUES ('sess-1', 'tnt-1', 'running', '/', '{}', 5)").run();
    old.close();

    const store = SqliteMetaStore.open(file);
    try {
      expect(await store.getSession("tnt-1", "sess-1")).toMatchObject({ agent: "local", lastHeartbeatMs: null, status: "running" });
      expect(await store.listStaleSessions(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toEqual([]);
      expect(await store.countApiKeys()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("upgrades a database of schema version 4: an upload recorded before sizes were reads with size null", async () => {
    const old = new Database(file);
    for (const m of SQLITE_MIGRATIONS.slice(0, 4)) old.exec(m);
    old.pragma("user_version = 4");
    old.prepare("INSERT INTO tenants (id, name) VALUES ('tnt-1', 'acme')").run();
    old.prepare("INSERT INTO sessions (id, tenant_id, status, root, labels, created_at) VALUES ('sess-1', 'tnt-1', 'running', '/', '{}', 5)").run();
    old.prepare("INSERT INTO session_uploads (session_id, digest, at_ms) VALUES ('sess-1', ?, 7)").run("d".repeat(64));
    old.close();

    const store = SqliteMetaStore.open(file);
    try {
      expect(await store.uploadedBlobSizes("sess-1", ["d".repeat(64)])).toEqual(new Map([["d".repeat(64), null]]));
    } finally {
      await store.close();
    }
    expect(userVersion()).toBe(SQLITE_MIGRATIONS.length);
  });

  it("refuses a database written by a newer ctxsync with an error that says to upgrade", () => {
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    expect(() => SqliteMetaStore.open(file)).toThrowError(InvalidParameterError);
    expect(() => SqliteMetaStore.open(file)).toThrowError(/newer than this ctxsync understands.*upgrade ctxsync/);
    expect(userVersion()).toBe(SQLITE_MIGRATIONS.length + 1);
  });
});
