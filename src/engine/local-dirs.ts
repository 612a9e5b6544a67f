import fs from "node:fs";
import path from "node:path";
import { makeDirsSync } from "../store/index.js";

/**
 * Creates directories inside a mount for downloads, refusing to go through a symlink or a file: a
 * context that holds `link -> /etc` and `link/passwd` must not write to /etc/passwd.
 * Remembers what it checked, so ten thousand files in one folder cost one check.
 */
export class LocalDirs {
  private readonly checked = new Set<string>([""]);

  constructor(private readonly mountDir: string) {}

  /** Creates the mount directory itself (and its parents, which are the user's business). */
  ensureRoot(): void {
    try {
      makeDirsSync(this.mountDir); // a file in its place fails here (EEXIST)
    } catch (err) {
      throw new Error(
        `Cannot create the mount directory ${this.mountDir}: ${(err as Error).message}. Check that the session root exists, is a directory and is writable.`,
        { cause: err },
      );
    }
  }

  /** Ensures every directory between the mount and `rel`'s parent exists and is a real directory. */
  ensureParentOf(rel: string): void {
    const parent = path.posix.dirname(rel);
    if (parent === "." || this.checked.has(parent)) return;
    let sofar = "";
    for (const seg of parent.split("/")) {
      sofar = sofar === "" ? seg : `${sofar}/${seg}`;
      if (this.checked.has(sofar)) continue;
      const abs = path.join(this.mountDir, sofar);
      const st = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (!st) fs.mkdirSync(abs);
      else if (st.isSymbolicLink()) throw new Error(`${abs} is a symlink; ctxsync does not write through symlinked directories`);
      else if (!st.isDirectory()) throw new Error(`${abs} is a file where the context has a directory; move it and download again`);
      this.checked.add(sofar);
    }
  }
}
