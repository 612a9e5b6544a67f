import { execFile, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CtxSync } from "../src/sdk/index.js";
import { createServer, type RunningServer } from "../src/server/index.js";
import { readTree, tempDir } from "./helpers/tree.js";

const MAIN = path.join(import.meta.dirname, "../src/cli/main.ts");

describe("ctxsync CLI", () => {
  let dir = "";
  let cleanup = () => {};
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", path.join(dir, "store"), ...args], { encoding: "utf8" });

  it("exec persists what a command wrote into the next exec's session", () => {
    const first = cli("exec", "-m", "notes:/work", "--root", path.join(dir, "a"), "--", "sh", "-c", "mkdir d && echo hi > d/f.txt");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const second = cli("exec", "-m", "notes:/work", "--root", path.join(dir, "b"), "--", "cat", "d/f.txt");
    expect(second.stdout).toBe("hi\n");
    expect(readTree(path.join(dir, "b/work"))).toEqual({ d: { "f.txt": "hi\n" } });
    expect(cli("files", "notes", "/work/d").stdout).toMatch(/^-\t3\t.*\t\/work\/d\/f.txt\n$/);
    // A file's path, or a folder with nothing in it, lists nothing, and says so (still no error).
    const none = cli("files", "notes", "/work/d/f.txt");
    expect(none).toMatchObject({ status: 0, stdout: "" });
    expect(none.stderr).toContain("ctxsync: no files in notes under /work/d/f.txt");
  });

  it("exec passes on the command's exit code", () => {
    expect(cli("exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", "sh", "-c", "exit 3").status).toBe(3);
  });

  /** Ids of the store's running sessions: exec must leave none behind. */
  const runningSessions = async () => {
    const client = new CtxSync({ home: path.join(dir, "store") });
    try {
      return (await client.list()).sessionIds;
    } finally {
      await client.close();
    }
  };

  it("exec with a bad --mount fails before it creates any context", async () => {
    const relative = cli("exec", "-m", "fresh:relative", "--root", path.join(dir, "a"), "--", "true");
    expect(relative.status).toBe(1);
    expect(relative.stderr).toContain('Invalid path "relative": it is relative');
    const twice = cli("exec", "-m", "one:/w", "-m", "two:/w/", "--root", path.join(dir, "a"), "--", "true");
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain("/w is mounted twice");
    const client = new CtxSync({ home: path.join(dir, "store") });
    try {
      expect((await client.context.list()).contexts).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it("exec of a command that does not exist exits 127 as a shell does, and releases its session", async () => {
    const r = cli("exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", "no-such-command-here");
    expect(r.status).toBe(127);
    expect(r.stderr).toContain("ctxsync: cannot run no-such-command-here");
    expect(await runningSessions()).toEqual([]);
  });

  it("exec does not run the command when a download failed, uploads nothing, says why, and releases the session", async () => {
    expect(cli("exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", "sh", "-c", "echo file > a.txt").status).toBe(0);
    // A stale folder where the context has a file: the download cannot place a.txt.
    fs.mkdirSync(path.join(dir, "b/w/a.txt"), { recursive: true });
    fs.writeFileSync(path.join(dir, "b/w/a.txt/inner"), "stale");
    const r = cli("exec", "-m", "n:/w", "--root", path.join(dir, "b"), "--", "touch", "ran");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the session's download failed, so the command was not run and nothing is uploaded: \/w: .*a\.txt.*in the way/);
    expect(fs.existsSync(path.join(dir, "b/w/ran"))).toBe(false);
    expect(await runningSessions()).toEqual([]);
    // The stale folder did not replace the context's file.
    expect(cli("files", "n", "/w").stdout).toMatch(/^-\t5\t.*\t\/w\/a\.txt\n$/);
    expect(cli("log", "n").stdout.trim().split("\n")).toHaveLength(1);
  });

  it("exec leaves a terminal's Ctrl-C to the command (it gets one SIGINT), passes a second SIGINT on, and uploads what it wrote", async () => {
    const script = [
      "let n = 0; process.on('SIGINT', () => require('fs').writeFileSync('count.txt', String(++n)));",
      "require('fs').writeFileSync('ready', '');",
      "setTimeout(() => process.exit(0), 3000);",
    ].join(" ");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--home", path.join(dir, "store"), "exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", process.execPath, "-e", script],
      { stdio: ["ignore", "pipe", "pipe"], detached: true }, // its own process group, as a terminal's job
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const count = () => fs.readFileSync(path.join(dir, "a/w/count.txt"), "utf8");
    while (!fs.existsSync(path.join(dir, "a/w/ready"))) await new Promise((r) => setTimeout(r, 20));
    process.kill(-child.pid!, "SIGINT"); // what Ctrl-C does: the whole group
    while (!fs.existsSync(path.join(dir, "a/w/count.txt"))) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // a second copy from exec would have come by now
    expect(count()).toBe("1");
    child.kill("SIGINT"); // to exec alone, a second time: passed on
    while (count() === "1") await new Promise((r) => setTimeout(r, 20));
    expect(count()).toBe("2");
    expect(await exited).toBe(0);
    expect(cli("files", "n", "/w").stdout).toContain("/w/count.txt");
    expect(await runningSessions()).toEqual([]);
  });

  it("exec passes SIGTERM on to the command, waits for it, uploads what it wrote, and exits 128 + 15", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--home", path.join(dir, "store"), "exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", "sh", "-c", "echo data > f.txt && exec sleep 60"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    while (!fs.existsSync(path.join(dir, "a/w/f.txt"))) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM"); // exec alone, as a supervisor stopping it would
    expect(await exited).toBe(143);
    expect(cli("files", "n", "/w").stdout).toMatch(/\/w\/f\.txt\n$/);
    expect(await runningSessions()).toEqual([]);
  });

  it("names the flag a bad number came with", () => {
    const list = cli("context", "list", "--max", "1.5");
    expect(list.status).toBe(1);
    expect(list.stderr).toContain('--max must be a whole number from 1 to 1000; got "1.5"');
    const gc = cli("gc", "--retention-days", "");
    expect(gc.status).toBe(1);
    expect(gc.stderr).toContain('--retention-days must be a number, 0 or more; got ""');
  });

  it("reports a missing context with the reason and exit code 1", () => {
    const r = cli("files", "nope");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[ContextNotFound] Context "nope" not found');
  });

  it("log lists a context's generations, restore brings an earlier one back, and gc prints what it did", () => {
    const write = (root: string, text: string) =>
      cli("exec", "-m", "notes:/work", "--root", path.join(dir, root), "--", "sh", "-c", `echo ${text} > f.txt`);
    expect(write("a", "v1").status).toBe(0);
    expect(write("b", "v2").status).toBe(0);

    const log = cli("log", "notes");
    expect(log.stderr).toBe("");
    expect(log.stdout).toMatch(/^2\t\S+Z\t\+0 ~1 -0\tsess-\S+\n1\t\S+Z\t\+1 ~0 -0\tsess-\S+\n$/);

    const restore = cli("restore", "notes", "1", "--path", "/work/f.txt");
    expect(restore.stderr).toBe("");
    expect(restore.stdout).toBe("3\n");
    expect(cli("exec", "-m", "notes:/work", "--root", path.join(dir, "c"), "--", "cat", "f.txt").stdout).toBe("v1\n");

    const gc = cli("gc", "--retention-days", "7");
    expect(gc.stderr).toBe("");
    expect(gc.stdout).toBe("expired files\t0\npruned versions\t0\npruned generations\t0\ndeleted blobs\t0\nkept blobs\t2\n");

    const missing = cli("restore", "notes", "9");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("[GenerationNotFound]");
  });

  it("agent says when it has no server to talk to; keys with --home stays on that store whatever CTXSYNC_ENDPOINT says", () => {
    const env = { ...process.env, CTXSYNC_ENDPOINT: "" };
    const agent = spawnSync(process.execPath, ["--import", "tsx", MAIN, "agent", "--session", "sess-x", "--token", "t"], { encoding: "utf8", env });
    expect(agent.status).toBe(1);
    expect(agent.stderr).toContain("the server is needed: pass --endpoint URL (or set CTXSYNC_ENDPOINT)");

    const store = path.join(dir, "store");
    const keys = (...args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", store, "keys", ...args], {
        encoding: "utf8",
        env: { ...process.env, CTXSYNC_ENDPOINT: "http://127.0.0.1:9", CTXSYNC_API_KEY: "unused-key-0123456789-0123456789", CTXSYNC_PG_URL: "" },
      });
    // Listing a store that is not there is a mistyped path: refused, and nothing is made.
    const none = keys("list");
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`there is no ctxsync store at ${path.join(store, "meta.db")}; check --data or --home`);
    expect(fs.existsSync(store)).toBe(false);
    // Creating a key prepares a data directory for its server's first start.
    expect(keys("create", "--tenant", "t").status).toBe(0);
    const listed = keys("list");
    expect(listed.stderr).toContain(`ctxsync keys: on ${path.join(store, "meta.db")}`);
    expect(listed.status).toBe(0);
  });

  it("serve refuses S3 settings without a bucket, and a path style that is not a boolean, before opening anything", () => {
    const env = { ...process.env, CTXSYNC_S3_BUCKET: "", CTXSYNC_PG_URL: "" };
    const serve = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", MAIN, "serve", "--port", "0", "--data", path.join(dir, "srv"), ...args], { encoding: "utf8", env, timeout: 30_000 }); // a serve that starts would run on
    const noBucket = serve("--s3-endpoint", "http://127.0.0.1:9");
    expect(noBucket.status).toBe(1);
    expect(noBucket.stderr).toContain("--s3-endpoint needs a bucket: pass --s3-bucket or set CTXSYNC_S3_BUCKET");
    const badStyle = serve("--s3-bucket", "b", "--s3-path-style", "maybe");
    expect(badStyle.status).toBe(1);
    expect(badStyle.stderr).toContain("--s3-path-style must be true or false");
    const blankPort = serve("--port", "");
    expect(blankPort.status).toBe(1);
    expect(blankPort.stderr).toContain('--port must be a port number from 0 to 65535; got ""');
    const hugeInterval = serve("--gc-interval-minutes", "100000");
    expect(hugeInterval.status).toBe(1);
    expect(hugeInterval.stderr).toContain("gcIntervalMs must be at most 2147483647 ms");
    expect(readTree(path.join(dir, "srv"))).toEqual({});
  });

  it("agent stopped by SIGINT while it still tries to reach its server exits 0", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "agent", "--endpoint", "http://127.0.0.1:9", "--session", "sess-x", "--token", "t"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    while (!stderr.includes("could not attach")) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).not.toContain("aborted");
  });

  it("a reader that closes the pipe early ends the output quietly", async () => {
    const made = cli("exec", "-m", "big:/w", "--root", path.join(dir, "a"), "--", "sh", "-c", "for i in $(seq 1 3000); do echo $i > file-$i.txt; done");
    expect(made.status).toBe(0);
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--home", path.join(dir, "store"), "files", "big", "/w"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy()); // as `| head -1` does
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("creates, renames, lists and deletes contexts", () => {
    expect(cli("context", "create", "c1").stdout).toMatch(/^ctx-/);
    expect(cli("context", "rename", "c1", "c2").status).toBe(0);
    expect(cli("context", "list").stdout).toContain("\tc2\t");
    expect(cli("context", "delete", "c2").status).toBe(0);
    expect(cli("context", "list").stdout).toBe("");
  });
});

