import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CtxSync, InvalidParameterError, UploadMode, type Session } from "../src/sdk/index.js";
import { useClockedHarness } from "./helpers/clocked-harness.js";
import { DAY_MS, HOUR_MS } from "./helpers/fake-clock.js";
import { readTree, statTree, tempDir, writeTree, type Tree } from "./helpers/tree.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** SPEC §3 History: every commit is a generation; log lists them, restore brings one back, gc prunes them. */
describe("history", () => {
  const h = useClockedHarness();
  let roots = 0;

  /** What a fresh session downloads from the context at /w. */
  const download = async (contextId: string): Promise<Tree> => {
    const root = `fresh-${++roots}`;
    await h().session(root, [[contextId, "/w"]]);
    return readTree(h().local(root, "/w"));
  };
  const upload = async (s: Session): Promise<void> => {
    const r = await s.context.sync();
    expect(r.errorMessage).toBeUndefined();
  };
  const restore = async (contextId: string, generation: number, path?: string): Promise<number> => {
    const r = await h().client.context.restore(contextId, generation, path === undefined ? {} : { path });
    expect(r.errorMessage).toBeUndefined();
    return r.generation!;
  };

  /**
   * Generation 1: a, b, d/x. Generation 2 (an hour later): a changed, b deleted, e added.
   * Returns the context, the session that wrote both, and its local directory.
   */
  const twoGenerations = async (): Promise<{ ctx: string; s: Session; dir: string }> => {
    const ctx = await h().newContext();
    const s = await h().session("a", [[ctx, "/w"]]);
    const dir = h().local("a", "/w");
    writeTree(dir, { "a.txt": "a1", "b.txt": "b1", d: { "x.txt": "x1" } });
    fs.chmodSync(path.join(dir, "b.txt"), 0o600);
    fs.utimesSync(path.join(dir, "b.txt"), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
    await upload(s);
    h().clock.advance(HOUR_MS);
    writeTree(dir, { "a.txt": "a2, changed", "e.txt": "e1" });
    fs.rmSync(path.join(dir, "b.txt"));
    await upload(s);
    return { ctx, s, dir };
  };

  it("log lists generations newest first with their time, session and counts", async () => {
    const start = h().clock.now();
    const { ctx, s } = await twoGenerations();
    const r = await h().client.context.log(ctx);
    expect(r.success).toBe(true);
    expect(r.generations).toEqual([
      { generation: 2, time: new Date(start + HOUR_MS).toISOString(), sessionId: s.sessionId, added: 1, changed: 1, removed: 1 },
      { generation: 1, time: new Date(start).toISOString(), sessionId: s.sessionId, added: 3, changed: 0, removed: 0 },
    ]);
    expect((await h().client.context.log(ctx, 1)).generations.map((g) => g.generation)).toEqual([2]);
  });

  it("restore of a whole context brings back deleted and changed files as they were and removes files added since", async () => {
    const { ctx } = await twoGenerations();
    expect(await restore(ctx, 1)).toBe(3);

    expect(await download(ctx)).toEqual({ "a.txt": "a1", "b.txt": "b1", d: { "x.txt": "x1" } });
    // A restored file keeps its original mode and mtime.
    expect(statTree(h().local(`fresh-${roots}`, "/w"))["b.txt"]).toEqual({ size: 2, mode: 0o600, mtimeMs: 1_600_000_000_000 });
    expect((await h().client.context.log(ctx, 1)).generations[0]).toMatchObject({
      generation: 3, sessionId: null, added: 1, changed: 1, removed: 1,
    });
  });

  it("restore of one file changes only that file", async () => {
    const { ctx } = await twoGenerations();
    expect(await restore(ctx, 1, "/w/b.txt")).toBe(3);
    expect(await download(ctx)).toEqual({ "a.txt": "a2, changed", "b.txt": "b1", "e.txt": "e1", d: { "x.txt": "x1" } });
    expect((await h().client.context.log(ctx, 1)).generations[0]).toMatchObject({ added: 1, changed: 0, removed: 0 });
  });

  it("restore of a folder changes only what lies under it", async () => {
    const { ctx, s, dir } = await twoGenerations();
    writeTree(dir, { d: { "x.txt": "x2", "y.txt": "y new" } });
    await upload(s);
    expect(await restore(ctx, 2, "/w/d")).toBe(4);
    expect(await download(ctx)).toEqual({ "a.txt": "a2, changed", "e.txt": "e1", d: { "x.txt": "x1" } });
  });

  it("restore to the state the context already has commits nothing and returns the head", async () => {
    const { ctx } = await twoGenerations();
    expect(await restore(ctx, 2)).toBe(2);
    expect((await h().client.context.log(ctx)).generations).toHaveLength(2);
  });

  const missing: { what: string; generation: number; errorCode: string }[] = [
    { what: "0, before the first commit,", generation: 0, errorCode: "GenerationNotFound" },
    { what: "3, after the head,", generation: 3, errorCode: "GenerationNotFound" },
    { what: "99", generation: 99, errorCode: "GenerationNotFound" },
    { what: "1.5, not a whole number,", generation: 1.5, errorCode: "InvalidParameter" },
  ];
  for (const { what, generation, errorCode } of missing) {
    it(`restore to generation ${what} fails with ${errorCode} and changes nothing`, async () => {
      const { ctx } = await twoGenerations();
      const r = await h().client.context.restore(ctx, generation);
      expect(r).toMatchObject({ success: false, errorCode });
      expect((await h().client.context.log(ctx)).generations).toHaveLength(2);
    });
  }

  it("restore of a context that does not exist fails with ContextNotFound", async () => {
    expect(await h().client.context.restore("ctx-01ARZ3NDEKTSV4RRFFQ69G5FAV", 1)).toMatchObject({
      success: false,
      errorCode: "ContextNotFound",
    });
  });

  it("restores an ARCHIVE-mode mount as a whole, and refuses a path inside its archive with a clear error", async () => {
    const ctx = await h().newContext();
    const archive = { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } };
    const s = await h().session("a", [[ctx, "/w", archive]]);
    writeTree(h().local("a", "/w"), { "a.txt": "a1", sub: { "b.txt": "b1" } });
    await upload(s);
    writeTree(h().local("a", "/w"), { "a.txt": "a2", sub: { "c.txt": "c1" } });
    await upload(s);

    const inside = await h().client.context.restore(ctx, 1, { path: "/w/sub" });
    expect(inside).toMatchObject({ success: false, errorCode: "InvalidParameter" });
    expect(inside.errorMessage).toContain("restore /w instead");
    expect((await h().client.context.log(ctx)).generations).toHaveLength(2);

    expect(await restore(ctx, 1, "/w")).toBe(3);
    expect(await download(ctx)).toEqual({ "a.txt": "a1", sub: { "b.txt": "b1" } });
  });

  it("keeps the earlier bytes of a file both sessions changed retrievable: restore brings them back", async () => {
    const ctx = await h().newContext();
    const s1 = await h().session("s1", [[ctx, "/w"]]);
    writeTree(h().local("s1", "/w"), { "x.txt": "original" });
    await upload(s1);
    const s2 = await h().session("s2", [[ctx, "/w"]]);

    writeTree(h().local("s1", "/w"), { "x.txt": "from session 1" });
    await upload(s1);
    writeTree(h().local("s2", "/w"), { "x.txt": "from session 2, later" });
    await upload(s2);
    expect(await download(ctx)).toEqual({ "x.txt": "from session 2, later" });

    const byS1 = (await h().client.context.log(ctx)).generations.find((g) => g.sessionId === s1.sessionId && g.changed === 1);
    expect(byS1).toBeDefined();
    await restore(ctx, byS1!.generation, "/w/x.txt");
    expect(await download(ctx)).toEqual({ "x.txt": "from session 1" });
  });

  it("gc after the retention period keeps exactly the blobs kept history references, and pruned generations can no longer be restored", async () => {
    const { ctx, s, dir } = await twoGenerations(); // generations 1 and 2 at day 0
    h().clock.advance(8 * DAY_MS);
    writeTree(dir, { "a.txt": "a3, day 8" });
    await upload(s); // generation 3 at day 8

    const gc = await h().client.gc();
    // Generation 2 was head at the 7-day cutoff, so it stays restorable; generation 1 and the versions
    // generation 2 replaced or deleted (a1, b1) go.
    expect(gc).toMatchObject({ success: true, expiredFiles: 0, prunedGenerations: 1, prunedVersions: 2, deletedBlobs: 2 });
    expect((await h().client.context.log(ctx)).generations.map((g) => g.generation)).toEqual([3, 2]);
    const referenced = await h().referencedDigests();
    expect(await h().storedDigests()).toEqual(referenced);
    expect(referenced).toEqual(new Set(["a2, changed", "a3, day 8", "e1", "x1"].map(sha256)));

    expect(await h().client.context.restore(ctx, 1)).toMatchObject({ success: false, errorCode: "GenerationNotFound" });
    expect(await restore(ctx, 2)).toBe(4);
    expect(await download(ctx)).toEqual({ "a.txt": "a2, changed", "e.txt": "e1", d: { "x.txt": "x1" } });
  });

  it("gc leaves a blob stored but not committed (an upload in flight) alone for the grace period, then deletes it", async () => {
    const ctx = await h().newContext();
    const s = await h().session("a", [[ctx, "/w"]]);
    writeTree(h().local("a", "/w"), { "kept.txt": "committed" });
    await upload(s);
    const inFlight = path.join(h().dir, "in-flight.bin");
    const content = "stored by an upload that has not committed yet";
    fs.writeFileSync(inFlight, content);
    const [stored] = await (await h().blobStore()).ingestFiles([{ path: inFlight, sizeBytes: content.length }]);
    expect(stored).toEqual({ digest: sha256(content), sizeBytes: content.length });

    h().clock.advance(23 * HOUR_MS);
    expect(await h().client.gc()).toMatchObject({ success: true, deletedBlobs: 0, keptBlobs: 2 });
    expect((await h().storedDigests()).size).toBe(2);

    h().clock.advance(2 * HOUR_MS);
    expect(await h().client.gc()).toMatchObject({ success: true, deletedBlobs: 1, keptBlobs: 1 });
    expect(await h().storedDigests()).toEqual(new Set([sha256("committed")]));
    expect(await download(ctx)).toEqual({ "kept.txt": "committed" });
  });
});

describe("gc options", () => {
  it("a negative retention is refused before the store is opened", async () => {
    const t = tempDir();
    try {
      const home = path.join(t.dir, "store");
      const client = new CtxSync({ home, retentionMs: -1 });
      await expect(client.gc()).rejects.toThrow(InvalidParameterError);
      expect(fs.existsSync(home)).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
