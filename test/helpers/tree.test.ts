import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTree, statTree, tempDir, writeTree } from "./tree.js";

describe("tree helpers", () => {
  let dir = "";
  let cleanup = () => {};
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("writes and reads back nested trees, ignoring empty folders", () => {
    writeTree(dir, { "a.txt": "x", sub: { "b.txt": "y", deeper: { "c.txt": "" } }, empty: {} });
    expect(fs.existsSync(path.join(dir, "empty"))).toBe(true);
    expect(readTree(dir)).toEqual({ "a.txt": "x", sub: { "b.txt": "y", deeper: { "c.txt": "" } } });
  });

  it("stats files by relative path with mode and whole-ms mtime", () => {
    writeTree(dir, { sub: { "f.txt": "abc" } });
    fs.chmodSync(path.join(dir, "sub/f.txt"), 0o640);
    fs.utimesSync(path.join(dir, "sub/f.txt"), 1_700_000_000.123, 1_700_000_000.123);
    expect(statTree(dir)).toEqual({ "sub/f.txt": { size: 3, mode: 0o640, mtimeMs: 1_700_000_000_123 } });
  });

  it("reads a missing directory as empty", () => {
    expect(readTree(path.join(dir, "nope"))).toEqual({});
    expect(statTree(path.join(dir, "nope"))).toEqual({});
  });
});