describe("ctxsync CLI on a server (--endpoint, or CTXSYNC_ENDPOINT)", () => {
  const apiKey = `cli-key-${"k".repeat(40)}`;
  let dir = "";
  let cleanup = () => {};
  let server: RunningServer;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    server = await createServer({ dataDir: path.join(dir, "server"), port: 0, env: { CTXSYNC_ADMIN_KEY: apiKey }, print: () => undefined, log: { info: () => undefined, error: () => undefined } });
  });
  afterEach(async () => {
    await server.stop();
    cleanup();
  });

  /** Runs the CLI without blocking this process, whose event loop serves the server. */
  const cli = (env: Record<string, string>, ...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", MAIN, ...args],
        { encoding: "utf8", env: { ...process.env, CTXSYNC_ENDPOINT: "", CTXSYNC_API_KEY: "", CTXSYNC_HOME: path.join(dir, "unused"), ...env } },
        (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it("manages contexts and runs exec sessions through the server; the embedded store stays untouched", async () => {
    const flags = ["--endpoint", server.url, "--api-key", apiKey];
    expect((await cli({}, ...flags, "context", "create", "notes")).stdout).toMatch(/^ctx-/);
    const exec = await cli({}, ...flags, "exec", "-m", "notes:/work", "--root", path.join(dir, "a"), "--", "sh", "-c", "echo hi > f.txt");
    expect(exec.stderr).toBe("");
    expect(exec.status).toBe(0);

    // The same, configured by the environment.
    const env = { CTXSYNC_ENDPOINT: server.url, CTXSYNC_API_KEY: apiKey };
    expect((await cli(env, "files", "notes", "/work")).stdout).toMatch(/^-\t3\t.*\t\/work\/f.txt\n$/);
    expect((await cli(env, "log", "notes")).stdout).toMatch(/^1\t\S+Z\t\+1 ~0 -0\tsess-\S+\n$/);
    const second = await cli(env, "exec", "-m", "notes:/work", "--root", path.join(dir, "b"), "--", "cat", "f.txt");
    expect(second.stdout).toBe("hi\n");
    expect(readTree(path.join(dir, "unused"))).toEqual({});
  });

  it("says what is missing or not done remotely, and exits 1", async () => {
    const noKey = await cli({}, "--endpoint", server.url, "context", "list");
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toContain("needs an API key: pass --api-key or set CTXSYNC_API_KEY");
    const gc = await cli({}, "--endpoint", server.url, "--api-key", apiKey, "gc");
    expect(gc.status).toBe(1);
    expect(gc.stderr).toContain("[NotSupported] gc() runs on the server");
    const wrongKey = await cli({}, "--endpoint", server.url, "--api-key", "not-the-key-0123456789-0123456789", "context", "list");
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stderr).toContain("[Unauthorized]");
  });

  it("refuses an endpoint that carries a password, without showing it, and keys speaks the SDK's errors", async () => {
    const withPassword = server.url.replace("http://", "http://ops:hunter2secret@");
    for (const args of [["context", "list"], ["keys", "list"]]) {
      const r = await cli({}, "--endpoint", withPassword, "--api-key", apiKey, ...args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toContain("endpoint must not hold a user name or password");
      expect(r.stderr).not.toContain("hunter2secret");
    }
    const unreachable = await cli({}, "keys", "list", "--endpoint", "http://127.0.0.1:9", "--api-key", apiKey);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toContain("[StoreUnavailable] Cannot reach the ctxsync server at http://127.0.0.1:9");
  });
});
