import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { apiPaths, BLOB_FRAMES_CONTENT_TYPE, blobFrameHeader, decodeBlobFrames } from "../src/api/index.js";
import { openEmbeddedStores } from "../src/service/index.js";
import { ContextSync, CtxSync, type Session } from "../src/sdk/index.js";
import { createServer, type RunningServer } from "../src/server/index.js";
import { tempDir } from "./helpers/tree.js";

const quiet = { info: () => undefined, error: () => undefined };
/** The admin key of the servers that remote SDK clients talk to here. */
const ADMIN_KEY = "admin-key-for-the-release-test-0123456789";

/** `ctxsync serve` on a real socket (127.0.0.1, port 0). */
describe("createServer on a real socket", () => {
  let dir = "";
  let cleanup = () => {};
  const running: RunningServer[] = [];
  /** Clients and proxies of a test, closed before its servers stop. */
  const closers: (() => Promise<unknown>)[] = [];
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const s of running.splice(0)) await s.stop();
    cleanup();
  });

  const start = async (opts: Parameters<typeof createServer>[0] = {}) => {
    const s = await createServer({ dataDir: path.join(dir, "data"), port: 0, log: quiet, env: {}, print: () => undefined, ...opts });
    running.push(s);
    return s;
  };
  /** A remote SDK client on `endpoint` with ADMIN_KEY, closed after the test. */
  const remoteClient = (endpoint: string) => {
    const client = new CtxSync({ endpoint, apiKey: ADMIN_KEY });
    closers.push(() => client.close());
    return client;
  };
  const call = (s: RunningServer, method: string, p: string, key: string, json?: unknown) =>
    fetch(`${s.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });

  it("prints an admin key once, on the first start of an empty store, and the key works", async () => {
    const lines: string[] = [];
    const first = await start({ print: (l) => lines.push(l) });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/shown only this once/);
    const key = lines[1]!.trim();
    expect(key).toMatch(/^csk_/);
    expect((await call(first, "POST", apiPaths.contexts, key, { name: "n" })).status).toBe(200);
    expect((await call(first, "GET", apiPaths.adminKeys, key)).status).toBe(200);
    await first.stop();

    const again = await start({ print: (l) => lines.push(l) });
    expect(lines).toHaveLength(2);
    expect((await call(again, "GET", apiPaths.contexts, key)).status).toBe(200);
  });

  it("takes the admin key from CTXSYNC_ADMIN_KEY without printing it", async () => {
    const lines: string[] = [];
    const key = `my-container-admin-key-${"x".repeat(20)}`;
    const s = await start({ print: (l) => lines.push(l), env: { CTXSYNC_ADMIN_KEY: key } });
    expect(lines).toEqual([]);
    const list = await call(s, "GET", apiPaths.adminKeys, key);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ keys: [{ tenant: "default", admin: true, revokedAt: null }] });
    expect((await call(s, "GET", apiPaths.contexts, "wrong")).status).toBe(401);
  });

  it("keeps idle connections a minute, so a client's keep-alive expires before the server closes under it", async () => {
    const s = await start();
    const res = await fetch(`${s.url}${apiPaths.openapi}`);
    await res.arrayBuffer();
    expect(res.headers.get("keep-alive")).toBe("timeout=65");
  });

  it("signs URLs with its own origin, usable with plain HTTP clients", async () => {
    const lines: string[] = [];
    const s = await start({ print: (l) => lines.push(l) });
    const key = lines[1]!.trim();
    const ctx = (await (await call(s, "POST", apiPaths.contexts, key, { name: "f" })).json()) as { id: string };
    const up = (await (await call(s, "POST", apiPaths.contextFileUrls(ctx.id), key, { path: "/x/y.bin", method: "PUT" })).json()) as { url: string };
    expect(up.url.startsWith(`${s.url}/v1/files/`)).toBe(true);
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    expect((await fetch(up.url, { method: "PUT", body: bytes })).status).toBe(200);
    const down = (await (await call(s, "POST", apiPaths.contextFileUrls(ctx.id), key, { path: "/x/y.bin", method: "GET" })).json()) as { url: string };
    const got = await fetch(down.url);
    expect(got.headers.get("content-length")).toBe("200000");
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("cuts a signed download short when the stored blob is damaged, and logs it under the request id", async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const s = await start({ print: (l) => lines.push(l), log: { info: () => undefined, error: (m) => errors.push(m) } });
    const key = lines[1]!.trim();
    const ctx = (await (await call(s, "POST", apiPaths.contexts, key, { name: "d" })).json()) as { id: string };
    const up = (await (await call(s, "POST", apiPaths.contextFileUrls(ctx.id), key, { path: "/d.bin", method: "PUT" })).json()) as { url: string };
    const bytes = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => i % 253));
    expect((await fetch(up.url, { method: "PUT", body: bytes })).status).toBe(200);
    const digest = createHash("sha256").update(bytes).digest("hex");
    const blob = path.join(dir, "data", "blobs", digest.slice(0, 2), digest);
    const damaged = fs.readFileSync(blob);
    damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 0xff;
    fs.writeFileSync(blob, damaged);

    const down = (await (await call(s, "POST", apiPaths.contextFileUrls(ctx.id), key, { path: "/d.bin", method: "GET" })).json()) as { url: string };
    const got = await fetch(down.url);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-length")).toBe(String(bytes.length));
    // The last chunk is held back until the bytes check out: the body ends short, and reading it fails.
    await expect(got.arrayBuffer()).rejects.toThrow();
    await vi.waitFor(() => expect(errors).toEqual([expect.stringMatching(/^request req-\S+ GET \/v1\/files\/.*: the answer was cut short$/)]));
  });

  it("streams agent blobs on the socket itself: batches, fetch frames and GET carry one request id; bad batches get JSON errors", async () => {
    const lines: string[] = [];
    const s = await start({ print: (l) => lines.push(l) });
    const key = lines[1]!.trim();
    const ctx = (await (await call(s, "POST", apiPaths.contexts, key, { name: "b" })).json()) as { id: string };
    const created = (await (await call(s, "POST", apiPaths.sessions, key, { contextSync: [{ contextId: ctx.id, path: "/w" }] })).json()) as {
      sessionToken: string;
    };
    const token = created.sessionToken;
    const bytes = Buffer.from("stored through a batch");
    const digest = createHash("sha256").update(bytes).digest("hex");
    const batch = (body: Buffer) =>
      fetch(`${s.url}${apiPaths.agentBlobsBatch}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": BLOB_FRAMES_CONTENT_TYPE }, body });

    const ok = await batch(Buffer.concat([blobFrameHeader(digest, "ok", bytes.length), bytes]));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toMatch(/^req-/);
    expect(await ok.json()).toEqual({ stored: 1, failed: [] });

    const cut = await batch(Buffer.concat([blobFrameHeader(digest, "ok", bytes.length), bytes.subarray(0, 5)]));
    expect(cut.status).toBe(400);
    expect(await cut.json()).toMatchObject({ code: "InvalidParameter", requestId: expect.stringMatching(/^req-/) });
    const big = await batch(blobFrameHeader(digest, "ok", (1 << 20) + 1));
    expect(big.status).toBe(413);

    // Not referenced by any context of the session yet: a notFound frame, and a 404 on GET.
    const fetched = await fetch(`${s.url}${apiPaths.agentBlobsFetch}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ digests: [digest] }),
    });
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("x-request-id")).toMatch(/^req-/);
    const frames = [];
    for await (const f of decodeBlobFrames(fetched.body as unknown as AsyncIterable<Uint8Array>)) frames.push(f.status);
    expect(frames).toEqual(["notFound"]);
    expect((await fetch(`${s.url}${apiPaths.agentBlob(digest)}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it("stops gracefully: ends long polls, lets an upload in flight commit, then refuses connections", async () => {
    const lines: string[] = [];
    const s = await start({ print: (l) => lines.push(l) });
    const key = lines[1]!.trim();
    const ctx = (await (await call(s, "POST", apiPaths.contexts, key, { name: "g" })).json()) as { id: string };
    const { sessionToken } = (await (await call(s, "POST", apiPaths.sessions, key, {})).json()) as { sessionToken: string };
    const { url } = (await (await call(s, "POST", apiPaths.contextFileUrls(ctx.id), key, { path: "/late.txt", method: "PUT" })).json()) as { url: string };

    const longPoll = call(s, "GET", `${apiPaths.agentTasks}?waitSeconds=60`, sessionToken);
    let send!: (chunk: string | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        send = (chunk) => (chunk === null ? controller.close() : controller.enqueue(new TextEncoder().encode(chunk)));
      },
    });
    const upload = fetch(url, { method: "PUT", body, duplex: "half" } as RequestInit);
    send("first half, ");
    await new Promise((r) => setTimeout(r, 100)); // let the request reach the handler

    const stopped = s.stop();
    expect(await (await longPoll).json()).toEqual({ sessionStatus: "running", tasks: [] });
    send("second half");
    send(null);
    expect((await upload).status).toBe(200);
    await stopped;
    await expect(fetch(`${s.url}${apiPaths.openapi}`)).rejects.toThrow();

    const stores = await openEmbeddedStores(path.join(dir, "data"));
    try {
      expect((await stores.meta.listLiveFiles(ctx.id, "/", Date.now())).map((f) => f.key)).toEqual(["/late.txt"]);
    } finally {
      await stores.meta.close();
    }
    expect(fs.readdirSync(path.join(dir, "data", "uploads"))).toEqual([]);
  });

  /**
   * An external session whose agent has taken its initial download, and a release of it that waits for
   * the agent's upload (`release`, started by the caller), on server `s`.
   */
  async function releasingSession<R>(s: RunningServer, release: (session: Session) => Promise<R>) {
    const key = ADMIN_KEY;
    const client = remoteClient(s.url);
    const { contextId } = await client.context.create("r");
    const session = (await client.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w")] })).session!;
    const agent = (srv: RunningServer, method: string, p: string, json?: unknown) => call(srv, method, p, session.sessionToken!, json);
    const poll = async (srv: RunningServer) =>
      (await (await agent(srv, "GET", `${apiPaths.agentTasks}?waitSeconds=0`)).json()) as { sessionStatus: string; tasks: { id: string; taskType: string }[] };
    const finish = async (srv: RunningServer, taskId: string) =>
      expect((await agent(srv, "POST", apiPaths.agentTaskFinish(taskId), { status: "Success", errorMessage: "" })).status).toBe(204);
    await finish(s, (await poll(s)).tasks[0]!.id);

    const released = release(session);
    for (;;) {
      const { status } = (await (await call(s, "GET", apiPaths.session(session.sessionId), key)).json()) as { status: string };
      if (status === "releasing") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { session, released, poll, finish };
  }

  it("a stop ends a release's wait for its agent with 503 ServerStopping; the restarted server finishes it", async () => {
    const errors: unknown[] = [];
    const log = { info: () => undefined, error: (m: string, err: unknown) => errors.push([m, err]) };
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY }, log });
    const { session, released, poll, finish } = await releasingSession(s, (session) => call(s, "DELETE", apiPaths.session(session.sessionId), ADMIN_KEY));
    await s.stop();
    const answer = await released;
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ code: "ServerStopping", message: expect.stringMatching(/stopping.*finishes once the server is back/) });
    // The release's handler ended before the store closed under it.
    expect(errors).toEqual([]);

    const again = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY }, log });
    const resumed = await poll(again);
    expect(resumed).toMatchObject({ sessionStatus: "releasing", tasks: [{ taskType: "upload" }] });
    await finish(again, resumed.tasks[0]!.id);
    expect(await poll(again)).toEqual({ sessionStatus: "released", tasks: [] });
    expect((await (await call(again, "GET", apiPaths.session(session.sessionId), ADMIN_KEY)).json()) as object).toMatchObject({ status: "released" });
    expect(errors).toEqual([]);
  });

  it("the remote SDK's release outlasts a server restart: it waits until the restarted server has released the session", async () => {
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY } });
    const { released, poll, finish } = await releasingSession(s, (session) => session.delete());
    await s.stop();
    const again = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY }, port: s.port });
    await finish(again, (await poll(again)).tasks[0]!.id);
    // The agent's next poll ends the release: the SDK sees the session released (not lost by silence).
    expect(await poll(again)).toEqual({ sessionStatus: "released", tasks: [] });
    expect(await released).toMatchObject({ success: true });
  });

  it("the remote SDK's sync() reports its own task, not a newer one of the same mount", async () => {
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY } });
    const client = remoteClient(s.url);
    const { contextId } = await client.context.create("overlap");
    const session = (await client.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w")] })).session!;
    const agent = (method: string, p: string, json?: unknown) => call(s, method, p, session.sessionToken!, json);
    const claim = async () => ((await (await agent("GET", `${apiPaths.agentTasks}?waitSeconds=0`)).json()) as { tasks: { id: string }[] }).tasks;
    const end = async (id: string, status: string, errorMessage = "") =>
      expect((await agent("POST", apiPaths.agentTaskFinish(id), { status, errorMessage })).status).toBe(204);
    await end((await claim())[0]!.id, "Success");

    const first = session.context.sync(contextId, "/w", "download", undefined, 1000, 20);
    let claimed: { id: string }[] = [];
    while (claimed.length === 0) claimed = await claim();
    const second = session.context.sync(contextId, "/w", "download", undefined, 1000, 20);
    let next: { id: string }[] = [];
    while (next.length === 0) next = await claim();
    await end(next[0]!.id, "Success");
    await end(claimed[0]!.id, "Failed", "disk full");
    expect(await first).toMatchObject({ success: false, errorCode: "TaskFailed", errorMessage: "[TaskFailed] /w: disk full" });
    expect(await second).toMatchObject({ success: true });
  });

  it("the remote SDK's release fails at once, saying so, when the server cannot be reached", async () => {
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY } });
    const session = (await remoteClient(s.url).create({ agent: "external", contextSync: [] })).session!;
    await s.stop();
    expect(await session.delete()).toMatchObject({ success: false, errorMessage: expect.stringMatching(/Cannot reach the ctxsync server/) });
  });

  /**
   * A proxy to `s` that cuts the connection of the first `deletes` DELETEs before the server sees them;
   * closed after the test.
   */
  async function droppingProxy(s: RunningServer, deletes: number) {
    const counts = { dropped: 0 };
    const proxy = http.createServer((req, res) => {
      if (req.method === "DELETE" && counts.dropped < deletes) {
        counts.dropped++;
        return void req.socket.destroy();
      }
      const upstream = http.request(`${s.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    closers.push(async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    });
    return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, counts };
  }

  const statusOf = async (s: RunningServer, sessionId: string) =>
    ((await (await call(s, "GET", apiPaths.session(sessionId), ADMIN_KEY)).json()) as { status: string }).status;

  it("the remote SDK's release gives up after five DELETEs lost on the way, saying why", async () => {
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY } });
    const proxy = await droppingProxy(s, Infinity);
    const session = (await remoteClient(proxy.url).create({ agent: "external", contextSync: [] })).session!;
    expect(await session.delete()).toMatchObject({ success: false, errorMessage: expect.stringMatching(/Cannot reach the ctxsync server/) });
    expect(proxy.counts.dropped).toBe(5);
    expect(await statusOf(s, session.sessionId)).toBe("running");
  });

  it("the remote SDK's release asks again when its DELETE was lost, and reports the silent agent's lost uploads", async () => {
    const s = await start({ env: { CTXSYNC_ADMIN_KEY: ADMIN_KEY }, options: { external: { heartbeatTimeoutMs: 1500, pollIntervalMs: 20 } } });
    const proxy = await droppingProxy(s, 1);
    const client = remoteClient(proxy.url);
    const { contextId } = await client.context.create("lost");
    const session = (await client.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w")] })).session!;
    // The agent calls in once, then the sandbox dies.
    expect((await call(s, "GET", `${apiPaths.agentTasks}?waitSeconds=0`, session.sessionToken!)).status).toBe(200);
    const released = await session.delete();
    expect(proxy.counts.dropped).toBe(1);
    expect(released).toMatchObject({ success: false, errorMessage: expect.stringMatching(/stopped sending heartbeats/) });
    expect(await statusOf(s, session.sessionId)).toBe("released");
  });

  it("refuses to start on a port in use, before it makes the first admin key", async () => {
    const s = await start();
    const printed: string[] = [];
    const other = path.join(dir, "other");
    await expect(createServer({ dataDir: other, port: s.port, log: quiet, env: {}, print: (l) => printed.push(l) })).rejects.toThrow(/EADDRINUSE/);
    expect(printed).toEqual([]);
    // The first start that succeeds is the one that shows the key.
    await start({ dataDir: other, print: (l) => printed.push(l) });
    expect(printed).toHaveLength(2);
  });

  it("a bad CTXSYNC_ADMIN_KEY stops the start and frees the port", async () => {
    const s = await start();
    const port = s.port;
    await s.stop();
    await expect(createServer({ dataDir: path.join(dir, "other"), port, log: quiet, env: { CTXSYNC_ADMIN_KEY: "short" }, print: () => undefined })).rejects.toThrow(/at least 32 characters/);
    await start({ port });
  });
});
