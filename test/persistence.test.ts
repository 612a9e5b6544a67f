import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { writeTree } from "./helpers/tree.js";

const MOUNT = "/home/user/work";

describe("persistence across sessions", () => {
  const h = useHarness();

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
