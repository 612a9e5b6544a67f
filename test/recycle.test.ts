import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Lifecycle, type SyncPolicyInput } from "../src/sdk/index.js";
import { useClockedHarness } from "./helpers/clocked-harness.js";
import { DAY_MS } from "./helpers/fake-clock.js";
import { readTree, writeTree } from "./helpers/tree.js";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** SPEC §3 Recycle policy: files under the recycle paths expire `lifecycle` after the upload that wrote them. */
describe("recycle policy", () => {
  const h = useClockedHarness();
  const CACHE_FOR_A_DAY: SyncPolicyInput = { recyclePolicy: { lifecycle: Lifecycle.LIFECYCLE_1DAY, paths: ["/cache"] } };
  const names = async (contextId: string, folder: string): Promise<string[]> => {
    const r = await h().client.context.listFiles(contextId, folder);
    expect(r.success).toBe(true);
    return r.entries.map((e) => e.fileName);
  };

  it("hides files under a recycle path from listings and downloads once their lifecycle has passed, and only those", async () => {
    const ctx = await h().newContext();
    const s = await h().session("a", [[ctx, "/data", CACHE_FOR_A_DAY]]);
    writeTree(h().local("a", "/data"), { cache: { "a.bin": "cached" }, "notes.txt": "keep" });
    expect((await s.context.sync()).success).toBe(true);

    h().clock.advance(DAY_MS - 1);
    expect(await names(ctx, "/data/cache")).toEqual(["a.bin"]);

    h().clock.advance(2); // one day and one millisecond after the upload
    expect(await names(ctx, "/data/cache")).toEqual([]);
    expect(await names(ctx, "/data")).toEqual(["notes.txt"]);
    await h().session("b", [[ctx, "/data", CACHE_FOR_A_DAY]]);
    expect(readTree(h().local("b", "/data"))).toEqual({ "notes.txt": "keep" });
  });

  it("never expires files under LIFECYCLE_FOREVER, nor does gc remove them", async () => {
    const ctx = await h().newContext();
    const forever: SyncPolicyInput = { recyclePolicy: { lifecycle: Lifecycle.LIFECYCLE_FOREVER, paths: [""] } };
    const s = await h().session("a", [[ctx, "/data", forever]]);
    writeTree(h().local("a", "/data"), { "old.txt": "still here" });
    expect((await s.context.sync()).success).toBe(true);

    h().clock.advance(1000 * DAY_MS);
    expect(await h().client.gc()).toMatchObject({ success: true, expiredFiles: 0, deletedBlobs: 0, keptBlobs: 1 });
    expect(await names(ctx, "/data")).toEqual(["old.txt"]);
    await h().session("b", [[ctx, "/data"]]);
    expect(readTree(h().local("b", "/data"))).toEqual({ "old.txt": "still here" });
  });

  it("restarts a file's clock when it is written again, and gc then frees the expired file's blobs", async () => {
    const ctx = await h().newContext();
    const s = await h().session("a", [[ctx, "/data", CACHE_FOR_A_DAY]]);
    const dir = h().local("a", "/data");
    writeTree(dir, { cache: { "a.bin": "version 1" }, "notes.txt": "keep" });
    expect((await s.context.sync()).success).toBe(true); // day 0

    h().clock.advance(0.8 * DAY_MS);
    writeTree(dir, { cache: { "a.bin": "version 2, longer" } });
    expect((await s.context.sync()).success).toBe(true); // day 0.8: expires at day 1.8

    h().clock.advance(0.7 * DAY_MS); // day 1.5
    await h().session("b", [[ctx, "/data"]]);
    expect(readTree(h().local("b", "/data"))).toEqual({ cache: { "a.bin": "version 2, longer" }, "notes.txt": "keep" });

    h().clock.advance(0.4 * DAY_MS); // day 1.9
    expect(await names(ctx, "/data/cache")).toEqual([]);
    expect(await h().storedDigests()).toEqual(new Set([sha256("version 1"), sha256("version 2, longer"), sha256("keep")]));

    // Both versions of a.bin expired (the first at day 1, the second at 1.8); their blobs were stored at day 0
    // and 0.8 by the store's clock, so the default 24-hour grace period has passed for both.
    const gc = await h().client.gc();
    expect(gc).toMatchObject({ success: true, expiredFiles: 2, prunedVersions: 0, prunedGenerations: 0, deletedBlobs: 2, keptBlobs: 1 });
    expect(await h().storedDigests()).toEqual(new Set([sha256("keep")]));
    expect(await h().referencedDigests()).toEqual(new Set([sha256("keep")]));
    await h().session("c", [[ctx, "/data"]]);
    expect(readTree(h().local("c", "/data"))).toEqual({ "notes.txt": "keep" });
  });

  it("an ARCHIVE-mode upload that expires its own files keeps the lifetime of files it carries from others", async () => {
    const ctx = await h().newContext();
    const forever = await h().session("a", [[ctx, "/data"]]);
    writeTree(h().local("a", "/data"), { "precious.txt": "kept forever" });
    expect((await forever.delete()).success).toBe(true);

    const scratch: SyncPolicyInput = { uploadPolicy: { uploadMode: "Archive" }, recyclePolicy: { lifecycle: Lifecycle.LIFECYCLE_1DAY, paths: [""] } };
    const b = await h().session("b", [[ctx, "/data", scratch]]);
    writeTree(h().local("b", "/data"), { "other.txt": "scratch" });
    expect((await b.delete()).success).toBe(true);

    h().clock.advance(4 * DAY_MS);
    await h().session("c", [[ctx, "/data"]]);
    expect(readTree(h().local("c", "/data"))).toMatchObject({ "precious.txt": "kept forever" });
  });
});
