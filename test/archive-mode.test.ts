import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UploadMode, type SyncPolicyInit } from "../src/sdk/index.js";
import { useHarness } from "./helpers/harness.js";
import { readTree, statTree, writeTree, type Tree } from "./helpers/tree.js";

const M = "/home/user/work";
const ARCHIVE: SyncPolicyInit = { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } };
const FILE: SyncPolicyInit = { uploadPolicy: { uploadMode: UploadMode.FILE } };

describe("ARCHIVE upload mode", () => {
  const h = useHarness();

  it("round-trips 5,000 small files and a 50 MB file with bytes, modes and mtimes, as one archive object", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, M, ARCHIVE]]);
    const dir = h().local("ra", M);
    const tree: Tree = {};
    for (let d = 0; d < 50; d++) {
      const sub: Tree = {};
      for (let f = 0; f < 100; f++) sub[`f${f}.txt`] = `file ${d}/${f} ${"x".repeat((d * 100 + f) % 300)}`;
      tree[`dir${d}`] = sub;
    }
    writeTree(dir, tree);
    const big = randomBytes(50 << 20);
    fs.writeFileSync(path.join(dir, "big.bin"), big);
    fs.chmodSync(path.join(dir, "dir3/f7.txt"), 0o600);
    fs.symlinkSync("dir1/f1.txt", path.join(dir, "link"));
    expect((await a.delete(true)).success).toBe(true);

    const listing = await h().client.context.listFiles(ctx, M);
    expect(listing.entries.map((e) => e.fileName)).toEqual([".ctxsync-archive.tar.gz"]);
    expect(listing.entries[0]!.size).toBeGreaterThan(50 << 20);

    await h().session("rb", [[ctx, M, ARCHIVE]]);
    const dirB = h().local("rb", M);
    expect(statTree(dirB)).toEqual(statTree(dir));
    expect(readTree(dirB)).toEqual(readTree(dir));
    expect(fs.readFileSync(path.join(dirB, "big.bin")).equals(big)).toBe(true);
    expect(fs.readlinkSync(path.join(dirB, "link"))).toBe("dir1/f1.txt");
    expect(fs.existsSync(path.join(dirB, ".ctxsync-archive.tar.gz"))).toBe(false);
  });

  it("writes an archive that plain tar can read, manifest first", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, M, ARCHIVE]]);
    writeTree(h().local("ra", M), { "a.txt": "a", sub: { "b.txt": "b" } });
    await a.delete(true);
    const blobsDir = path.join(h().dir, "store", "blobs");
    const archives = fs
      .readdirSync(blobsDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && /^[0-9a-f]{64}$/.test(d.name))
      .map((d) => path.join(d.parentPath, d.name));
    expect(archives).toHaveLength(1);
    const names = execFileSync("tar", ["tzf", archives[0]!], { encoding: "utf8" }).trim().split("\n");
    expect(names).toEqual([".ctxsync-manifest.jsonl", "a.txt", "sub/b.txt"]);
  });

  it("switching FILE → ARCHIVE → FILE across three sessions keeps every file", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, M, FILE]]);
    writeTree(h().local("r1", M), { "one.txt": "1", d: { "deep.txt": "d" } });
    await s1.delete(true);

    const s2 = await h().session("r2", [[ctx, M, ARCHIVE]]);
    expect(readTree(h().local("r2", M))).toEqual({ "one.txt": "1", d: { "deep.txt": "d" } });
    writeTree(h().local("r2", M), { "two.txt": "2" });
    await s2.delete(true);
    expect((await h().client.context.listFiles(ctx, M)).entries.map((e) => e.fileName)).toEqual([".ctxsync-archive.tar.gz"]);

    const s3 = await h().session("r3", [[ctx, M, FILE]]);
    expect(readTree(h().local("r3", M))).toEqual({ "one.txt": "1", "two.txt": "2", d: { "deep.txt": "d" } });
    writeTree(h().local("r3", M), { "three.txt": "3" });
    await s3.delete(true);
    const names = (await h().client.context.listFiles(ctx, M)).entries.map((e) => e.fileName);
    expect(names).toEqual(["d", "one.txt", "three.txt", "two.txt"]);

    await h().session("r4", [[ctx, M]]);
    expect(readTree(h().local("r4", M))).toEqual({ "one.txt": "1", "two.txt": "2", "three.txt": "3", d: { "deep.txt": "d" } });
  });

  it("with syncLocalFile false a locally deleted file survives in the new archive", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, M, ARCHIVE]]);
    writeTree(h().local("r1", M), { "keep.txt": "k", "gone-locally.txt": "g" });
    await s1.delete(true);

    const s2 = await h().session("r2", [[ctx, M, { ...ARCHIVE, deletePolicy: { syncLocalFile: false } }]]);
    fs.rmSync(path.join(h().local("r2", M), "gone-locally.txt"));
    writeTree(h().local("r2", M), { "new.txt": "n" });
    await s2.delete(true);

    await h().session("r3", [[ctx, M, ARCHIVE]]);
    expect(readTree(h().local("r3", M))).toEqual({ "keep.txt": "k", "gone-locally.txt": "g", "new.txt": "n" });
  });

  it("deletes propagate and two sessions' changes merge in archive mode", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, M, ARCHIVE]]);
    writeTree(h().local("r1", M), { "a.txt": "a", "b.txt": "b" });
    await s1.delete(true);

    const a = await h().session("ra", [[ctx, M, ARCHIVE]]);
    const b = await h().session("rb", [[ctx, M, ARCHIVE]]);
    fs.rmSync(path.join(h().local("ra", M), "a.txt"));
    writeTree(h().local("rb", M), { "from-b.txt": "b!" });
    await b.delete(true);
    await a.delete(true);

    await h().session("rc", [[ctx, M]]);
    expect(readTree(h().local("rc", M))).toEqual({ "b.txt": "b", "from-b.txt": "b!" });
  });

  it("a no-op upload writes no new archive", async () => {
    const ctx = await h().newContext();
    const s = await h().session("r1", [[ctx, M, ARCHIVE]]);
    writeTree(h().local("r1", M), { "a.txt": "a" });
    await s.context.sync();
    const before = (await h().client.context.listFiles(ctx, M)).entries[0];
    await s.context.sync();
    expect((await h().client.context.listFiles(ctx, M)).entries[0]).toEqual(before);
  });
});
