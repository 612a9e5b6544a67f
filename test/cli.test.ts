import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTree, tempDir } from "./helpers/tree.js";

const MAIN = path.join(import.meta.dirname, "../src/cli/main.ts");

describe("ctxsync CLI", () => {
  let dir = "";
  let cleanup = () => {};
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", MAIN, "--home", path.join(dir, "store"), ...args], { encoding: "utf8" });

  it("exec persists what a command wrote into the next exec's session", () => {
    const first = cli("exec", "-m", "notes:/work", "--root", path.join(dir, "a"), "--", "sh", "-c", "mkdir d && echo hi > d/f.txt");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const second = cli("exec", "-m", "notes:/work", "--root", path.join(dir, "b"), "--", "cat", "d/f.txt");
    expect(second.stdout).toBe("hi\n");
    expect(readTree(path.join(dir, "b/work"))).toEqual({ d: { "f.txt": "hi\n" } });
    expect(cli("files", "notes", "/work/d").stdout).toMatch(/^-\t3\t.*\t\/work\/d\/f.txt\n$/);
  });

  it("exec passes on the command's exit code", () => {
    expect(cli("exec", "-m", "n:/w", "--root", path.join(dir, "a"), "--", "sh", "-c", "exit 3").status).toBe(3);
  });

  it("reports a missing context with the reason and exit code 1", () => {
    const r = cli("files", "nope");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[ContextNotFound] Context "nope" not found');
  });

  it("log lists a context's generations, restore brings an earlier one back, and gc prints what it did", () => {
    const write = (root: string, text: string) =>
      cli("exec", "-m", "notes:/work", "--root", path.join(dir, root), "--", "sh", "-c", `echo ${text} > f.txt`);
    expect(write("a", "v1").status).toBe(0);
    expect(write("b", "v2").status).toBe(0);

    const log = cli("log", "notes");
    expect(log.stderr).toBe("");
    expect(log.stdout).toMatch(/^2\t\S+Z\t\+0 ~1 -0\tsess-\S+\n1\t\S+Z\t\+1 ~0 -0\tsess-\S+\n$/);

    const restore = cli("restore", "notes", "1", "--path", "/work/f.txt");
    expect(restore.stderr).toBe("");
    expect(restore.stdout).toBe("3\n");
    expect(cli("exec", "-m", "notes:/work", "--root", path.join(dir, "c"), "--", "cat", "f.txt").stdout).toBe("v1\n");

    const gc = cli("gc", "--retention-days", "7");
    expect(gc.stderr).toBe("");
    expect(gc.stdout).toBe("expired files\t0\npruned versions\t0\npruned generations\t0\ndeleted blobs\t0\nkept blobs\t2\n");

    const missing = cli("restore", "notes", "9");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("[GenerationNotFound]");
  });

  it("creates, renames, lists and deletes contexts", () => {
    expect(cli("context", "create", "c1").stdout).toMatch(/^ctx-/);
    expect(cli("context", "rename", "c1", "c2").status).toBe(0);
    expect(cli("context", "list").stdout).toContain("\tc2\t");
    expect(cli("context", "delete", "c2").status).toBe(0);
    expect(cli("context", "list").stdout).toBe("");
  });
});
