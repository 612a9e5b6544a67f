import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree } from "./helpers/tree.js";

describe("release uploads first", () => {
  const h = useHarness();

  it("delete() without syncContext uploads autoUpload mounts before it returns", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "kept.txt": "v1" });
    expect(await a.delete()).toMatchObject({ success: true });

    // No sleep: the next session must see the data as soon as delete() resolved.
    await h().session("rb", [[ctx, "/data"]]);
    expect(readTree(h().local("rb", "/data"))).toEqual({ "kept.txt": "v1" });
  });

  it("delete() does not upload mounts with autoUpload false", async () => {
    const auto = await h().newContext();
    const manual = await h().newContext();
    const a = await h().session("ra", [
      [auto, "/auto"],
      [manual, "/manual", { uploadPolicy: { autoUpload: false } }],
    ]);
    writeTree(h().local("ra", "/auto"), { "a.txt": "a" });
    writeTree(h().local("ra", "/manual"), { "m.txt": "m" });
    await a.delete();

    expect((await h().client.context.listFiles(auto, "/auto")).entries.map((e) => e.fileName)).toEqual(["a.txt"]);
    expect((await h().client.context.listFiles(manual, "/manual")).entries).toEqual([]);
  });

  it("a released session refuses sync with a clear error", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, "/data"]]);
    await a.delete();
    const r = await a.context.sync();
    expect(r).toMatchObject({ success: false, errorCode: "SessionNotActive" });
    expect(r.errorMessage).toContain("released");
  });
});

describe("sync on demand", () => {
  const h = useHarness();

  it("sync(contextId, path) uploads a directory that was not mounted at create, and listFiles shows it", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/home/user/work"]]);
    writeTree(h().local("ra", "/tmp/other"), { "large_test_file.txt": "x".repeat(1000), sub: { "deep.txt": "d" } });

    const r = await s.context.sync(ctx, "/tmp/other");
    expect(r.success).toBe(true);
    const top = await h().client.context.listFiles(ctx, "/tmp/other");
    expect(top.entries.map((e) => [e.fileName, e.fileType])).toEqual([
      ["sub", "FOLDER"],
      ["large_test_file.txt", "file"],
    ]);
    expect(top.entries[1]).toMatchObject({ filePath: "/tmp/other/large_test_file.txt", size: 1000 });
    const info = await s.context.infoWithParams(ctx, "/tmp/other");
    expect(info.contextStatusData).toMatchObject([{ taskType: "upload", status: "Success", path: "/tmp/other" }]);
  });

  it("sync with a callback returns at once and calls back once with the result", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "f.txt": "f" });
    const calls: boolean[] = [];
    const finished = new Promise<void>((resolve) => {
      void s.context.sync(undefined, undefined, "upload", (ok) => {
        calls.push(ok);
        resolve();
      });
    });
    await finished;
    expect(calls).toEqual([true]);
  });

  it("download brings in files that another session uploaded since", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, "/data"]]);
    const b = await h().session("rb", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "from-a.txt": "a" });
    await a.context.sync();
    expect((await b.context.sync(ctx, "/data", "download")).success).toBe(true);
    expect(fs.readFileSync(path.join(h().local("rb", "/data"), "from-a.txt"), "utf8")).toBe("a");
  });

  it("sync() with contextId but no path throws the reference's message", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    await expect(s.context.sync(ctx)).rejects.toThrow(
      "contextId and path must be provided together or both omitted. If you want to sync a specific context, both contextId and path are required. If you want to sync all contexts, omit both parameters.",
    );
    await expect(s.context.sync(undefined, "/data")).rejects.toThrow("contextId and path must be provided together");
  });
});
