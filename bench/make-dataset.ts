/**
 * Deterministic benchmark data set: many small files in nested folders plus a few large ones.
 *
 *   npx tsx bench/make-dataset.ts DIR [--scale 0.1] [--seed 1]           # generate into DIR (wiped first)
 *   npx tsx bench/make-dataset.ts DIR --change 1 [--scale 0.1] [--seed 1] # change 1 % of the small files
 *
 * At scale 1: 10,000 files of 200 B–16 KiB in 100 folders (depth 1–4) and 2 × 100 MiB files, ≈ 293 MB.
 * Everything — names, sizes, contents and mtimes — follows from (seed, scale), so two machines
 * benchmark the same bytes. Contents are an AES-CTR keystream: incompressible, and generated at
 * memory speed, so making the set costs little more than writing it.
 */
import { createCipheriv, createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** What defines a data set; the same options always give the same tree. */
export interface DatasetOptions {
  /** Multiplies file count, folder count and large-file size; default 1. */
  scale?: number;
  /** PRNG seed; default 1. */
  seed?: number;
}

/** One file of the plan. */
export interface PlannedFile {
  /** POSIX path relative to the data set's root. */
  rel: string;
  sizeBytes: number;
  /** Whole seconds, so every tool under test can keep it exactly. */
  mtimeSec: number;
}

/** The full layout of a data set, computed without touching the disk. */
export interface DatasetPlan {
  seed: number;
  scale: number;
  dirs: string[];
  small: PlannedFile[];
  large: PlannedFile[];
  totalBytes: number;
}

/** Result of a change: which files were rewritten. */
export interface ChangeResult {
  files: string[];
  bytes: number;
}

const SMALL_FILES = 10_000;
const DIRS = 100;
const MAX_DEPTH = 4;
const SMALL_MIN_BYTES = 200;
const SMALL_MAX_BYTES = 16 * 1024;
const LARGE_FILES = 2;
const LARGE_BYTES = 100 * 1024 * 1024;
/** Streaming unit for large files: memory stays at one chunk whatever the file size. */
const CHUNK_BYTES = 1 << 20;
/** 2023-11-14: an arbitrary fixed origin for the generated mtimes. */
const MTIME_ORIGIN_SEC = 1_700_000_000;
/** Changed files get mtimes well after every original one, so no tool can mistake them for unchanged. */
const CHANGED_MTIME_ORIGIN_SEC = 1_750_000_000;

/** sfc32: a small, fast, well-distributed PRNG; Math.random cannot be seeded. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number, stream = 0) {
    this.a = seed >>> 0;
    this.b = stream >>> 0;
    this.c = 0x9e3779b9;
    for (let i = 0; i < 16; i++) this.next(); // mix the seed in before first use
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() / 2 ** 32) * (hi - lo + 1));
  }
}

/** Computes the layout of the data set for these options. Pure: no I/O. */
export function planDataset(opts: DatasetOptions = {}): DatasetPlan {
  const scale = opts.scale ?? 1;
  const seed = opts.seed ?? 1;
  if (!(scale > 0)) throw new Error(`scale must be > 0, got ${scale}`);
  const rng = new Rng(seed);
  const dirs = planDirs(rng, Math.max(1, Math.round(DIRS * scale)));
  const smallCount = Math.max(1, Math.round(SMALL_FILES * scale));
  const small: PlannedFile[] = [];
  for (let i = 0; i < smallCount; i++) {
    // The first pass over the folders is round-robin so none is empty: an empty folder is a case that
    // ctxsync (files only) and rsync (folders too) treat differently, which is not what this measures.
    const dir = i < dirs.length ? dirs[i]! : dirs[rng.int(0, dirs.length - 1)]!;
    small.push({
      rel: `${dir}/f${String(i).padStart(5, "0")}.dat`,
      sizeBytes: rng.int(SMALL_MIN_BYTES, SMALL_MAX_BYTES),
      mtimeSec: MTIME_ORIGIN_SEC + i * 7,
    });
  }
  const large: PlannedFile[] = [];
  for (let i = 0; i < LARGE_FILES; i++) {
    large.push({ rel: `large-${i}.bin`, sizeBytes: Math.round(LARGE_BYTES * scale), mtimeSec: MTIME_ORIGIN_SEC - 86_400 * (i + 1) });
  }
  const totalBytes = [...small, ...large].reduce((n, f) => n + f.sizeBytes, 0);
  return { seed, scale, dirs, small, large, totalBytes };
}

/** Folder paths, each at depth 1–4, each under the root or under an earlier folder. */
function planDirs(rng: Rng, count: number): string[] {
  const dirs: { rel: string; depth: number }[] = [];
  for (let i = 0; i < count; i++) {
    const parents = dirs.filter((d) => d.depth < MAX_DEPTH);
    // One in four folders sits at the top, the rest nest under a random earlier one.
    const parent = parents.length === 0 || rng.int(0, 3) === 0 ? undefined : parents[rng.int(0, parents.length - 1)];
    const name = `d${String(i).padStart(3, "0")}`;
    dirs.push(parent ? { rel: `${parent.rel}/${name}`, depth: parent.depth + 1 } : { rel: name, depth: 1 });
  }
  return dirs.map((d) => d.rel);
}

/**
 * Writes the data set into `dir` (created; anything already there is removed first) and returns its plan.
 * Large files are streamed one chunk at a time.
 */
export function makeDataset(dir: string, opts: DatasetOptions = {}): DatasetPlan {
  const plan = planDataset(opts);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const d of plan.dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  plan.small.forEach((f, i) => writeSmall(dir, f, contentLabel(plan.seed, `small-${i}`)));
  plan.large.forEach((f, i) => writeLarge(dir, f, contentLabel(plan.seed, `large-${i}`)));
  return plan;
}

/**
 * Rewrites `fraction` (default 1 %) of the small files with new content of the same size and a new mtime.
 * Which files, their bytes and mtimes follow from (seed, scale, round): use a new round for each change
 * that must look new; repeating a round rewrites the same bytes (a no-op for content-aware tools).
 */
export function changeFiles(dir: string, opts: DatasetOptions & { round: number; fraction?: number }): ChangeResult {
  const plan = planDataset(opts);
  const count = Math.max(1, Math.round(plan.small.length * (opts.fraction ?? 0.01)));
  const rng = new Rng(plan.seed, 0x5eed0000 + opts.round);
  const picked = pickDistinct(rng, plan.small.length, count);
  const files: string[] = [];
  let bytes = 0;
  picked.forEach((idx, j) => {
    const orig = plan.small[idx]!;
    const changed = { ...orig, mtimeSec: CHANGED_MTIME_ORIGIN_SEC + opts.round * 100_000 + j };
    writeSmall(dir, changed, contentLabel(plan.seed, `small-${idx}-round-${opts.round}`));
    files.push(orig.rel);
    bytes += orig.sizeBytes;
  });
  return { files, bytes };
}

/** `count` distinct integers from [0, n), by a partial Fisher–Yates shuffle. */
function pickDistinct(rng: Rng, n: number, count: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const k = Math.min(count, n);
  for (let i = 0; i < k; i++) {
    const j = rng.int(i, n - 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}

function contentLabel(seed: number, what: string): string {
  return `ctxsync-bench:${seed}:${what}`;
}

const ZEROS = Buffer.alloc(CHUNK_BYTES);

/** A keystream generator: AES-128-CTR over zeros, keyed by the label. Deterministic and fast. */
function keystream(label: string): (n: number) => Buffer {
  const key = createHash("sha256").update(label).digest().subarray(0, 16);
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  return (n) => cipher.update(ZEROS.subarray(0, n)); // n ≤ CHUNK_BYTES at every call site
}

function writeSmall(dir: string, f: PlannedFile, label: string): void {
  const abs = path.join(dir, f.rel);
  fs.writeFileSync(abs, keystream(label)(f.sizeBytes));
  fs.utimesSync(abs, f.mtimeSec, f.mtimeSec);
}

function writeLarge(dir: string, f: PlannedFile, label: string): void {
  const abs = path.join(dir, f.rel);
  const next = keystream(label);
  const fd = fs.openSync(abs, "w");
  try {
    for (let left = f.sizeBytes; left > 0; left -= CHUNK_BYTES) {
      const chunk = next(Math.min(CHUNK_BYTES, left));
      for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.utimesSync(abs, f.mtimeSec, f.mtimeSec);
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { scale: { type: "string" }, seed: { type: "string" }, change: { type: "string" } },
    allowPositionals: true,
  });
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    console.error("usage: tsx bench/make-dataset.ts DIR [--scale N] [--seed N] [--change ROUND]");
    process.exit(2);
  }
  const opts: DatasetOptions = { scale: Number(values.scale ?? 1), seed: Number(values.seed ?? 1) };
  const t0 = performance.now();
  if (values.change !== undefined) {
    const res = changeFiles(dir, { ...opts, round: Number(values.change) });
    console.log(`changed ${res.files.length} files (${res.bytes} bytes) in ${dir}`);
  } else {
    const plan = makeDataset(dir, opts);
    const files = plan.small.length + plan.large.length;
    console.log(`wrote ${files} files, ${plan.dirs.length} folders, ${(plan.totalBytes / 1e6).toFixed(1)} MB to ${dir}`);
  }
  console.log(`took ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
