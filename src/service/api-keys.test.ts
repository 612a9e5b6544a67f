import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiKeyNotFoundError, InvalidParameterError, UnauthorizedError } from "../errors/index.js";
import { systemClock } from "../engine/index.js";
import { SqliteMetaStore } from "../store/index.js";
import { ApiKeyService } from "./api-keys.js";
import { hashSecret } from "./secret-token.js";

describe("ApiKeyService", () => {
  let dir: string;
  let meta: SqliteMetaStore;
  let keys: ApiKeyService;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-keys-"));
    meta = SqliteMetaStore.open(path.join(dir, "meta.db"));
    keys = new ApiKeyService(meta, systemClock);
  });
  afterEach(async () => {
    await meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates a key whose secret authenticates its tenant, and stores only the secret's SHA-256", async () => {
    const k = await keys.create("acme", { isAdmin: true });
    expect(k.secret).toMatch(/^csk_[A-Za-z0-9_-]{43}$/);
    expect(await keys.authenticate(k.secret)).toEqual({ keyId: k.id, tenantId: await meta.ensureTenant("acme"), tenantName: "acme", isAdmin: true });
    const [stored] = await meta.listApiKeys();
    expect(stored!.hash).toBe(hashSecret(k.secret));
    for (const f of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, f)).includes(k.secret), f).toBe(false);
    expect(await keys.list()).toEqual([{ id: k.id, tenant: "acme", isAdmin: true, createdAtMs: k.createdAtMs, revokedAtMs: null }]);
  });

  it("authenticates nothing once revoked, and rejects unknown secrets and ids", async () => {
    const k = await keys.create("acme");
    await keys.revoke(k.id);
    await expect(keys.authenticate(k.secret)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(keys.authenticate("csk_unknown")).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(keys.revoke("key-missing")).rejects.toBeInstanceOf(ApiKeyNotFoundError);
    expect((await keys.list())[0]!.revokedAtMs).not.toBeNull();
  });

  it("bootstraps an admin key only on a store that never had a key", async () => {
    const first = await keys.bootstrapAdmin("default");
    expect(first).toMatchObject({ tenant: "default", isAdmin: true });
    await keys.revoke(first!.id);
    expect(await keys.bootstrapAdmin("default")).toBeUndefined();
  });

  it("imports a given secret of at least 32 characters", async () => {
    const secret = "s".repeat(32);
    const k = await keys.bootstrapAdmin("default", secret);
    expect(k!.secret).toBe(secret);
    expect(await keys.authenticate(secret)).toMatchObject({ isAdmin: true });
    await expect(keys.create("x", { secret: "short" })).rejects.toBeInstanceOf(InvalidParameterError);
    // Only what a client can send in a header, as ApiClient checks it: Latin-1 letters yes, control
    // characters and wider characters no.
    expect(await keys.create("x", { secret: "geheimer-schlüssel-für-das-team-2024" })).toBeDefined();
    for (const bad of [`${"s".repeat(32)}\u0007`, `${"s".repeat(32)}\u2026`, `${"s".repeat(16)} ${"s".repeat(16)}`]) {
      await expect(keys.create("x", { secret: bad })).rejects.toBeInstanceOf(InvalidParameterError);
    }
  });

  it("refuses tenant names that are not simple identifiers", async () => {
    for (const name of ["", " a", "a/b", "x".repeat(200), "-lead"]) {
      await expect(keys.create(name), JSON.stringify(name)).rejects.toBeInstanceOf(InvalidParameterError);
    }
  });
});
