import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UploadMode } from "../../src/sdk/index.js";
import { CLIENT_KINDS, useClientHarness, type ClientHarness } from "../helpers/client-harness.js";
import { listAllKeys } from "../helpers/list-all-files.js";
import { readTree, writeTree } from "../helpers/tree.js";

const M = "/home/user/work";

describe.each(CLIENT_KINDS)("policies (%s client)", (kind) => {
  const h = useClientHarness(kind);
  const keys = (ctx: string) => listAllKeys(h().client, ctx, M);

  async function seed(t: ClientHarness): Promise<string> {
    const ctx = await t.newContext();
    const s = await t.session("seed", [[ctx, M]]);
    writeTree(t.local("seed", M), { "a.txt": "a", "b.txt": "b" });
    await s.delete(true);
    return ctx;
  }

  it("delete policy: a file removed locally leaves the context with syncLocalFile true, stays with false", async () => {
    const ctx = await seed(h());
    const s = await h().session("r1", [[ctx, M, { deletePolicy: { syncLocalFile: false } }]]);
    fs.rmSync(path.join(h().local("r1", M), "a.txt"));
    await s.delete(true);
    expect(await keys(ctx)).toEqual([`${M}/a.txt`, `${M}/b.txt`]);

    const s2 = await h().session("r2", [[ctx, M, { deletePolicy: { syncLocalFile: true } }]]);
    fs.rmSync(path.join(h().local("r2", M), "a.txt"));
    await s2.delete(true);
    expect(await keys(ctx)).toEqual([`${M}/b.txt`]);
  });

  it("a mount directory that is gone fails the upload and leaves the context; an emptied one uploads its deletions", async () => {
    const ctx = await seed(h());
    const s = await h().session("r1", [[ctx, M]]);
    const dir = h().local("r1", M);
    fs.rmSync(dir, { recursive: true });
    const r = await s.context.sync();
    expect(r).toMatchObject({ success: false, errorMessage: expect.stringContaining(`${M}: Nothing uploaded: ${dir} is not a directory here, but this session had 2 files in it`) });
    expect((await s.context.info()).contextStatusData).toContainEqual(expect.objectContaining({ taskType: "upload", status: "Failed" }));
    expect(await keys(ctx)).toEqual([`${M}/a.txt`, `${M}/b.txt`]);

    fs.mkdirSync(dir);
    expect(await s.context.sync()).toMatchObject({ success: true });
    expect(await keys(ctx)).toEqual([]);
  });

  it.each([
    ["syncLocalFile false", { deletePolicy: { syncLocalFile: false } }],
    ["ARCHIVE mode", { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } }],
  ])("a mount directory that is gone fails the upload the same way with %s, and keeps what the session had", async (_name, policy) => {
    const ctx = await seed(h());
    const s = await h().session("r1", [[ctx, M, policy]]);
    const dir = h().local("r1", M);
    fs.renameSync(dir, `${dir}.away`); // a volume unmounted for a while
    expect(await s.context.sync()).toMatchObject({ success: false, errorMessage: expect.stringContaining(`Nothing uploaded: ${dir} is not a directory here`) });
    const other = await h().session("r3", [[ctx, M, policy]]);
    fs.writeFileSync(path.join(h().local("r3", M), "a.txt"), "newer");
    await other.delete(true);
    // Back as they were: unchanged since the session's download, so the newer a.txt stays.
    fs.renameSync(`${dir}.away`, dir);
    expect(await s.context.sync()).toMatchObject({ success: true });
    await h().session("r2", [[ctx, M]]);
    expect(readTree(h().local("r2", M))).toEqual({ "a.txt": "newer", "b.txt": "b" });
  });

  it("a release whose mount directory is gone keeps the context as it was", async () => {
    const ctx = await seed(h());
    const s = await h().session("r1", [[ctx, M]]);
    fs.rmSync(h().local("r1", M), { recursive: true });
    await s.delete(true);
    expect(await keys(ctx)).toEqual([`${M}/a.txt`, `${M}/b.txt`]);
  });

  it("delete policy: a file another session added after A's download is not deleted by A's upload", async () => {
    const ctx = await seed(h());
    const a = await h().session("ra", [[ctx, M]]);
    const b = await h().session("rb", [[ctx, M]]);
    writeTree(h().local("rb", M), { "from-b.txt": "b was here" });
    await b.delete(true);
    fs.rmSync(path.join(h().local("ra", M), "a.txt"));
    await a.delete(true);
    expect(await keys(ctx)).toEqual([`${M}/b.txt`, `${M}/from-b.txt`]);
  });

  it("white list: only listed paths move, excludes are skipped, files outside the list are untouched", async () => {
    const ctx = await h().newContext();
    const s0 = await h().session("seed", [[ctx, M]]);
    writeTree(h().local("seed", M), { "outside.txt": "old", src: { "keep.ts": "v0" } });
    await s0.delete(true);

    const policy = { bwList: { whiteLists: [{ path: "/src", excludePaths: ["/node_modules"] }, { path: "docs" }] } };
    const s = await h().session("r1", [[ctx, M, policy]]);
    const dir = h().local("r1", M);
    expect(readTree(dir)).toEqual({ src: { "keep.ts": "v0" } });
    writeTree(dir, {
      src: { "keep.ts": "v1", node_modules: { "dep.js": "no" }, lib: { "x.ts": "x" } },
      docs: { "r.md": "r" },
      "outside.txt": "new",
      other: { "y.txt": "y" },
    });
    await s.delete(true);

    expect(await keys(ctx)).toEqual([`${M}/docs/r.md`, `${M}/outside.txt`, `${M}/src/keep.ts`, `${M}/src/lib/x.ts`]);
    await h().session("r2", [[ctx, M]]);
    expect(readTree(h().local("r2", M))).toMatchObject({ "outside.txt": "old", src: { "keep.ts": "v1" } });
  });

  it("archive mode stores one archive and brings the files back; a later FILE-mode upload switches back", async () => {
    const ctx = await h().newContext();
    const archive = { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } };
    const a = await h().session("ra", [[ctx, M, archive]]);
    writeTree(h().local("ra", M), { "x.txt": "x", d: { "y.txt": "y" } });
    await a.delete(true);
    expect(await listAllKeys(h().client, ctx, "/")).toEqual([`${M}/.ctxsync-archive.tar.gz`]);

    const b = await h().session("rb", [[ctx, M]]);
    expect(readTree(h().local("rb", M))).toEqual({ "x.txt": "x", d: { "y.txt": "y" } });
    writeTree(h().local("rb", M), { "z.txt": "z" });
    await b.delete(true);
    expect(await keys(ctx)).toEqual([`${M}/d/y.txt`, `${M}/x.txt`, `${M}/z.txt`]);
  });

  it("mapping policy: a Linux mount reads and writes the Windows session's namespace", async () => {
    const WIN = "c:\\Users\\Administrator\\Downloads";
    const WIN_KEY = "/c:/Users/Administrator/Downloads";
    const ctx = await h().newContext();
    const win = await h().session("win", [[ctx, WIN]]);
    writeTree(h().local("win", WIN_KEY), { "report.txt": "from windows" });
    await win.delete();

    const lin = await h().session("lin", [[ctx, "/home/user/Downloads", { mappingPolicy: { path: WIN } }]]);
    expect(readTree(h().local("lin", "/home/user/Downloads"))).toEqual({ "report.txt": "from windows" });
    writeTree(h().local("lin", "/home/user/Downloads"), { "from-linux.txt": "linux" });
    await lin.delete();
    expect(await listAllKeys(h().client, ctx, "/")).toEqual([`${WIN_KEY}/from-linux.txt`, `${WIN_KEY}/report.txt`]);
  });

  it("an invalid policy throws before any I/O with the reference's message", async () => {
    const ctx = await h().newContext();
    await expect(h().session("r", [[ctx, M, { uploadPolicy: { uploadMode: "Zip" } } as never]])).rejects.toThrow(
      "Invalid uploadMode value: Zip. Valid values are: File, Archive",
    );
    expect((await h().client.list()).sessionIds).toEqual([]);
  });
});
