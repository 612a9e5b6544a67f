import { describe, expect, it } from "vitest";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree } from "./helpers/tree.js";

describe("release uploads first", () => {
  const h = useHarness();

  it("delete() without syncContext uploads autoUpload mounts before it returns", async () => {
    const ctx = await h().newContext();
    const a = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "kept.txt": "v1" });
    expect(await a.delete()).toMatchObject({ success: true });

    // No sleep: the next session must see the data as soon as delete() resolved.
    await h().session("rb", [[ctx, "/data"]]);
    expect(readTree(h().local("rb", "/data"))).toEqual({ "kept.txt": "v1" });
  });

  it("delete() does not upload mounts with autoUpload false", async () => {
    const auto = await h().newContext();
    const manual = await h().newContext();
    const a = await h().session("ra", [
      [auto, "/auto"],
      [manual, "/manual", { uploadPolicy: { autoUpload: false } }],
    ]);
    writeTree(h().local("ra", "/auto"), { "a.txt": "a" });
    writeTree(h().local("ra", "/manual"), { "m.txt": "m" });
    await a.delete();

    expect((await h().client.context.listFiles(auto, "/auto")).entries.map((e) => e.fileName)).toEqual(["a.txt"]);
    expect((await h().client.context.listFiles(manual, "/manual")).entries).toEqual([]);
  });

});

describe("sync on demand", () => {
  const h = useHarness();

  it("sync() with contextId but no path throws the reference's message", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    await expect(s.context.sync(ctx)).rejects.toThrow(
      "contextId and path must be provided together or both omitted. If you want to sync a specific context, both contextId and path are required. If you want to sync all contexts, omit both parameters.",
    );
    await expect(s.context.sync(undefined, "/data")).rejects.toThrow("contextId and path must be provided together");
  });
});
