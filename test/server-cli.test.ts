import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../src/api/index.js";
import { createServer, type RunningServer } from "../src/server/index.js";
import { tempDir } from "./helpers/tree.js";

const CLI = path.join(import.meta.dirname, "../src/cli/main.ts");
const quiet = { info: () => undefined, error: () => undefined };

describe("ctxsync keys and serve", () => {
  let dir = "";
  let cleanup = () => {};
  let server: RunningServer | undefined;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    cleanup();
  });

  const data = () => path.join(dir, "data");
  /** Runs the CLI without blocking this process, whose event loop serves the in-process server it may call. */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", CLI, ...args],
        { encoding: "utf8", env: { ...process.env, CTXSYNC_ENDPOINT: "", CTXSYNC_API_KEY: "" } },
        (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const status = async (key: string) =>
    (await fetch(`${server!.url}${apiPaths.contexts}`, { headers: { authorization: `Bearer ${key}` } })).status;

  it("creates, lists and revokes keys on a data directory; a running server honours them at once", async () => {
    server = await createServer({ dataDir: data(), port: 0, log: quiet, env: {}, print: () => undefined });
    const created = await cli("keys", "--data", data(), "create", "--tenant", "acme");
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^csk_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/Created key key-\S+ for tenant acme\. The secret below is shown only this once/);
    expect(await status(key)).toBe(200);

    const list = await cli("keys", "--data", data(), "list");
    expect(list.status).toBe(0);
    expect(list.stdout).not.toContain(key);
    const line = list.stdout.split("\n").find((l) => l.includes("\tacme\t"))!;
    expect(line).toMatch(/^key-\S+\tacme\t-\t\S+Z\tactive$/);
    const id = line.split("\t")[0]!;

    expect((await cli("keys", "--data", data(), "revoke", id)).status).toBe(0);
    expect(await status(key)).toBe(401);
    expect((await cli("keys", "--data", data(), "list")).stdout).toMatch(new RegExp(`${id}\\tacme\\t-\\t\\S+Z\\trevoked \\S+Z`));
    const missing = await cli("keys", "--data", data(), "revoke", "key-nope");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("[ApiKeyNotFound]");
  });

  it.runIf(process.platform === "linux")("serve --data under /proc exits 1 with the path instead of hanging", async () => {
    const res = await cli("serve", "--port", "0", "--data", "/proc/ctxsync-no-such-dir");
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("mkdir '/proc/ctxsync-no-such-dir'");
  });

  it("manages keys through the admin API with --endpoint and an admin key", async () => {
    const adminKey = `admin-${"k".repeat(40)}`;
    server = await createServer({ dataDir: data(), port: 0, log: quiet, env: { CTXSYNC_ADMIN_KEY: adminKey } });
    const created = await cli("keys", "--endpoint", server.url, "--api-key", adminKey, "create", "--tenant", "team", "--admin");
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(await status(key)).toBe(200);
    const list = await cli("keys", "--endpoint", server.url, "--api-key", adminKey, "list");
    expect(list.stdout).toMatch(/\tteam\tadmin\t/);
    const id = list.stdout.split("\n").find((l) => l.includes("\tteam\t"))!.split("\t")[0]!;
    expect((await cli("keys", "--endpoint", server.url, "--api-key", adminKey, "revoke", id)).status).toBe(0);
    expect(await status(key)).toBe(401);

    const ordinary = (await cli("keys", "--data", data(), "create", "--tenant", "plain")).stdout.trim();
    const refused = await cli("keys", "--endpoint", server.url, "--api-key", ordinary, "list");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("[Forbidden]");
  });

  it("serve prints the admin key once, answers on its port, and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--port", "0", "--data", data()], { env: { ...process.env, CTXSYNC_ADMIN_KEY: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    while (!/listening on (http:\/\/\S+)/.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
    const key = /\n\s+(csk_\S+)/.exec(stdout)![1]!;
    const res = await fetch(`${url}${apiPaths.contexts}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(stderr).not.toContain(key);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM received, stopping/);
  });
});
