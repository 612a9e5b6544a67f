import http from "node:http";
import net from "node:net";
import path from "node:path";
import { inspect } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { runAgent } from "../../src/agent/index.js";
import { apiPaths } from "../../src/api/index.js";
import { ContextSync, CtxSync } from "../../src/sdk/index.js";
import { createServer } from "../../src/server/index.js";
import { useClientHarness } from "../helpers/client-harness.js";
import { readTree, writeTree } from "../helpers/tree.js";

// What only one kind of client can do, and how the other says so.

describe("embedded client", () => {
  const h = useClientHarness("embedded");

  it("answers file URL requests with NotSupported and a way out, after checking the context exists", async () => {
    const ctx = await h().newContext();
    const up = await h().client.context.getFileUploadUrl(ctx, "/data/a.txt");
    expect(up).toMatchObject({ success: false, errorCode: "NotSupported", url: "", expireTime: 0 });
    expect(up.errorMessage).toMatch(/^\[NotSupported\] getFileUploadUrl needs a server .* new CtxSync\(\{ endpoint, apiKey \}\)/);
    expect(await h().client.context.getFileDownloadUrl(ctx, "/data/a.txt")).toMatchObject({ success: false, errorCode: "NotSupported" });
    expect(await h().client.context.getFileDownloadUrl("ctx-nope", "/data/a.txt")).toMatchObject({ success: false, errorCode: "ContextNotFound" });
  });

  it("refuses external agents, which need a server", async () => {
    const r = await h().client.create({ agent: "external", contextSync: [] });
    expect(r).toMatchObject({ success: false, errorCode: "NotSupported" });
  });

  it("collects garbage", async () => {
    expect(await h().client.gc()).toMatchObject({ success: true, deletedBlobs: 0 });
  });
});

