import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeDirsSync } from "./make-dirs.js";

describe("makeDirsSync", () => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-make-dirs-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates missing parents, with the mode asked for, and accepts a directory that is there", () => {
    const deep = path.join(dir, "a", "b", "c");
    makeDirsSync(deep, 0o700);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(dir, "a")).mode & 0o777).toBe(0o700);
    makeDirsSync(deep);
    makeDirsSync(dir);
  });

  it("fails when a file is in the way, at the file or above it", () => {
    fs.writeFileSync(path.join(dir, "f"), "x");
    expect(() => makeDirsSync(path.join(dir, "f"))).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(() => makeDirsSync(path.join(dir, "f", "sub"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });

  it.runIf(fs.existsSync("/proc/self"))("fails under /proc instead of looping (Node 20's recursive mkdir spins there)", () => {
    expect(() => makeDirsSync("/proc/ctxsync-no-such/sub")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
