import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compileWhiteList } from "../policy/index.js";
import { scanTree } from "./scan-tree.js";

describe("scanTree", () => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-scan-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lists files and symlinks with POSIX relative paths, never following links", async () => {
    fs.mkdirSync(path.join(dir, "a/b"), { recursive: true });
    fs.writeFileSync(path.join(dir, "a/b/f.txt"), "abc");
    fs.chmodSync(path.join(dir, "a/b/f.txt"), 0o640);
    fs.symlinkSync("/etc", path.join(dir, "etc-link")); // a directory link: must not be descended
    const { entries, skipped } = await scanTree(dir, compileWhiteList(null));
    expect([...entries.keys()].sort()).toEqual(["a/b/f.txt", "etc-link"]);
    expect(entries.get("a/b/f.txt")).toMatchObject({ type: "file", sizeBytes: 3, mode: 0o640, linkTarget: null });
    expect(entries.get("etc-link")).toMatchObject({ type: "symlink", linkTarget: "/etc" });
    expect(skipped).toEqual([]);
  });

  it("reports FIFOs as skipped", async () => {
    execFileSync("mkfifo", [path.join(dir, "pipe")]);
    const { entries, skipped } = await scanTree(dir, compileWhiteList(null));
    expect(entries.size).toBe(0);
    expect(skipped).toEqual(["pipe"]);
  });

  it("applies the white list and does not descend excluded folders", async () => {
    for (const f of ["src/a.ts", "src/node_modules/x.js", "docs/r.md", "other/o.txt"]) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), f);
    }
    const filter = compileWhiteList({ whiteLists: [{ path: "/src", excludePaths: ["/node_modules"] }] });
    const { entries } = await scanTree(dir, filter);
    expect([...entries.keys()]).toEqual(["src/a.ts"]);
  });

  it("reads a missing directory, or a file in its place, as empty and says it was not found", async () => {
    expect(await scanTree(path.join(dir, "nope"), compileWhiteList(null))).toMatchObject({ dirFound: false, entries: new Map() });
    fs.writeFileSync(path.join(dir, "file"), "x");
    expect(await scanTree(path.join(dir, "file"), compileWhiteList(null))).toMatchObject({ dirFound: false, entries: new Map() });
    expect(await scanTree(path.join(dir, "file", "sub"), compileWhiteList(null))).toMatchObject({ dirFound: false, entries: new Map() });
    expect(await scanTree(dir, compileWhiteList(null))).toMatchObject({ dirFound: true });
  });
});