describe("remote client", () => {
  const h = useClientHarness("remote");

  it("signs file URLs that PUT and GET bytes without credentials; what was PUT reaches the next session", async () => {
    const ctx = await h().newContext();
    const up = await h().client.context.getFileUploadUrl(ctx, "/data/hello.txt");
    expect(up).toMatchObject({ success: true });
    expect(up.expireTime).toBeGreaterThan(Date.now() / 1000 + 3000);
    const put = await fetch(up.url, { method: "PUT", body: "hello via url" });
    expect(put.status).toBe(200);

    await h().session("ra", [[ctx, "/data"]]);
    expect(readTree(h().local("ra", "/data"))).toEqual({ "hello.txt": "hello via url" });
    const down = await h().client.context.getFileDownloadUrl(ctx, "/data/hello.txt");
    expect(await (await fetch(down.url)).text()).toBe("hello via url");
    expect((await fetch(down.url.replace(/sig=[^&]+/, "sig=forged"))).status).toBe(403);
  });

  it("leaves garbage collection to the server", async () => {
    const r = await h().client.gc();
    expect(r).toMatchObject({ success: false, errorCode: "NotSupported", deletedBlobs: 0 });
    expect(r.errorMessage).toContain("runs on the server");
  });

  it("a wrong API key fails every call with Unauthorized, and the key is never shown", async () => {
    const bad = new CtxSync({ endpoint: h().server!.url, apiKey: "not-the-key-0123456789-secret" });
    const r = await bad.context.list();
    expect(r).toMatchObject({ success: false, errorCode: "Unauthorized" });
    expect(r.requestId).toMatch(/^req-/); // the id the server's log knows the call by
    expect(JSON.stringify(r)).not.toContain("not-the-key-0123456789-secret");
    expect(inspect(bad, { depth: 5 })).not.toContain("not-the-key-0123456789-secret");
    await bad.close();
  });

  it("a server that is not there is StoreUnavailable, not a thrown fetch error", async () => {
    const gone = new CtxSync({ endpoint: "http://127.0.0.1:1", apiKey: h().apiKey });
    const r = await gone.context.get("x");
    expect(r).toMatchObject({ success: false, errorCode: "StoreUnavailable" });
    expect(r.errorMessage).toContain("Cannot reach the ctxsync server at http://127.0.0.1:1");
  });

  it("sync polls maxRetries times from retryInterval, then fails saying so (here: no agent is running)", async () => {
    const ctx = await h().newContext();
    const { session } = await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] });
    const r = await session!.context.sync(undefined, undefined, undefined, undefined, 3, 10);
    expect(r).toMatchObject({ success: false, errorCode: "SyncTimeout", errorMessage: "[SyncTimeout] Context sync polling timed out after 3 attempts" });
    const calls: boolean[] = [];
    await new Promise<void>((resolve) => {
      void session!.context.sync(ctx, "/data", "download", (ok) => {
        calls.push(ok);
        resolve();
      }, 2, 10);
    });
    expect(calls).toEqual([false]);
  });

  it("an agent that attaches runs the task an earlier agent of its session claimed and never finished", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "seeded.txt": "s" });
    await seed.delete(true);
    const session = (await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] })).session!;
    // An earlier agent claims the download (its poll marks it Running) and dies before running it.
    const poll = await fetch(`${h().server!.url}${apiPaths.agentTasks}?waitSeconds=0`, { headers: { authorization: `Bearer ${session.sessionToken}` } });
    expect(poll.status).toBe(200);
    expect((await session.context.info()).contextStatusData).toMatchObject([{ taskType: "download", status: "Running" }]);

    const root = path.join(h().dir, "sandbox");
    const agent = runAgent({ endpoint: h().server!.url, sessionToken: session.sessionToken!, root });
    // The same task, not a new one: attaching put it back to Pending for this agent to claim.
    await vi.waitFor(async () => expect((await session.context.infoWithParams(ctx, "/data", "download")).contextStatusData).toMatchObject([{ status: "Success" }]), {
      timeout: 15_000,
      interval: 50,
    });
    expect(readTree(path.join(root, "data"))).toEqual({ "seeded.txt": "s" });
    await session.delete();
    expect(await agent).toMatchObject({ reason: "released" });
  });

  it("agent: external returns at once with a token; an agent started with it runs the session's transfers", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "seeded.txt": "s" });
    await seed.delete(true);

    const created = await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] });
    expect(created.success).toBe(true);
    const session = created.session!;
    expect(session.sessionToken).toMatch(/\S{20,}/);
    expect((await session.context.info()).contextStatusData).toMatchObject([{ taskType: "download", status: "Pending" }]);

    const root = path.join(h().dir, "sandbox");
    const agent = runAgent({ endpoint: h().server!.url, sessionToken: session.sessionToken!, root });
    expect((await session.context.sync(ctx, "/data", "download")).success).toBe(true);
    expect(readTree(path.join(root, "data"))).toEqual({ "seeded.txt": "s" });
    writeTree(path.join(root, "data"), { "from-sandbox.txt": "x" });
    expect(await session.delete()).toMatchObject({ success: true });
    expect(await agent).toMatchObject({ reason: "released", sessionId: session.sessionId });
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["from-sandbox.txt", "seeded.txt"]);
  });

  it("an agent that cannot report a task's end tells the server once it answers again, so the task does not stay Running", async () => {
    const ctx = await h().newContext();
    const session = (await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] })).session!;
    // The agent talks through a proxy that can refuse task ends (as an outage would) and passes the rest.
    const server = new URL(h().server!.url);
    let refuseFinish = false;
    const polls: string[] = [];
    const proxy = http.createServer((req, res) => {
      if (req.url?.startsWith(`${apiPaths.agentTasks}?`)) polls.push(req.url);
      if (refuseFinish && req.url?.endsWith("/finish")) {
        req.resume();
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ code: "StoreUnavailable", message: "down", requestId: "p" }));
        return;
      }
      const upstream = http.request({ host: server.hostname, port: server.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const logs: string[] = [];
    const root = path.join(h().dir, "flaky-sandbox");
    const endpoint = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const agent = runAgent({ endpoint, sessionToken: session.sessionToken!, root, waitSeconds: 5, onLog: (_level, m) => logs.push(m) });
    try {
      expect((await session.context.sync(ctx, "/data", "download")).success).toBe(true);
      refuseFinish = true;
      writeTree(path.join(root, "data"), { "late.txt": "l" });
      const ended = new Promise<boolean>((resolve) => void session.context.sync(ctx, "/data", "upload", resolve));
      await vi.waitFor(() => expect(logs.some((m) => m.includes("will again once the server answers"))).toBe(true), { timeout: 30_000 });
      expect((await session.context.info()).contextStatusData.filter((t) => t.taskType === "upload")).toMatchObject([{ status: "Running" }]);
      // While an end waits to be reported, the agent's polls wait a second at most (not their usual 5
      // here, 25 by default), so the report goes soon after the server takes it again.
      await vi.waitFor(() => expect(polls.some((u) => u.endsWith("waitSeconds=1"))).toBe(true), { timeout: 30_000 });
      refuseFinish = false;
      expect(await ended).toBe(true);
      expect(await session.delete()).toMatchObject({ success: true });
      expect(await agent).toMatchObject({ reason: "released" });
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  }, 60_000);

  it("a file over the server's --max-file-mb fails by itself, naming the limit, and the others are uploaded", async () => {
    const server = await createServer({
      dataDir: path.join(h().dir, "small-server"),
      port: 0,
      env: { CTXSYNC_ADMIN_KEY: h().apiKey },
      options: { maxFileBytes: 64 * 1024 },
      print: () => undefined,
      log: { info: () => undefined, error: () => undefined },
    });
    const client = new CtxSync({ endpoint: server.url, apiKey: h().apiKey });
    try {
      const ctx = (await client.context.create("limited")).contextId;
      const { session } = await client.create({ root: path.join(h().dir, "limited"), contextSync: [ContextSync.new(ctx, "/data")] });
      writeTree(path.join(h().dir, "limited", "data"), { "small.txt": "s", "big.bin": Buffer.alloc(3 << 20, 7), "mid.bin": Buffer.alloc(100 * 1024, 1) });
      const r = await session!.context.sync();
      expect(r).toMatchObject({ success: false, errorCode: "TaskFailed" });
      expect(r.errorMessage).toContain("This 3145728-byte file is larger than the limit of 65536 bytes");
      expect(r.errorMessage).toContain("This 102400-byte file is larger than the limit of 65536 bytes");
      expect(r.errorMessage).not.toContain("Cannot reach");
      expect((await client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["small.txt"]);
      await session!.delete();
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it("a second agent attaching to a session takes it over: the first stops, and only the second works on it", async () => {
    const ctx = await h().newContext();
    const session = (await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] })).session!;
    const endpoint = h().server!.url;
    const token = session.sessionToken!;
    const logsA: string[] = [];
    let readyA!: () => void;
    const attachedA = new Promise<void>((resolve) => (readyA = resolve));
    const first = runAgent({ endpoint, sessionToken: token, root: path.join(h().dir, "a"), waitSeconds: 1, onLog: (_l, m) => logsA.push(m), onReady: () => readyA() });
    await attachedA;
    const second = runAgent({ endpoint, sessionToken: token, root: path.join(h().dir, "b"), waitSeconds: 1 });
    expect(await first).toMatchObject({ reason: "replaced" });
    expect(logsA.some((m) => m.startsWith("Another agent attached to session"))).toBe(true);

    writeTree(path.join(h().dir, "b", "data"), { "from-b.txt": "b" });
    expect(await session.context.sync()).toMatchObject({ success: true });
    expect(await session.delete()).toMatchObject({ success: true });
    expect(await second).toMatchObject({ reason: "released" });
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["from-b.txt"]);
    // The first agent's requests, with its attach number, are refused.
    const stale = await fetch(`${endpoint}${apiPaths.agentTasks}?waitSeconds=0`, { headers: { authorization: `Bearer ${token}`, "x-ctxsync-agent-epoch": "1" } });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ code: "AgentReplaced" });
  });

  it("a task the server breaks off midway runs again once the server answers, so the release keeps the data", async () => {
    const ctx = await h().newContext();
    const session = (await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] })).session!;
    // A relay to the server that drops the first blob upload and then, for 1.5 s, every connection: the
    // server restarting in the middle of the task, as the agent sees it.
    const server = new URL(h().server!.url);
    let downUntil = 0;
    let cut = false;
    const relay = net.createServer((c) => {
      if (Date.now() < downUntil) return void c.destroy();
      const upstream = net.connect(Number(server.port), server.hostname);
      c.once("data", (first: Buffer) => {
        if (!cut && first.toString("latin1").startsWith(`POST ${apiPaths.agentBlobsBatch}`)) {
          cut = true;
          downUntil = Date.now() + 1500;
          upstream.destroy();
          return void c.destroy();
        }
        upstream.write(first);
        c.pipe(upstream).pipe(c);
      });
      upstream.on("error", () => c.destroy());
      c.on("error", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const logs: string[] = [];
    const root = path.join(h().dir, "sandbox");
    const agent = runAgent({
      endpoint: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
      sessionToken: session.sessionToken!,
      root,
      onLog: (_level, m) => logs.push(m),
    });
    try {
      await vi.waitFor(async () => expect((await session.context.info()).contextStatusData[0]).toMatchObject({ status: "Success" }), { timeout: 10_000 });
      writeTree(path.join(root, "data"), { "a.txt": "a", d: { "b.txt": "b" } });
      expect(await session.delete()).toMatchObject({ success: true });
      expect(cut).toBe(true);
      expect(logs.some((m) => m.startsWith("upload of /data broke off") && m.includes("running it again"))).toBe(true);
      expect(await agent).toMatchObject({ reason: "released" });
      const next = await h().session("next", [[ctx, "/data"]]);
      expect(readTree(h().local("next", "/data"))).toEqual({ "a.txt": "a", d: { "b.txt": "b" } });
      await next.delete();
    } finally {
      relay.close();
    }
  });

  it("an agent started before its server can be reached keeps trying to attach, then runs the session", async () => {
    const ctx = await h().newContext();
    const session = (await h().client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/data")] })).session!;
    // A port nothing listens on yet; later a relay to the server opens there.
    const probe = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => probe.once("listening", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const logs: string[] = [];
    const root = path.join(h().dir, "late-sandbox");
    const agent = runAgent({ endpoint: `http://127.0.0.1:${port}`, sessionToken: session.sessionToken!, root, onLog: (_level, m) => logs.push(m) });
    await vi.waitFor(() => expect(logs.some((m) => m.startsWith("could not attach to the session"))).toBe(true), { timeout: 10_000 });

    const server = new URL(h().server!.url);
    const relay = net.createServer((c) => {
      const upstream = net.connect(Number(server.port), server.hostname);
      c.pipe(upstream).pipe(c);
      upstream.on("error", () => c.destroy());
      c.on("error", () => upstream.destroy());
    });
    relay.listen(port, "127.0.0.1");
    try {
      expect((await session.context.sync(ctx, "/data", "download")).success).toBe(true);
      expect(await session.delete()).toMatchObject({ success: true });
      expect(await agent).toMatchObject({ reason: "released", sessionId: session.sessionId });
    } finally {
      relay.close();
    }
  });
});
