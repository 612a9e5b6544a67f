import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContextSync, InvalidKeyError } from "../src/sdk/index.js";
import { useHarness } from "./helpers/harness.js";
import { writeTree } from "./helpers/tree.js";

describe("task status", () => {
  const h = useHarness();

  it("info() reports download and upload tasks with status, type and Unix-second times", async () => {
    const ctx = await h().newContext();
    const before = Math.floor(Date.now() / 1000);
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "f.txt": "f" });
    await s.context.sync();
    const info = await s.context.info();
    expect(info.success).toBe(true);
    const byType = Object.fromEntries(info.contextStatusData.map((t) => [t.taskType, t]));
    for (const type of ["download", "upload"]) {
      expect(byType[type]).toMatchObject({ contextId: ctx, path: "/data", status: "Success", errorMessage: "" });
      expect(byType[type]!.startTime).toBeGreaterThanOrEqual(before);
      expect(byType[type]!.finishTime).toBeGreaterThanOrEqual(byType[type]!.startTime);
    }
    expect(byType["upload"]).toMatchObject({ filesDone: 1, filesTotal: 1, bytesDone: 1, bytesTotal: 1 });
  });

  it("a download into an unwritable root ends Failed with an errorMessage that says why", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "f.txt": "f" });
    await seed.delete(true);

    // The root is a regular file, so nothing can be created under it (chmod would not stop root).
    const root = path.join(h().dir, "not-a-dir");
    fs.writeFileSync(root, "");
    const r = await h().client.create({ root, contextSync: [ContextSync.new(ctx, "/data")] });
    expect(r.success).toBe(true); // like the reference, create() succeeds; the task carries the failure
    const info = await r.session!.context.infoWithParams(ctx, "/data", "download");
    expect(info.contextStatusData).toHaveLength(1);
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed", taskType: "download" });
    expect(info.contextStatusData[0]!.errorMessage).toMatch(/Cannot create the mount directory .*not-a-dir\/data/);
    expect(info.contextStatusData[0]!.finishTime).toBeGreaterThan(0);
  });

  it("an upload skips sockets and FIFOs and keeps dangling symlinks as links", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    const dir = h().local("ra", "/data");
    writeTree(dir, { "ok.txt": "ok" });
    execFileSync("mkfifo", [path.join(dir, "pipe")]); // e.g. a browser's SingletonSocket: cannot be synced
    fs.symlinkSync("/nonexistent", path.join(dir, "dangling")); // links are kept as links: not a failure
    const r = await s.context.sync();
    expect(r.success).toBe(true);
    const files = await h().client.context.listFiles(ctx, "/data");
    expect(files.entries.map((e) => e.fileName).sort()).toEqual(["dangling", "ok.txt"]);
  });
});

describe("bad input gets a clear error and changes nothing", () => {
  const h = useHarness();

  it("an unknown context id in contextSync fails create() and creates no session", async () => {
    const r = await h().client.create({ root: h().dir, contextSync: [ContextSync.new("ctx-doesnotexist", "/data")] });
    expect(r).toMatchObject({ success: false, errorCode: "ContextNotFound" });
    expect(r.errorMessage).toContain("ctx-doesnotexist");
    expect((await h().client.list()).sessionIds).toEqual([]);
  });

  it("a path mounted twice fails create() with PathAlreadyBound and creates no session", async () => {
    const ctx = await h().newContext();
    const other = await h().newContext();
    const r = await h().client.create({
      root: h().dir,
      contextSync: [ContextSync.new(ctx, "/data"), ContextSync.new(other, "/data/")],
    });
    expect(r).toMatchObject({ success: false, errorCode: "PathAlreadyBound" });
    expect((await h().client.list()).sessionIds).toEqual([]);
  });

  it.each([
    ["a .. segment", "/home/../etc"],
    ["a . segment", "/home/./x"],
    ["a NUL byte", "/home/a\0b"],
    ["a relative path", "home/user"],
  ])("mount paths with %s are refused before any I/O", (_what, bad) => {
    expect(() => ContextSync.new("ctx-x", bad)).toThrow(InvalidKeyError);
  });

  it("file keys with .. or NUL are refused and the context is unchanged", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "f.txt": "f" });
    await s.context.sync();
    for (const bad of ["/data/../data/f.txt", "/data/f.txt\0", "/data//f.txt"]) {
      expect(await h().client.context.deleteFile(ctx, bad)).toMatchObject({ success: false, errorCode: "InvalidKey" });
      expect(await h().client.context.listFiles(ctx, bad)).toMatchObject({ success: false, errorCode: "InvalidKey" });
    }
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["f.txt"]);
    expect((await h().client.context.deleteFile(ctx, "/data/f.txt")).success).toBe(true);
    expect((await h().client.context.listFiles(ctx, "/data")).entries).toEqual([]);
  });

  it("an unknown session id is a clear failure", async () => {
    expect(await h().client.get("sess-nope")).toMatchObject({ success: false, errorCode: "SessionNotFound" });
  });
});
