import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ContextSync } from "../../src/sdk/index.js";
import { CLIENT_KINDS, useClientHarness } from "../helpers/client-harness.js";
import { readTree, statTree, writeTree } from "../helpers/tree.js";

const MOUNT = "/home/user/work";

describe.each(CLIENT_KINDS)("persistence across sessions (%s client)", (kind) => {
  const h = useClientHarness(kind);

  it("delete(true): session B sees session A's files with identical bytes, modes and mtimes", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, MOUNT]]);
    const dirA = h().local("ra", MOUNT);
    const big = randomBytes(3 * 1024 * 1024);
    writeTree(dirA, { "notes.txt": "hello", "empty.txt": "", "big.bin": big, "naïve-日本語.txt": "unicode", deep: { nested: { "leaf.txt": "leaf" } } });
    fs.chmodSync(path.join(dirA, "notes.txt"), 0o600);
    fs.utimesSync(path.join(dirA, "notes.txt"), 1_600_000_000.5, 1_600_000_000.5);
    fs.symlinkSync("notes.txt", path.join(dirA, "link"));

    expect(await a.delete(true)).toMatchObject({ success: true });

    await h().session("rb", [[ctx, MOUNT]]);
    const dirB = h().local("rb", MOUNT);
    expect(statTree(dirB)).toEqual(statTree(dirA));
    expect(fs.readFileSync(path.join(dirB, "big.bin")).equals(big)).toBe(true);
    expect(fs.readlinkSync(path.join(dirB, "link"))).toBe("notes.txt");
    expect(statTree(dirB)["notes.txt"]).toEqual({ size: 5, mode: 0o600, mtimeMs: 1_600_000_000_500 });
  });

  it("plain delete() uploads autoUpload mounts before it returns, and not the others", async () => {
    const auto = await h().newContext();
    const manual = await h().newContext();
    const a = await h().session("ra", [
      [auto, "/auto"],
      [manual, "/manual", { uploadPolicy: { autoUpload: false } }],
    ]);
    writeTree(h().local("ra", "/auto"), { "kept.txt": "v1" });
    writeTree(h().local("ra", "/manual"), { "m.txt": "m" });
    expect(await a.delete()).toMatchObject({ success: true });

    // No sleep: the next session must see the data as soon as delete() resolved.
    await h().session("rb", [[auto, "/auto"]]);
    expect(readTree(h().local("rb", "/auto"))).toEqual({ "kept.txt": "v1" });
    expect((await h().client.context.listFiles(manual, "/manual")).entries).toEqual([]);
    expect((await h().client.get(a.sessionId)).session?.status).toBe("released");
    expect((await h().client.list()).sessionIds).not.toContain(a.sessionId);
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

  it("a mount that opts out of waiting is downloaded in the background", async () => {
    const ctx = await h().newContext();
    const seed = await h().session("seed", [[ctx, "/data"]]);
    writeTree(h().local("seed", "/data"), { "f.txt": "f" });
    await seed.delete(true);

    
    const r = await h().client.create({
      root: path.join(h().dir, "rb"),
      contextSync: [ContextSync.new(ctx, "/data").withBetaWaitForCompletion(false)],
    });
    expect(r.success).toBe(true);
    // The download finishes on its own; a download sync on demand then has nothing left to write.
    expect((await r.session!.context.sync(ctx, "/data", "download")).success).toBe(true);
    expect(readTree(h().local("rb", "/data"))).toEqual({ "f.txt": "f" });
  });
});
