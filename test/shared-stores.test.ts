import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { DeleteBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../src/api/index.js";
import { ContextSync, CtxSync } from "../src/sdk/index.js";
import { createServer, type RunningServer } from "../src/server/index.js";
import { postgresTarget } from "../src/store/index.js";
import { useSharedStores, type FreshStores } from "./helpers/shared-stores.js";
import { readTree, tempDir, writeTree } from "./helpers/tree.js";

// Several stateless `ctxsync serve` replicas over one PostgreSQL database and one S3 bucket (SPEC §4).

const CLI = path.join(import.meta.dirname, "../src/cli/main.ts");
const quiet = { info: () => undefined, error: (m: string, err: unknown) => console.error(`server: ${m}`, err) };
const ADMIN_KEY = `admin-${"k".repeat(40)}`;
const URL_SECRET = "u".repeat(64);

describe("servers on PostgreSQL and S3", () => {
  const shared = useSharedStores();
  let stores: FreshStores;
  let dir = "";
  let cleanup = () => {};
  const servers: RunningServer[] = [];
  const clients: CtxSync[] = [];
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    stores = await shared.fresh();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.stop();
    await stores.drop();
    cleanup();
  });

  /** A server on this test's database and bucket (data dir `name`), stopped after the test. */
  const replica = async (name: string, over: Partial<Parameters<typeof createServer>[0]> = {}): Promise<RunningServer> => {
    const server = await createServer({
      dataDir: path.join(dir, name),
      postgresUrl: stores.postgresUrl,
      s3: stores.s3,
      port: 0,
      env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY, CTXSYNC_URL_SECRET: URL_SECRET },
      print: () => undefined,
      log: quiet,
      ...over,
    });
    servers.push(server);
    return server;
  };
  /** A logger that keeps the errors in `into`. */
  const keepErrors = (into: string[]) => ({ info: () => undefined, error: (m: string, err: unknown) => into.push(`${m}: ${String(err)}`) });
  const clientOf = (server: RunningServer): CtxSync => {
    const client = new CtxSync({ endpoint: server.url, apiKey: ADMIN_KEY, agentLog: () => undefined });
    clients.push(client);
    return client;
  };

  it("two replicas serve one set of contexts: what a session uploads through one, a session of the other downloads", async () => {
    const one = await replica("one");
    const two = await replica("two");
    const viaOne = clientOf(one);
    const viaTwo = clientOf(two);

    const created = await viaOne.context.create("shared");
    expect(created.success).toBe(true);
    const listed = await viaTwo.context.list();
    expect(listed.contexts.map((c) => c.name)).toEqual(["shared"]);

    const first = await viaOne.create({ root: path.join(dir, "s1"), contextSync: [ContextSync.new(created.contextId, "/work")] });
    const big = "0123456789abcdef".repeat(3 << 16); // 3 MiB: streamed, not batched
    writeTree(path.join(dir, "s1", "work"), { "a.txt": "alpha", deep: { "b.bin": big } });
    expect((await first.session!.delete(true)).success).toBe(true);

    await viaTwo.create({ root: path.join(dir, "s2"), contextSync: [ContextSync.new(created.contextId, "/work")] });
    expect(readTree(path.join(dir, "s2", "work"))).toEqual({ "a.txt": "alpha", deep: { "b.bin": big } });

    // The bytes are in the bucket, and neither replica keeps an embedded store of its own.
    const listing = await shared.s3Client().send(new ListObjectsV2Command({ Bucket: stores.s3.bucket }));
    expect(listing.KeyCount).toBeGreaterThanOrEqual(2);
    for (const name of ["one", "two"]) {
      expect(fs.existsSync(path.join(dir, name, "meta.db"))).toBe(false);
      expect(fs.existsSync(path.join(dir, name, "blobs"))).toBe(false);
    }
  });

  it("replicas starting together on an empty database make one admin key between them", async () => {
    const printed: string[] = [];
    await Promise.all(["one", "two", "three"].map((name) => replica(name, { env: {}, print: (l) => printed.push(l) })));
    expect(printed.filter((l) => /^\s+csk_/.test(l))).toHaveLength(1);
  });

  it("replicas starting together with one CTXSYNC_ADMIN_KEY all start, and the key works on each", async () => {
    const started = await Promise.all([replica("one"), replica("two")]);
    for (const s of started) expect((await clientOf(s).context.list()).success).toBe(true);
  });

  it("a URL signed by one replica works on the other when they share CTXSYNC_URL_SECRET", async () => {
    const one = await replica("one");
    const two = await replica("two");
    const ctx = (await clientOf(one).context.create("urls")).contextId;
    const up = await clientOf(one).context.getFileUploadUrl(ctx, "/notes/today.md");
    expect((await fetch(up.url.replace(one.url, two.url), { method: "PUT", body: "# today" })).status).toBe(200);
    const down = await clientOf(two).context.getFileDownloadUrl(ctx, "/notes/today.md");
    expect(await (await fetch(down.url.replace(two.url, one.url))).text()).toBe("# today");
  });

  it("`ctxsync serve` takes the stores from its environment, names them without secrets, and `keys` works on the same database", async () => {
    const env = {
      ...process.env,
      CTXSYNC_ADMIN_KEY: ADMIN_KEY,
      CTXSYNC_PG_URL: stores.postgresUrl,
      CTXSYNC_S3_BUCKET: stores.s3.bucket,
      CTXSYNC_S3_ENDPOINT: stores.s3.endpoint!,
      CTXSYNC_S3_REGION: stores.s3.region!,
      AWS_ACCESS_KEY_ID: stores.s3.credentials!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stores.s3.credentials!.secretAccessKey,
      CTXSYNC_ENDPOINT: "",
    };
    const data = path.join(dir, "data");
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--port", "0", "--data", data], { env });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      while (!/listening on (http:\/\/\S+)/.test(stderr)) {
        if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
      const pgUrl = new URL(stores.postgresUrl);
      const shown = `postgresql://${postgresTarget(pgUrl)}`; // host:port/db, the port shown even when the URL omits it
      expect(stderr).toContain(`(metadata ${shown}, blobs s3://${stores.s3.bucket}/ at ${new URL(stores.s3.endpoint!).origin})`);
      for (const secret of [pgUrl.password, stores.s3.credentials!.secretAccessKey, ADMIN_KEY]) {
        if (secret) expect(stderr).not.toContain(secret);
      }

      const keys = (args: string[], keysEnv: NodeJS.ProcessEnv) =>
        new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
          execFile(process.execPath, ["--import", "tsx", CLI, "keys", ...args], { env: keysEnv, encoding: "utf8" }, (err, stdout, errText) =>
            err ? reject(new Error(errText)) : resolve({ stdout, stderr: errText }),
          ),
        );
      // From the environment, as serve read it; then with --pg-url, as serve --pg-url would take it.
      const created = await keys(["--data", data, "create", "--tenant", "acme"], env);
      expect(created.stderr).toContain(`ctxsync keys: on ${shown}`);
      const res = await fetch(`${url}${apiPaths.contexts}`, { headers: { authorization: `Bearer ${created.stdout.trim()}` } });
      expect(res.status).toBe(200);
      const listed = await keys(["--pg-url", stores.postgresUrl, "list"], { ...process.env, CTXSYNC_PG_URL: "", CTXSYNC_ENDPOINT: "" });
      expect(listed.stdout).toMatch(/\tacme\t-\t/);
      expect(fs.existsSync(path.join(data, "meta.db"))).toBe(false);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).toBe(0);
  });

  // The race this guards (a long poll's handler asking the database after its client hung up, once the
  // stop closed the pool) showed in the scenario runs; InFlight's own tests pin the waiting down.
  it("a stop after an agent hung up mid-poll ends cleanly, logging nothing", async () => {
    const logged: string[] = [];
    const server = await replica("one", { log: keepErrors(logged) });
    const created = await fetch(`${server.url}${apiPaths.sessions}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ agent: "external" }),
    });
    const { session, sessionToken } = (await created.json()) as { session: { id: string }; sessionToken: string };
    const hangUp = new AbortController();
    const poll = fetch(`${server.url}${apiPaths.agentTasks}?waitSeconds=60`, { headers: { authorization: `Bearer ${sessionToken}` }, signal: hangUp.signal });
    // The poll's authentication records a heartbeat; once the database has it, the handler is waiting.
    await waitForHeartbeat(stores.postgresUrl, session.id);
    hangUp.abort();
    await expect(poll).rejects.toThrow();
    // The stop ends the poll, whose handler then asks the database once more.
    await server.stop();
    expect(logged).toEqual([]);
  });

  it("answers 503 StoreUnavailable when its bucket goes away, naming the bucket in its log only", async () => {
    const logged: string[] = [];
    const server = await replica("one", { log: keepErrors(logged) });
    const ctx = (await clientOf(server).context.create("gone")).contextId;
    const up = await clientOf(server).context.getFileUploadUrl(ctx, "/a.txt");
    await shared.s3Client().send(new DeleteBucketCommand({ Bucket: stores.s3.bucket }));

    const res = await fetch(up.url, { method: "PUT", body: "bytes" });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; message: string; requestId: string };
    expect(body.code).toBe("StoreUnavailable");
    expect(body.message).toContain(body.requestId);
    expect(body.message).not.toContain(stores.s3.bucket);
    expect(logged.join("\n")).toContain(body.requestId);
    expect(logged.join("\n")).toContain(stores.s3.bucket);
    expect((await clientOf(server).context.listFiles(ctx, "/")).entries).toEqual([]);
  });

  it("a server whose bucket does not exist refuses to start and says which bucket", async () => {
    await expect(
      createServer({ dataDir: path.join(dir, "x"), postgresUrl: stores.postgresUrl, s3: { ...stores.s3, bucket: "no-such-bucket" }, port: 0, env: {}, print: () => undefined, log: quiet }),
    ).rejects.toThrow(/no-such-bucket/);
  });
});

/** Waits until the session's agent has called in, as the database records it (at most 10 s). */
async function waitForHeartbeat(postgresUrl: string, sessionId: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    for (let i = 0; i < 200; i++) {
      const { rows } = await client.query<{ beat: string | null }>("SELECT last_heartbeat AS beat FROM sessions WHERE id = $1", [sessionId]);
      if (rows[0]?.beat != null) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`session ${sessionId}: no heartbeat recorded within 10 s`);
  } finally {
    await client.end();
  }
}
