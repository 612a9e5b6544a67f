import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContextSync, SyncPolicy, UploadMode, type SyncPolicyInit } from "../src/sdk/index.js";
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
    const archives = archiveBlobs(h().dir);
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

  /** A new session downloading `ctx` in ARCHIVE mode into its own root; its download task, which failed. */
  const downloadInNewSession = async (ctx: string) => {
    const root = path.join(h().dir, "r2");
    const r = await h().client.create({ root, contextSync: [ContextSync.new(ctx, M, new SyncPolicy(ARCHIVE))] });
    const info = await r.session!.context.infoWithParams(ctx, M, "download");
    expect(info.contextStatusData[0]).toMatchObject({ status: "Failed", taskType: "download" });
    return { root, failure: info.contextStatusData[0]! };
  };

  it("a download from a damaged archive writes the intact files, never the damaged one, and fails saying why", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, M, ARCHIVE]]);
    // Random bytes do not compress: the archive holds them as they are, so one can be flipped on disk.
    // Padding on both sides: the damage lies past the first inflated MiB (which holds the manifest, read
    // up front), and far enough from the end that gzip's check of the whole archive fails only after the
    // damaged file's own digest check did.
    const damaged = randomBytes(64 << 10);
    writeTree(h().local("r1", M), { "a.txt": "a", "b-padding.bin": randomBytes(2 << 20), "damaged.bin": damaged, "z-padding.bin": randomBytes(8 << 20) });
    await s1.delete(true);
    flipArchiveByteOf(h().dir, damaged);

    const { root, failure } = await downloadInNewSession(ctx);
    // The damaged file fails its digest check; gzip's check of the whole archive fails at its end.
    expect(failure.errorMessage).toMatch(/damaged\.bin: Content hash mismatch/);
    expect(failure.errorMessage).toMatch(/\.ctxsync-archive\.tar\.gz: The context's archive \(blob [0-9a-f]{64}\) is damaged/);
    const local = path.join(root, M);
    expect(fs.existsSync(path.join(local, "damaged.bin"))).toBe(false);
    expect(fs.readFileSync(path.join(local, "a.txt"), "utf8")).toBe("a");
    expect(fs.readdirSync(local).filter((n) => n.startsWith(".ctxsync-tmp-"))).toEqual([]);
  });

  it("a download from a small damaged archive fails saying so, and writes nothing", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("r1", [[ctx, M, ARCHIVE]]);
    const damaged = randomBytes(64 << 10);
    writeTree(h().local("r1", M), { "a.txt": "a", "damaged.bin": damaged });
    await s1.delete(true);
    flipArchiveByteOf(h().dir, damaged);

    const { root, failure } = await downloadInNewSession(ctx);
    expect(failure.errorMessage).toMatch(/The context's archive \(blob [0-9a-f]{64}\) is damaged: gzip reports/);
    expect(fs.existsSync(path.join(root, M)) ? fs.readdirSync(path.join(root, M)) : []).toEqual([]);
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

  it("a mount in ARCHIVE mode below another leaves the other's archive alone, both ways", async () => {
    const ctx = await h().newContext();
    const child = await h().session("child", [[ctx, `${M}/a`, ARCHIVE]]);
    writeTree(h().local("child", `${M}/a`), { "notes.txt": "child notes" });
    expect((await child.delete()).success).toBe(true);

    // The parent neither downloads nor unpacks nor absorbs the child's archive.
    const parent = await h().session("parent", [[ctx, M, ARCHIVE]]);
    expect(readTree(h().local("parent", M))).toEqual({});
    writeTree(h().local("parent", M), { "top.txt": "parent" });
    expect((await parent.delete()).success).toBe(true);

    const again = await h().session("again", [[ctx, `${M}/a`, ARCHIVE]]);
    expect((await again.context.info()).contextStatusData[0]).toMatchObject({ status: "Success" });
    expect(readTree(h().local("again", `${M}/a`))).toEqual({ "notes.txt": "child notes" });
    const whole = await h().session("whole", [[ctx, M, ARCHIVE]]);
    expect(readTree(h().local("whole", M))).toEqual({ "top.txt": "parent" });
    await again.delete();
    await whole.delete();
  });
});

/**
 * Flips one byte of the store's only archive inside `content` (random bytes, which the archive holds as
 * they are: stored deflate blocks).
 */
function flipArchiveByteOf(harnessDir: string, content: Buffer): void {
  const [archive] = archiveBlobs(harnessDir);
  const bytes = fs.readFileSync(archive!);
  const at = bytes.indexOf(content.subarray(1000, 1064));
  expect(at).toBeGreaterThan(0);
  bytes[at] = bytes[at]! ^ 0xff;
  fs.writeFileSync(archive!, bytes);
}

/** Paths of the blobs in the harness's store: in a test that stored one archive and nothing else, that archive. */
function archiveBlobs(harnessDir: string): string[] {
  return fs
    .readdirSync(path.join(harnessDir, "store", "blobs"), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /^[0-9a-f]{64}$/.test(d.name))
    .map((d) => path.join(d.parentPath, d.name));
}
