import { describe, expect, it } from "vitest";
import { useHarness } from "./harness.js";
import { listAllFiles, listAllKeys } from "./list-all-files.js";
import { writeTree } from "./tree.js";

describe("listAllFiles", () => {
  const h = useHarness();

  it("walks nested folders and returns only files, sorted by key", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/w"]]);
    writeTree(h().local("ra", "/w"), { "z.txt": "z", d: { "e.txt": "ee", f: { "g.txt": "g" } }, "a.txt": "a" });
    await s.delete();
    expect(await listAllKeys(h().client, ctx, "/w")).toEqual(["/w/a.txt", "/w/d/e.txt", "/w/d/f/g.txt", "/w/z.txt"]);
    expect((await listAllFiles(h().client, ctx, "/w/d")).map((e) => [e.fileName, e.size])).toEqual([
      ["e.txt", 2],
      ["g.txt", 1],
    ]);
  });

  it("throws when the listing fails instead of returning nothing", async () => {
    await expect(listAllFiles(h().client, "ctx-missing", "/w")).rejects.toThrow("ContextNotFound");
  });
});
