import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeDirs, makeDirsSync } from "./make-dirs.js";

describe.each([
  ["makeDirsSync", async (dir: string, mode?: number) => makeDirsSync(dir, mode)],
  ["makeDirs", makeDirs],
] as const)("%s", (_name, make) => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-make-dirs-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates missing parents, with the mode asked for, and accepts a directory that is there", async () => {
    const deep = path.join(dir, "a", "b", "c");
    await make(deep, 0o700);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(dir, "a")).mode & 0o777).toBe(0o700);
    await make(deep);
    await make(dir);
  });

  it("fails when a file is in the way, at the file or above it", async () => {
    fs.writeFileSync(path.join(dir, "f"), "x");
    await expect(make(path.join(dir, "f"))).rejects.toMatchObject({ code: "EEXIST" });
    await expect(make(path.join(dir, "f", "sub"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });

  it.runIf(fs.existsSync("/proc/self"))("fails under /proc instead of looping (Node 20's recursive mkdir spins there)", async () => {
    await expect(make("/proc/ctxsync-no-such/sub")).rejects.toMatchObject({ code: "ENOENT" });
  });
});
