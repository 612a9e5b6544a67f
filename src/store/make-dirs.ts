import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";

/*
 * `mkdir -p` without Node 20's recursive mkdir, which loops for ever on a path under /proc (procfs
 * answers ENOENT for the parent it just confirmed). These walk up once, create downwards, and fail with
 * the first error that is not "already there".
 */

/** Creates `dir` and any missing parents; a directory already there is fine. */
export function makeDirsSync(dir: string, mode?: number): void {
  const opts = mode === undefined ? {} : { mode };
  try {
    fs.mkdirSync(dir, opts);
    return;
  } catch (err) {
    if (isExistingDir(err, dir)) return;
    if (code(err) !== "ENOENT" || path.dirname(dir) === dir) throw err;
  }
  makeDirsSync(path.dirname(dir), mode);
  try {
    fs.mkdirSync(dir, opts);
  } catch (err) {
    if (!isExistingDir(err, dir)) throw err;
  }
}

/** Async makeDirsSync, for code on the event loop's hot path. */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const opts = mode === undefined ? {} : { mode };
  try {
    await fsp.mkdir(dir, opts);
    return;
  } catch (err) {
    if (isExistingDir(err, dir)) return;
    if (code(err) !== "ENOENT" || path.dirname(dir) === dir) throw err;
  }
  await makeDirs(path.dirname(dir), mode);
  try {
    await fsp.mkdir(dir, opts);
  } catch (err) {
    if (!isExistingDir(err, dir)) throw err;
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** EEXIST for a directory (made by us before, or by someone racing us); EEXIST for a file stays an error. */
function isExistingDir(err: unknown, dir: string): boolean {
  return code(err) === "EEXIST" && fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
}
