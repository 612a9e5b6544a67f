import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContextSync, CtxSync } from "../src/sdk/index.js";
import { readTree, tempDir, writeTree, type Tree } from "./helpers/tree.js";

// The reference's acceptance scenarios with every part in its own process, as deployed: `ctxsync serve`,
// `ctxsync agent` in the "sandbox", and the SDK (this process) on 127.0.0.1.

const CLI = path.join(import.meta.dirname, "../src/cli/main.ts");

interface Proc {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => p.stdout.push(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => p.stderr.push(d));
  return p;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, describe = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Real server and agent processes on a 2-core box: once in three full-suite runs under heavy load, the
// SIGKILL case's sync request failed before the upload started (its errorMessage is now asserted, so a
// failure prints why). One retry keeps CI meaningful while that is tracked down; see the issue note.
describe("server and agent processes", { retry: 1 }, () => {
  let dir = "";
  let cleanup = () => {};
  let server: Proc | undefined;
  let client: CtxSync;
  let endpoint = "";
  const apiKey = randomBytes(32).toString("base64url");
  const children: Proc[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    // Short enough that a killed agent's session is lost within seconds, long enough that an agent process
    // starting on a loaded machine (tsx compiles on the fly) calls in before its session is given up.
    server = start(["serve", "--port", "0", "--data", path.join(dir, "server"), "--heartbeat-timeout-seconds", "8"], { CTXSYNC_ADMIN_KEY: apiKey });
    children.push(server);
    endpoint = await until("the server to listen", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server!.stderr.join(""))?.[1]);
    client = new CtxSync({ endpoint, apiKey, agentLog: () => undefined });
  });
  afterEach(async () => {
    await client.close();
    for (const p of children.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
      await p.exited;
    }
    cleanup();
  });

  async function seededContext(files: Tree): Promise<string> {
    const { contextId } = await client.context.create("work");
    const seed = await client.create({ root: path.join(dir, "seed"), contextSync: [ContextSync.new(contextId, "/work")] });
    writeTree(path.join(dir, "seed/work"), files);
    expect(await seed.session!.delete(true)).toMatchObject({ success: true });
    return contextId;
  }

  it("an agent process downloads at start, syncs on demand, uploads at release and exits 0", async () => {
    const ctx = await seededContext({ "seeded.txt": "from the seed" });
    const created = await client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/work")] });
    const session = created.session!;
    const root = path.join(dir, "sandbox");
    const agent = start(["agent", "--endpoint", endpoint, "--session", session.sessionId, "--token", session.sessionToken!, "--root", root]);
    children.push(agent);

    await until(
      "the initial download",
      async () => {
        const [t] = (await session.context.infoWithParams(ctx, "/work", "download")).contextStatusData;
        return t?.status === "Success" ? t : undefined;
      },
      30_000,
      () => `(agent said: ${agent.stderr.join("")})`,
    );
    expect(readTree(path.join(root, "work"))).toEqual({ "seeded.txt": "from the seed" });
    expect(agent.stdout.join("")).toContain(`connected, session ${session.sessionId}`);

    writeTree(path.join(root, "work"), { "made-in-sandbox.txt": "sandbox", sub: { "deep.txt": "deep" } });
    expect(await session.context.sync()).toMatchObject({ success: true });
    expect((await client.context.listFiles(ctx, "/work")).entries.map((e) => e.fileName)).toEqual(["sub", "made-in-sandbox.txt", "seeded.txt"]);

    fs.writeFileSync(path.join(root, "work/at-release.txt"), "last words");
    expect(await session.delete()).toMatchObject({ success: true });
    expect(await agent.exited).toEqual({ code: 0, signal: null });

    const next = await client.create({ root: path.join(dir, "next"), contextSync: [ContextSync.new(ctx, "/work")] });
    expect(readTree(path.join(dir, "next/work"))).toEqual({
      "seeded.txt": "from the seed",
      "made-in-sandbox.txt": "sandbox",
      "at-release.txt": "last words",
      sub: { "deep.txt": "deep" },
    });
    await next.session!.delete();
    expect(agent.stderr.join("") + agent.stdout.join("")).not.toContain(session.sessionToken!);
  });

