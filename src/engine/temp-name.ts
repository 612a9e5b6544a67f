import fs from "node:fs";
import path from "node:path";
import { uniqueName } from "../store/index.js";

/** Prefix of the temp files a download writes before renaming them into place. */
export const DOWNLOAD_TEMP_PREFIX = ".ctxsync-tmp-";

/**
 * A fresh temp file name for a download, unique enough to never collide within one folder. It starts
 * with the writing process's id, so a later download can tell the leftovers of a process that died
 * mid-download (removeStaleDownloadTemps) from the temp files of one still writing.
 */
export function downloadTempName(): string {
  return `${DOWNLOAD_TEMP_PREFIX}p${process.pid}-${uniqueName()}`;
}

/**
 * Removes, in each of `dirs`, the download temp files whose writing process is gone (a SIGKILLed agent's
 * partial files: nothing else would ever remove them, and scans skip them). Temp files of live processes,
 * and names without a process id, stay. Returns how many were removed.
 */
export function removeStaleDownloadTemps(dirs: Iterable<string>): number {
  let removed = 0;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for (const name of names) {
      const pid = ownerPid(name);
      if (pid === null || pid === process.pid || isAlive(pid)) continue;
      fs.rmSync(path.join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

/** The process id a download temp name starts with, or null (not a temp name, or one without an id). */
function ownerPid(name: string): number | null {
  if (!name.startsWith(DOWNLOAD_TEMP_PREFIX)) return null;
  const m = /^p(\d+)-/.exec(name.slice(DOWNLOAD_TEMP_PREFIX.length));
  return m ? Number(m[1]) : null;
}

/** True when a process with this id exists (EPERM: it does, but is another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
