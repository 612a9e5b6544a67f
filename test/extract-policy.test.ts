import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildZip } from "../src/engine/extract/test-zip-writer.js";
import { buildTar } from "../src/engine/extract/test-tar-writer.js";
import { ContextSync } from "../src/sdk/index.js";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree } from "./helpers/tree.js";

const M = "/tmp/extensions";

describe("extract policy on download", () => {
  const h = useHarness();

  async function contextWith(files: Record<string, Buffer>): Promise<string> {
    const ctx = await h().newContext();
    const s = await h().session("seed", [[ctx, M, { extractPolicy: { extract: false } }]]);
    writeTree(h().local("seed", M), files);
    await s.delete(true);
    return ctx;
  }

  it("unpacks a zip into a sibling folder, removes the local zip, and the next upload keeps the context's copy", async () => {
    const zip = buildZip([{ name: "manifest.json", data: '{"name":"ext"}' }, { name: "js/main.js", data: "run()" }]);
    const ctx = await contextWith({ "ext_1.zip": zip });
    const s = await h().session("r1", [[ctx, M]]); // defaults: extract, deleteSrcFile, sibling folder
    expect(readTree(h().local("r1", M))).toEqual({ ext_1: { "manifest.json": '{"name":"ext"}', js: { "main.js": "run()" } } });

    await s.delete(true);
    const names = (await h().client.context.listFiles(ctx, M)).entries.map((e) => e.fileName);
    expect(names).toContain("ext_1.zip");
  });

  it("unpacks a tgz into the current folder and keeps the source with deleteSrcFile false", async () => {
    const tgz = await buildTar([{ name: "a.txt", data: "A" }, { name: "d/b.txt", data: "B" }], true);
    const ctx = await contextWith({ "bundle.tgz": tgz });
    await h().session("r1", [[ctx, M, { extractPolicy: { extractToCurrentFolder: true, deleteSrcFile: false } }]]);
    const dir = h().local("r1", M);
    expect(fs.readFileSync(path.join(dir, "a.txt"), "utf8")).toBe("A");
    expect(fs.readFileSync(path.join(dir, "d/b.txt"), "utf8")).toBe("B");
    expect(fs.readFileSync(path.join(dir, "bundle.tgz")).equals(tgz)).toBe(true);
  });

  it("does not unpack an archive into paths outside the white list, where a local file may exist nowhere else", async () => {
    const tgz = await buildTar([{ name: "cfg/settings.json", data: "from the archive" }], true);
    const ctx = await contextWith({ "local.tgz": tgz, "shared.txt": Buffer.from("s") });
    // This session keeps local/ to itself: excluded from sync, so never written by a download either.
    const excluded = { bwList: { whiteLists: [{ path: "", excludePaths: ["local"] }] }, downloadPolicy: { autoDownload: false } };
    writeTree(h().local("r1", M), { local: { cfg: { "settings.json": "private, never uploaded" } } });
    const s = await h().session("r1", [[ctx, M, excluded]]);
    const r = await s.context.sync(ctx, M, "download");
    expect(r).toMatchObject({ success: false, errorMessage: expect.stringMatching(/local\.tgz.*settings\.json, which is outside this mount's white list/) });
    expect(readTree(h().local("r1", M))).toMatchObject({ local: { cfg: { "settings.json": "private, never uploaded" } }, "shared.txt": "s" });
  });

  it("unpacking again keeps an edit uploaded after the archive, and takes a newer archive's files", async () => {
    const v1 = await buildTar([{ name: "main.c", data: "original v1" }, { name: "util.c", data: "util v1" }], true);
    const ctx = await contextWith({ "repo.tgz": v1 });
    const s1 = await h().session("r1", [[ctx, M]]);
    expect(readTree(h().local("r1", M))).toEqual({ repo: { "main.c": "original v1", "util.c": "util v1" } });
    writeTree(h().local("r1", M), { repo: { "main.c": "user edit v2" } });
    expect((await s1.delete()).success).toBe(true);

    // A new session downloads the edit and the archive; unpacking the archive must not undo the edit.
    const s2 = await h().session("r2", [[ctx, M]]);
    expect(readTree(h().local("r2", M))).toEqual({ repo: { "main.c": "user edit v2", "util.c": "util v1" } });
    expect((await s2.delete()).success).toBe(true);
    expect(readTree(h().local("r2", M)).repo).toMatchObject({ "main.c": "user edit v2" });

    // An archive uploaded after the edit is newer: its files win.
    const v3 = await buildTar([{ name: "main.c", data: "archive v3" }, { name: "util.c", data: "util v1" }], true);
    const up = await h().session("up", [[ctx, M, { extractPolicy: { extract: false } }]]);
    fs.writeFileSync(path.join(h().local("up", M), "repo.tgz"), v3);
    expect((await up.delete()).success).toBe(true);
    await h().session("r3", [[ctx, M]]);
    expect(readTree(h().local("r3", M))).toMatchObject({ repo: { "main.c": "archive v3" } });
  });

  it("a newer archive replaces files an earlier unpacking left in a running session", async () => {
    const v1 = await buildTar([{ name: "main.c", data: "v1" }], true);
    const ctx = await contextWith({ "repo.tgz": v1 });
    const b = await h().session("rb", [[ctx, M]]);
    expect(readTree(h().local("rb", M))).toEqual({ repo: { "main.c": "v1" } });
    const up = await h().session("up", [[ctx, M, { extractPolicy: { extract: false } }]]);
    fs.writeFileSync(path.join(h().local("up", M), "repo.tgz"), await buildTar([{ name: "main.c", data: "v3" }], true));
    expect((await up.delete()).success).toBe(true);
    expect((await b.context.sync(ctx, M, "download")).success).toBe(true);
    expect(readTree(h().local("rb", M))).toEqual({ repo: { "main.c": "v3" } });
  });

  it("leaves archives alone with extract false", async () => {
    const zip = buildZip([{ name: "x.txt", data: "x" }]);
    const ctx = await contextWith({ "e.zip": zip });
    await h().session("r1", [[ctx, M, { extractPolicy: { extract: false } }]]);
    expect(Object.keys(readTree(h().local("r1", M)))).toEqual(["e.zip"]);
  });

  it("a zip-slip archive fails the download task with a clear error and writes nothing outside the target", async () => {
    const zip = buildZip([{ name: "ok.txt", data: "fine" }, { name: "../../escaped.txt", data: "pwned" }]);
    const ctx = await contextWith({ "evil.zip": zip, "plain.txt": Buffer.from("p") });
    const r = await h().client.create({ root: path.join(h().dir, "r1"), contextSync: [] });
    const s = r.session!;
    const bound = await s.context.bind([ContextSync.new(ctx, M)]);
    expect(bound.success).toBe(false);
    const info = await s.context.infoWithParams(ctx, M, "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed" });
    expect(info.contextStatusData[0]!.errorMessage).toMatch(/evil\.zip.*\.\./);
    const dir = h().local("r1", M);
    expect(Object.keys(readTree(dir)).sort()).toEqual(["evil.zip", "plain.txt"]); // the source stays on failure
    expect(fs.existsSync(path.join(dir, "evil"))).toBe(false);
    expect(fs.existsSync(path.join(h().dir, "r1", "tmp", "escaped.txt"))).toBe(false);
    expect(fs.existsSync(path.join(h().dir, "escaped.txt"))).toBe(false);
  });
});