  it("an agent restarted on another root does not upload the session's files as deleted", async () => {
    const ctx = await seededContext({ "a.txt": "a", "b.txt": "b" });
    const session = (await client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/work")] })).session!;
    const first = start(["agent", "--endpoint", endpoint, "--session", session.sessionId, "--root", path.join(dir, "right")], { CTXSYNC_SESSION_TOKEN: session.sessionToken! });
    children.push(first);
    await until("the initial download", async () => {
      const [t] = (await session.context.infoWithParams(ctx, "/work", "download")).contextStatusData;
      return t?.status === "Success" ? t : undefined;
    });
    first.child.kill("SIGKILL");
    await first.exited;

    const wrong = path.join(dir, "wrong");
    const second = start(["agent", "--endpoint", endpoint, "--session", session.sessionId, "--root", wrong], { CTXSYNC_SESSION_TOKEN: session.sessionToken! });
    children.push(second);
    await until("the second agent to attach", () => (second.stdout.join("").includes("connected") ? true : undefined), 30_000, () => second.stderr.join(""));
    const synced = await session.context.sync();
    expect(synced).toMatchObject({ success: false, errorMessage: expect.stringContaining(`Nothing uploaded: ${path.join(wrong, "work")} is not a directory here`) });
    expect((await client.context.listFiles(ctx, "/work")).entries.map((e) => e.fileName).sort()).toEqual(["a.txt", "b.txt"]);
    await session.delete();
  }, 60_000);

  it("an agent that refuses another session's id exits 1 without touching anything", async () => {
    const created = await client.create({ agent: "external", contextSync: [] });
    const agent = start(["agent", "--endpoint", endpoint, "--session", "sess-someone-else", "--root", path.join(dir, "x")], {
      CTXSYNC_SESSION_TOKEN: created.session!.sessionToken!,
    });
    children.push(agent);
    expect((await agent.exited).code).toBe(1);
    expect(agent.stderr.join("")).toContain(`the token belongs to session ${created.session!.sessionId}, not sess-someone-else`);
  });

  it("SIGKILL of the agent mid-upload: the session is lost, the task Failed, the context keeps its generation", async () => {
    const v1: Tree = {};
    for (let i = 0; i < 20; i++) v1[`f${i}.txt`] = `version 1 of ${i}`;
    const ctx = await seededContext(v1);
    const headBefore = (await client.context.log(ctx)).generations[0]!.generation;

    const session = (await client.create({ agent: "external", contextSync: [ContextSync.new(ctx, "/work")] })).session!;
    const root = path.join(dir, "sandbox");
    const agent = start(["agent", "--endpoint", endpoint, "--session", session.sessionId, "--root", root], { CTXSYNC_SESSION_TOKEN: session.sessionToken! });
    children.push(agent);
    await until(
      "the initial download",
      async () => {
        const [t] = (await session.context.infoWithParams(ctx, "/work", "download")).contextStatusData;
        return t?.status === "Success" ? t : undefined;
      },
      30_000,
      () => `(agent said: ${agent.stderr.join("")})`,
    );

    // Many files: one HEAD and one PUT each makes the upload last seconds, long enough to be caught in flight.
    const v2: Tree = {};
    for (let i = 0; i < 20; i++) v2[`f${i}.txt`] = `version 2 of ${i}`;
    for (let i = 0; i < 3000; i++) v2[`bulk-${i}.bin`] = randomBytes(2048);
    writeTree(path.join(root, "work"), v2);
    const accepted = await session.context.sync(undefined, undefined, "upload", () => undefined);
    expect(accepted.errorMessage ?? "").toBe("");
    let seen = "";
    await until(
      "upload progress",
      async () => {
        const [t] = (await session.context.infoWithParams(ctx, "/work", "upload")).contextStatusData;
        seen = JSON.stringify(t);
        return t?.status === "Running" && t.bytesDone > 0 ? t : undefined;
      },
      30_000,
      () => `(last seen: ${seen})`,
    );
    agent.child.kill("SIGKILL");
    expect(await agent.exited).toEqual({ code: null, signal: "SIGKILL" });

    await until("the session to be lost", async () => ((await client.get(session.sessionId)).session?.status === "lost" ? true : undefined), 40_000);
    const [upload] = (await session.context.infoWithParams(ctx, "/work", "upload")).contextStatusData;
    expect(upload).toMatchObject({ status: "Failed" });
    expect(upload!.errorMessage).toContain("stopped sending heartbeats");
    expect((await client.context.log(ctx)).generations[0]!.generation).toBe(headBefore);

    // A new session sees exactly the previous generation, every byte hash-verified on the way.
    const next = await client.create({ root: path.join(dir, "next"), contextSync: [ContextSync.new(ctx, "/work")] });
    expect(readTree(path.join(dir, "next/work"))).toEqual(v1);
    await next.session!.delete();

    const released = await session.delete();
    expect(released).toMatchObject({ success: false, errorCode: "TaskFailed" });
    expect(released.errorMessage).toContain("[TaskFailed] Session released, but the upload failed");
  }, 120_000);
});
