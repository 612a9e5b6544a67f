import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A directory tree: a string is a file's content, a nested object a folder. */
export interface Tree {
  [name: string]: string | Buffer | Tree;
}

/** Writes `tree` under `dir`, creating folders as needed. */
export function writeTree(dir: string, tree: Tree): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    const p = path.join(dir, name);
    if (typeof value === "string" || Buffer.isBuffer(value)) fs.writeFileSync(p, value);
    else writeTree(p, value);
  }
}

/** Reads the files (not empty folders) under `dir` back into a Tree; missing `dir` reads as {}. */
export function readTree(dir: string): Tree {
  const out: Tree = {};
  if (!fs.existsSync(dir)) return out;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) {
      const sub = readTree(p);
      if (Object.keys(sub).length > 0) out[d.name] = sub;
    } else if (d.isFile()) {
      out[d.name] = fs.readFileSync(p, "utf8");
    }
  }
  return out;
}

/** Every file under `dir` with its size, permission bits and mtime rounded to the millisecond (as ctxsync keeps it), keyed by relative path. */
export function statTree(dir: string): Record<string, { size: number; mode: number; mtimeMs: number }> {
  const out: Record<string, { size: number; mode: number; mtimeMs: number }> = {};
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else {
        const st = fs.lstatSync(path.join(dir, r));
        out[r] = { size: st.size, mode: st.mode & 0o777, mtimeMs: Math.round(st.mtimeMs) };
      }
    }
  };
  if (fs.existsSync(dir)) walk("");
  return out;
}

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = "ctxsync-test-"): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
