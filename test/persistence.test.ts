import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { statTree, writeTree } from "./helpers/tree.js";

const MOUNT = "/home/user/work";

describe("persistence across sessions", () => {
  const h = useHarness();

  it("session B sees session A's files with identical bytes, modes and mtimes", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, MOUNT]]);
    const dirA = h().local("ra", MOUNT);
    const big = randomBytes(5 * 1024 * 1024);
    writeTree(dirA, {
      "notes.txt": "hello",
      "empty.txt": "",
      "big.bin": big,
      "with space.txt": "spaces",
      "naïve-日本語.txt": "unicode",
      deep: { nested: { dirs: { "leaf.txt": "leaf" } } },
    });
    fs.chmodSync(path.join(dirA, "notes.txt"), 0o600);
    fs.chmodSync(path.join(dirA, "deep/nested/dirs/leaf.txt"), 0o755);
    fs.utimesSync(path.join(dirA, "notes.txt"), 1_600_000_000.5, 1_600_000_000.5);

    expect(await a.delete(true)).toMatchObject({ success: true });

    await h().session("rb", [[ctx, MOUNT]]);
    const dirB = h().local("rb", MOUNT);
    expect(statTree(dirB)).toEqual(statTree(dirA));
    expect(fs.readFileSync(path.join(dirB, "big.bin")).equals(big)).toBe(true);
    expect(fs.readFileSync(path.join(dirB, "naïve-日本語.txt"), "utf8")).toBe("unicode");
    expect(fs.readFileSync(path.join(dirB, "deep/nested/dirs/leaf.txt"), "utf8")).toBe("leaf");
    expect(statTree(dirB)["notes.txt"]).toEqual({ size: 5, mode: 0o600, mtimeMs: 1_600_000_000_500 });
  });

  it("another context mounted at the same path does not see them", async () => {
    const ctx = await h().newContext();
    const other = await h().newContext();
    const a = await h().session("ra", [[ctx, MOUNT]]);
    writeTree(h().local("ra", MOUNT), { "secret.txt": "only in ctx" });
    await a.delete(true);

    await h().session("rb", [[other, MOUNT]]);
    expect(statTree(h().local("rb", MOUNT))).toEqual({});
  });

  it("keeps symlinks as links, never following them", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, MOUNT]]);
    const dirA = h().local("ra", MOUNT);
    writeTree(dirA, { "target.txt": "t" });
    fs.symlinkSync("target.txt", path.join(dirA, "link.txt"));
    fs.symlinkSync("/etc", path.join(dirA, "etc-link"));
    await a.delete(true);

    await h().session("rb", [[ctx, MOUNT]]);
    const dirB = h().local("rb", MOUNT);
    expect(fs.readlinkSync(path.join(dirB, "link.txt"))).toBe("target.txt");
    expect(fs.readlinkSync(path.join(dirB, "etc-link"))).toBe("/etc");
    const files = await h().client.context.listFiles(ctx, MOUNT);
    expect(files.entries.map((e) => e.fileName).sort()).toEqual(["etc-link", "link.txt", "target.txt"]);
  });

  it("a second download skips files that are already identical", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, MOUNT]]);
    writeTree(h().local("ra", MOUNT), { "a.txt": "a", "b.txt": "b" });
    await a.context.sync();
    const again = await a.context.sync(ctx, MOUNT, "download");
    expect(again.success).toBe(true);
    const info = await a.context.infoWithParams(ctx, MOUNT, "download");
    expect(info.contextStatusData).toHaveLength(1);
    expect(info.contextStatusData[0]).toMatchObject({ status: "Success", filesTotal: 0 });
  });
});
