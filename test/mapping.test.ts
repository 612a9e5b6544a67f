import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { listAllKeys } from "./helpers/list-all-files.js";
import { readTree, writeTree } from "./helpers/tree.js";

// SPEC §3, Mapping policy: a Windows session and a Linux session share one tree through mappingPolicy.path.
const WIN = "c:\\Users\\Administrator\\Downloads";
const WIN_KEY = "/c:/Users/Administrator/Downloads"; // WIN normalised: drive lower-cased, `\` → `/`
const LINUX = "/home/user/Downloads";
const MAPPED = { mappingPolicy: { path: WIN } };

describe("mapping policy", () => {
  const h = useHarness();

  it("a Linux session with mappingPolicy reads and writes the Windows session's tree at its own path", async () => {
    const ctx = await h().newContext();

    // 1. A Windows session uploads. Its files live at root + the normalised path.
    const win = await h().session("win", [[ctx, WIN]]);
    writeTree(h().local("win", WIN_KEY), { "report.txt": "v1 from windows", sub: { "notes.md": "notes" } });
    expect(await win.delete()).toMatchObject({ success: true });
    expect(await listAllKeys(h().client, ctx, "/")).toEqual([`${WIN_KEY}/report.txt`, `${WIN_KEY}/sub/notes.md`]);

    // 2. The Linux session sees those files at its mount path, and nowhere else on its disk.
    const lin = await h().session("lin", [[ctx, LINUX, MAPPED]]);
    const linDir = h().local("lin", LINUX);
    expect(readTree(path.join(h().dir, "lin"))).toEqual({
      home: { user: { Downloads: { "report.txt": "v1 from windows", sub: { "notes.md": "notes" } } } },
    });
    // It edits one file, adds one and deletes one, then uploads.
    writeTree(linDir, { "report.txt": "v2 edited on linux", "from-linux.txt": "new" });
    fs.rmSync(path.join(linDir, "sub", "notes.md"));
    expect(await lin.context.sync()).toMatchObject({ success: true });

    // Task status reports the mount path, not the namespace.
    const info = await lin.context.info();
    expect(info.contextStatusData.map((t) => [t.taskType, t.status, t.path]).sort()).toEqual([
      ["download", "Success", LINUX],
      ["upload", "Success", LINUX],
    ]);
    expect(await lin.delete()).toMatchObject({ success: true });

    // 3. Everything landed under the Windows namespace; nothing under the Linux path.
    const listed = await h().client.context.listFiles(ctx, WIN);
    expect(listed.success).toBe(true);
    expect(listed.entries.map((e) => [e.filePath, e.fileType])).toEqual([
      [`${WIN_KEY}/from-linux.txt`, "file"],
      [`${WIN_KEY}/report.txt`, "file"],
    ]);
    expect((await h().client.context.listFiles(ctx, WIN_KEY)).entries).toEqual(listed.entries);
    expect(await h().client.context.listFiles(ctx, LINUX)).toMatchObject({ success: true, entries: [] });
    expect((await h().client.context.listFiles(ctx, "/")).entries.map((e) => [e.fileName, e.fileType])).toEqual([["c:", "FOLDER"]]);

    // 4. Another Windows session, with the path spelled differently, sees the Linux edits.
    await h().session("win2", [[ctx, "C:/Users/Administrator/Downloads/"]]);
    expect(readTree(h().local("win2", WIN_KEY))).toEqual({ "report.txt": "v2 edited on linux", "from-linux.txt": "new" });
  });

  it("two Linux mounts with the same mapping share one tree, and the context holds it only under the mapped path", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, "/home/alice/dl", MAPPED]]);
    writeTree(h().local("ra", "/home/alice/dl"), { "a.txt": "from alice" });
    await a.delete();

    await h().session("rb", [[ctx, "/srv/bob", MAPPED]]);
    expect(readTree(h().local("rb", "/srv/bob"))).toEqual({ "a.txt": "from alice" });
    expect(await listAllKeys(h().client, ctx, "/")).toEqual([`${WIN_KEY}/a.txt`]);
  });
});
