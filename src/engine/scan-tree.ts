import fs from "node:fs";
import path from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { FileType } from "../store/index.js";
import { STAGING_PREFIX } from "./extract/staging-dir.js";
import { DOWNLOAD_TEMP_PREFIX } from "./temp-name.js";

/** A file or symlink found on disk, keyed by its POSIX path relative to the scanned directory. */
export interface LocalEntry {
  rel: string;
  type: FileType;
  sizeBytes: number;
  /** Permission bits (`mode & 0o777`). */
  mode: number;
  /** Rounded to whole milliseconds: the precision ctxsync keeps and compares. */
  mtimeMs: number;
  linkTarget: string | null;
}

/** Which paths a scan takes part in; see policy's compileWhiteList. */
export interface PathFilter {
  matches(rel: string): boolean;
  mayContain(relDir: string): boolean;
}

export interface ScanResult {
  /** False when `dir` is missing or not a directory (then there are no entries). */
  dirFound: boolean;
  entries: Map<string, LocalEntry>;
  /** Paths that were neither file, symlink nor directory (sockets, FIFOs, devices): never synced. */
  skipped: string[];
}

/**
 * Names ctxsync itself creates for a moment (download temp files, extraction staging folders). One left
 * behind by a crash is never uploaded.
 */
const TRANSIENT_PREFIXES = [DOWNLOAD_TEMP_PREFIX, STAGING_PREFIX];

/** Yield to the event loop after this many directory entries of synchronous work. */
const YIELD_EVERY_ENTRIES = 512;

/**
 * Lists the files and symlinks under `dir` that `filter` selects. Symlinks are reported as links and never
 * followed. A missing `dir` is an empty tree with `dirFound` false. Uses synchronous readdir/lstat in
 * batches: a promise per entry would cost more than the system calls themselves on trees of many small
 * files.
 */
export async function scanTree(dir: string, filter: PathFilter): Promise<ScanResult> {
  const entries = new Map<string, LocalEntry>();
  const skipped: string[] = [];
  if (!isDirectory(dir)) return { dirFound: false, entries, skipped };

  const pending: string[] = [""];
  let sinceYield = 0;
  while (pending.length > 0) {
    const relDir = pending.pop()!;
    const absDir = relDir === "" ? dir : path.join(dir, relDir);
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (err) {
      // A directory removed between listing its parent and reading it is simply gone; `dir` itself, missing.
      if (isNotFound(err)) {
        if (relDir === "") return { dirFound: false, entries, skipped };
        continue;
      }
      throw err;
    }
    for (const d of names) {
      if (TRANSIENT_PREFIXES.some((p) => d.name.startsWith(p))) continue;
      const rel = relDir === "" ? d.name : `${relDir}/${d.name}`;
      if (d.isDirectory()) {
        if (filter.mayContain(rel)) pending.push(rel);
        continue;
      }
      if (!filter.matches(rel)) continue;
      const entry = statEntry(path.join(absDir, d.name), rel);
      if (entry === "gone") continue;
      if (entry === "special") skipped.push(rel);
      else entries.set(rel, entry);
    }
    sinceYield += names.length;
    if (sinceYield >= YIELD_EVERY_ENTRIES) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  }
  return { dirFound: true, entries, skipped };
}

/** lstat one entry; "gone" when it vanished since the directory was read. */
export function statEntry(abs: string, rel: string): LocalEntry | "gone" | "special" {
  // No exception for a missing file: a download stats ten thousand paths that do not exist yet.
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return "gone";
  // Round, not floor: utimes takes float seconds, so a time set to 123 ms reads back as 122.9999 ms.
  const mtimeMs = Math.round(st.mtimeMs);
  if (st.isFile()) {
    return { rel, type: "file", sizeBytes: st.size, mode: st.mode & 0o777, mtimeMs, linkTarget: null };
  }
  if (st.isSymbolicLink()) {
    const linkTarget = fs.readlinkSync(abs);
    return { rel, type: "symlink", sizeBytes: Buffer.byteLength(linkTarget), mode: 0o777, mtimeMs, linkTarget };
  }
  return "special";
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** ENOENT, or ENOTDIR: a file where a directory on the path should be. */
function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
