import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContextSync } from "../../src/sdk/index.js";
import { CLIENT_KINDS, useClientHarness } from "../helpers/client-harness.js";
import { readTree, writeTree } from "../helpers/tree.js";

describe.each(CLIENT_KINDS)("sync on demand (%s client)", (kind) => {
  const h = useClientHarness(kind);

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
    // Blank filters are no filters; a taskType that is neither is refused alike by both clients.
    expect((await s.context.infoWithParams("", "")).contextStatusData).toHaveLength((await s.context.info()).contextStatusData.length);
    const badType = await s.context.infoWithParams(undefined, undefined, "both" as "upload");
    expect(badType).toMatchObject({ success: false, errorCode: "InvalidParameter", errorMessage: expect.stringContaining('Invalid taskType "both"') });
  });

  it("sync with a callback returns at once and calls back once with the result", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "f.txt": "f" });
    const calls: boolean[] = [];
    let resolveCall!: () => void;
    const called = new Promise<void>((resolve) => (resolveCall = resolve));
    const r = await s.context.sync(undefined, undefined, "upload", (ok) => {
      calls.push(ok);
      resolveCall();
    });
    expect(r.success).toBe(true);
    await called;
    await new Promise((resolve) => setTimeout(resolve, 50)); // a second call would come now
    expect(calls).toEqual([true]);
    expect((await s.context.infoWithParams(ctx, "/data", "upload")).contextStatusData[0]).toMatchObject({ status: "Success" });
  });

  it("without a callback, sync returns after its tasks are terminal", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "a.txt": "a", "b.bin": Buffer.alloc(1 << 20, 1) });
    expect(await s.context.sync()).toMatchObject({ success: true });
    const info = await s.context.info();
    const byType = Object.fromEntries(info.contextStatusData.map((t) => [t.taskType, t]));
    expect(byType["upload"]).toMatchObject({ status: "Success", errorMessage: "", filesDone: 2, filesTotal: 2, bytesTotal: (1 << 20) + 1 });
    expect(byType["upload"]!.finishTime).toBeGreaterThanOrEqual(byType["upload"]!.startTime);
    expect(byType["download"]).toMatchObject({ status: "Success", contextId: ctx, path: "/data" });
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["a.txt", "b.bin"]);
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

  it("a failed download is the task's to report, with a message that says why", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "f.txt": "f" });
    await seed.delete(true);

    const root = path.join(h().dir, "not-a-dir"); // a regular file: nothing can be created under it
    fs.writeFileSync(root, "");
    const r = await h().client.create({ root, contextSync: [ContextSync.new(ctx, "/data")] });
    expect(r.success).toBe(true);
    const info = await r.session!.context.infoWithParams(ctx, "/data", "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed", taskType: "download" });
    expect(info.contextStatusData[0]!.errorMessage).toMatch(/Cannot create the mount directory .*not-a-dir\/data/);
    const again = await r.session!.context.sync(ctx, "/data", "download");
    expect(again).toMatchObject({ success: false, errorCode: "TaskFailed" });
    expect(again.errorMessage).toMatch(/^\[TaskFailed\] \/data: .*Cannot create the mount directory/);
    // Overlapping syncs of one mount: each reports its own task, also when a newer one followed it.
    const overlapping = await Promise.all([1, 2, 3].map(() => r.session!.context.sync(ctx, "/data", "download")));
    for (const o of overlapping) {
      expect(o).toMatchObject({ success: false, errorCode: "TaskFailed" });
      expect(o.errorMessage).toMatch(/^\[TaskFailed\] \/data: .*Cannot create the mount directory/);
    }
    // A bind whose download fails says which mount and why, the same way.
    const bound = await r.session!.context.bind(ContextSync.new(ctx, "/more"));
    expect(bound).toMatchObject({ success: false, data: false, errorCode: "TaskFailed" });
    expect(bound.errorMessage).toMatch(/^\[TaskFailed\] A bound context failed to download \(see info\(\)\): \/more: .*Cannot create the mount directory/);
  });

  it.runIf(fs.existsSync("/proc/self"))("a session root under /proc fails its download instead of hanging", async () => {
    const ctx = await h().newContext();
    const r = await h().client.create({ root: "/proc/ctxsync-no-such-root", contextSync: [ContextSync.new(ctx, "/data")] });
    const info = await r.session!.context.infoWithParams(ctx, "/data", "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed", errorMessage: expect.stringMatching(/Cannot create the mount directory \/proc\/ctxsync-no-such-root\/data/) });
    await r.session!.delete();
  });

  it("a folder uploaded where the context has a file replaces the file, so the context stays one tree", async () => {
    const ctx = await h().newContext();
    const a = await h().session("a", [[ctx, "/w"]]);
    writeTree(h().local("a", "/w"), { "a.txt": "a file", "other.txt": "kept" });
    expect(await a.delete()).toMatchObject({ success: true });

    // This sandbox has a folder where the context has the file: its download cannot place a.txt.
    writeTree(h().local("b", "/w"), { "a.txt": { inner: "a folder now" } });
    const b = await h().session("b", [[ctx, "/w"]]);
    expect((await b.context.info()).contextStatusData[0]).toMatchObject({ status: "Failed", errorMessage: expect.stringMatching(/a\.txt.*in the way/) });
    expect(await b.delete()).toMatchObject({ success: true });

    expect((await h().client.context.listFiles(ctx, "/w")).entries.map((e) => [e.fileName, e.fileType])).toEqual([
      ["a.txt", "FOLDER"],
      ["other.txt", "file"],
    ]);
    const c = await h().session("c", [[ctx, "/w"]]);
    expect((await c.context.info()).contextStatusData[0]).toMatchObject({ status: "Success" });
    expect(readTree(h().local("c", "/w"))).toEqual({ "a.txt": { inner: "a folder now" }, "other.txt": "kept" });
    await c.delete();
  });

  it("a file whose folder the context has as a file outside the white list is not uploaded, and the upload says why", async () => {
    const ctx = await h().newContext();
    const a = await h().session("a", [[ctx, "/w"]]);
    writeTree(h().local("a", "/w"), { a: "a file", keep: "k" });
    expect(await a.delete()).toMatchObject({ success: true });

    const narrow = { bwList: { whiteLists: [{ path: "a/b" }, { path: "other" }] }, downloadPolicy: { autoDownload: false } };
    const b = await h().session("b", [[ctx, "/w", narrow]]);
    writeTree(h().local("b", "/w"), { a: { b: { c: "would make /w/a a folder" } }, other: { o: "fine" } });
    const r = await b.context.sync();
    expect(r).toMatchObject({ success: false, errorMessage: expect.stringContaining("/w/a/b/c: not uploaded: /w/a is in its way in the context, and outside this mount's white list") });
    expect((await h().client.context.listFiles(ctx, "/w")).entries.map((e) => [e.fileName, e.fileType])).toEqual([
      ["other", "FOLDER"],
      ["a", "file"],
      ["keep", "file"],
    ]);
    // Still one tree: a full download works.
    const c = await h().session("c", [[ctx, "/w"]]);
    expect((await c.context.info()).contextStatusData[0]).toMatchObject({ status: "Success" });
    expect(readTree(h().local("c", "/w"))).toEqual({ a: "a file", keep: "k", other: { o: "fine" } });
  });

  it("bind mounts a context on a running session and downloads it; listBindings shows both", async () => {
    const first = await h().newContext();
    const second = await h().newContext();
    const seed = await h().session("seed", [[second, "/more"]]);
    writeTree(h().local("seed", "/more"), { "m.txt": "m" });
    await seed.delete(true);

    const s = await h().session("ra", [[first, "/data"]]);
    expect(await s.context.bind(ContextSync.new(second, "/more"))).toMatchObject({ success: true, data: true });
    expect(readTree(h().local("ra", "/more"))).toEqual({ "m.txt": "m" });
    const bindings = await s.context.listBindings();
    expect(bindings.bindings.map((b) => [b.contextId, b.contextName, b.path])).toEqual([
      [first, "ctx-1", "/data"],
      [second, "ctx-2", "/more"],
    ]);
    // A context deleted after it was mounted keeps its binding, with no name.
    expect((await h().client.context.delete((await h().client.context.get("ctx-2")).context!)).success).toBe(true);
    expect((await s.context.listBindings()).bindings.map((b) => b.contextName)).toEqual(["ctx-1", ""]);
    expect(await s.context.bind(ContextSync.new(first, "/data"))).toMatchObject({ success: false, errorCode: "PathAlreadyBound" });
  });

  it("a released session refuses sync with a clear error, and sync() with contextId but no path throws", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    await expect(s.context.sync(ctx)).rejects.toThrow("contextId and path must be provided together or both omitted.");
    await s.delete();
    const r = await s.context.sync();
    expect(r).toMatchObject({ success: false, errorCode: "SessionNotActive" });
    expect(r.errorMessage).toContain("released");
  });

  it("bad mounts fail create() and create no session", async () => {
    const ctx = await h().newContext();
    const unknown = await h().client.create({ root: h().dir, contextSync: [ContextSync.new("ctx-doesnotexist", "/data")] });
    expect(unknown).toMatchObject({ success: false, errorCode: "ContextNotFound" });
    const twice = await h().client.create({ root: h().dir, contextSync: [ContextSync.new(ctx, "/data"), ContextSync.new(ctx, "/data/")] });
    expect(twice).toMatchObject({ success: false, errorCode: "PathAlreadyBound" });
    // The limits a server applies, applied alike by both clients.
    const many = Array.from({ length: 65 }, (_, i) => ContextSync.new(ctx, `/m${i}`));
    expect(await h().client.create({ root: h().dir, contextSync: many })).toMatchObject({
      success: false,
      errorMessage: "[InvalidParameter] At most 64 contexts can be mounted in one call; got 65. Bind the rest with bind().",
    });
    const tooLong: [Record<string, string>, string][] = [
      [{ ["k".repeat(129)]: "v" }, "Label names are at most 128 characters"],
      [{ k: "v".repeat(1025) }, 'Label "k" has a value of 1025 characters; at most 1024 are allowed.'],
    ];
    for (const [labels, message] of tooLong) {
      expect(await h().client.create({ root: h().dir, contextSync: [], labels })).toMatchObject({ success: false, errorMessage: expect.stringContaining(message) });
    }
    const numberLabel = { a: 1 } as unknown as Record<string, string>;
    expect(await h().client.create({ root: h().dir, contextSync: [], labels: numberLabel })).toMatchObject({ success: false, errorCode: "InvalidParameter" });
    expect(() => ContextSync.new(ctx, `/${"a".repeat(4096)}`)).toThrow(/longer than 4096 characters/);
    expect((await h().client.list()).sessionIds).toEqual([]);
    expect(await h().client.get("sess-nope")).toMatchObject({ success: false, errorCode: "SessionNotFound" });
  });
});
