/**
 * Whole-tree helpers for the benchmark: read a tree to warm the page cache, and check that a copy
 * equals its source.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** What a listing keeps of an entry: enough to tell a faithful copy from a wrong one. */
export interface ListedEntry {
  type: "file" | "dir" | "symlink" | "other";
  /** Files only. */
  sizeBytes: number;
  /** Files only; whole milliseconds, the precision ctxsync keeps. */
  mtimeMs: number;
  /** Permission bits; files only. */
  mode: number;
}

const READ_CHUNK = 1 << 20;
/** Every n-th file (in path order) is hashed, plus every file larger than LARGE_HASH_BYTES. */
const HASH_EVERY = 50;
const LARGE_HASH_BYTES = 1 << 20;

/** Relative POSIX paths of everything under `root`, depth first, in sorted order. */
export function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const names = fs.readdirSync(rel === "" ? root : path.join(root, rel)).sort();
    for (const name of names) {
      const child = rel === "" ? name : `${rel}/${name}`;
      out.push(child);
      if (fs.lstatSync(path.join(root, child)).isDirectory()) visit(child);
    }
  };
  visit("");
  return out;
}

/**
 * Reads every file under `root` once, so the timed operation that follows starts from a warm page
 * cache (dropping caches needs root privileges a CI box may not grant; warming is what every run can do).
 */
export function warmTree(root: string): void {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  for (const rel of walk(root)) {
    const abs = path.join(root, rel);
    if (!fs.lstatSync(abs).isFile()) continue;
    const fd = fs.openSync(abs, "r");
    try {
      while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Path → entry for everything under `root`. Folder metadata is left out: ctxsync syncs files only. */
export function listTree(root: string): Map<string, ListedEntry> {
  const out = new Map<string, ListedEntry>();
  for (const rel of walk(root)) {
    const st = fs.lstatSync(path.join(root, rel));
    const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
    const isFile = type === "file";
    out.set(rel, {
      type,
      sizeBytes: isFile ? st.size : 0,
      mtimeMs: isFile ? Math.floor(st.mtimeMs) : 0,
      mode: isFile ? st.mode & 0o777 : 0,
    });
  }
  return out;
}

/**
 * Throws, naming the first differences, unless `copy` holds exactly the entries of `source` with the same
 * type, size, mtime and mode, and a sample of files (every 50th plus all large ones) hashes the same.
 * Returns how many files were hashed.
 */
export function assertSameTree(source: string, copy: string, label: string): { entries: number; hashed: number } {
  const want = listTree(source);
  const got = listTree(copy);
  const diffs: string[] = [];
  for (const [rel, w] of want) {
    const g = got.get(rel);
    if (!g) diffs.push(`missing ${rel}`);
    else if (JSON.stringify(g) !== JSON.stringify(w)) diffs.push(`differs ${rel}: want ${JSON.stringify(w)}, got ${JSON.stringify(g)}`);
  }
  for (const rel of got.keys()) if (!want.has(rel)) diffs.push(`extra ${rel}`);
  if (diffs.length === 0) diffs.push(...hashSample(source, copy, want));
  if (diffs.length > 0) {
    throw new Error(`${label}: copy ${copy} does not match ${source} (${diffs.length} differences):\n  ${diffs.slice(0, 10).join("\n  ")}`);
  }
  const hashed = [...want].filter(([, e], i) => isSampled(e, i)).length;
  return { entries: want.size, hashed };
}

function isSampled(e: ListedEntry, index: number): boolean {
  return e.type === "file" && (index % HASH_EVERY === 0 || e.sizeBytes > LARGE_HASH_BYTES);
}

function hashSample(source: string, copy: string, entries: Map<string, ListedEntry>): string[] {
  const diffs: string[] = [];
  [...entries].forEach(([rel, e], i) => {
    if (!isSampled(e, i)) return;
    if (hashFile(path.join(source, rel)) !== hashFile(path.join(copy, rel))) diffs.push(`content differs ${rel}`);
  });
  return diffs;
}

function hashFile(file: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  const fd = fs.openSync(file, "r");
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}
