import fs from "node:fs";
import path from "node:path";

/*
 * `mkdir -p` without Node 20's recursive mkdir, which loops for ever on a path under /proc (procfs
 * answers ENOENT for the parent it just confirmed). This walks up once, creates downwards, and fails with
 * the first error that is not "already there". Synchronous: it runs once per directory, off hot loops.
 */

/** Creates `dir` and any missing parents; a directory already there is fine. */
export function makeDirsSync(dir: string, mode?: number): void {
  const opts = mode === undefined ? {} : { mode };
  try {
    fs.mkdirSync(dir, opts);
    return;
  } catch (err) {
    if (isExistingDir(dir)) return;
    if (code(err) !== "ENOENT" || path.dirname(dir) === dir) throw err;
  }
  makeDirsSync(path.dirname(dir), mode);
  try {
    fs.mkdirSync(dir, opts);
  } catch (err) {
    if (!isExistingDir(dir)) throw err;
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Whatever mkdir said, a directory that is there is what was asked for (made before, by someone racing
 * us, or one mkdir refuses with EROFS, EPERM or EISDIR, like a read-only mount point or `/`); a file
 * there stays an error.
 */
function isExistingDir(dir: string): boolean {
  try {
    return fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false; // not a directory we can see: mkdir's own error is the one to report
  }
}
