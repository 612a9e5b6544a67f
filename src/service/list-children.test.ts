import { describe, expect, it } from "vitest";
import type { FileRecord } from "../store/index.js";
import { listChildren } from "./list-children.js";

const rec = (key: string, sizeBytes = 1, mtimeMs = 0): FileRecord => ({
  key, type: "file", digest: "0".repeat(64), sizeBytes, mode: 0o644, mtimeMs, linkTarget: null,
  generation: 1, writtenAtMs: 0, expiresAtMs: null,
});

describe("listChildren", () => {
  it("folds deeper files into FOLDER entries, folders first, then files, by name", () => {
    const out = listChildren("/a", [rec("/a/x.txt", 3), rec("/a/d/y.txt", 2), rec("/a/d/e/z.txt", 5, 86_400_000), rec("/a/b.txt")]);
    expect(out.map((e) => [e.filePath, e.fileType, e.size])).toEqual([
      ["/a/d", "FOLDER", 7],
      ["/a/b.txt", "file", 1],
      ["/a/x.txt", "file", 3],
    ]);
    expect(out[0]!.gmtModified).toBe("1970-01-02T00:00:00.000Z");
  });

  it("lists the root", () => {
    expect(listChildren("/", [rec("/top.txt"), rec("/home/u/f")]).map((e) => e.filePath)).toEqual(["/home", "/top.txt"]);
  });

  it("lists a file whose mtime lies beyond what a Date holds, at the nearest time it can show", () => {
    // `touch -d @99999999999999` on a local file: valid there, out of range for a Date.
    const out = listChildren("/a", [rec("/a/far.txt", 1, 1e17), rec("/a/d/old.txt", 1, -1e17)]);
    expect(out.map((e) => e.gmtModified)).toEqual(["-271821-04-20T00:00:00.000Z", "+275760-09-13T00:00:00.000Z"]);
  });

  it("ignores a file whose key equals the parent", () => {
    expect(listChildren("/a", [rec("/a")])).toEqual([]);
  });
});
