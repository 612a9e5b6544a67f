import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { makeDirsSync } from "../../store/index.js";
import type { ExtractBudget } from "./extract-budget.js";

/** Prefix of staging folders; a crash can leave one behind, and it is safe to delete. */
export const STAGING_PREFIX = ".ctxsync-extract-";

/** Owner bits every unpacked folder keeps, so that its contents can be moved out, replaced and deleted later. */
const DIR_OWNER_BITS = 0o700;

/** Errors that mean "this file system has no hard links" rather than "something is wrong". */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK"]);

interface PendingDir {
  segments: readonly string[];
  mode: number;
  mtime: Date | null;
}

interface PendingLink {
  segments: readonly string[];
  target: string;
  mtime: Date | null;
}

/**
 * A fresh folder an archive is unpacked into before anything reaches the target. Only this class writes
 * into it, and symlinks are made last (finish), so no write can pass through a link; files are also created
 * exclusively (O_EXCL never follows a link). Callers pass paths already checked by parseEntryName and EntryIndex.
 */
export class StagingDir {
  private readonly dirs: PendingDir[] = [];
  private readonly links: PendingLink[] = [];
  /** Regular files written, hard links included. */
  files = 0;
  /** Bytes of file data written. */
  bytes = 0;

  private constructor(readonly dir: string) {}

  /** Creates `<parent>/.ctxsync-extract-XXXXXX`; `parent` must exist. */
  static create(parent: string): StagingDir {
    return new StagingDir(fs.mkdtempSync(path.join(parent, STAGING_PREFIX)));
  }

  /** Writes a file from `body` with `mode` (already masked) and `mtime`. */
  async writeFile(segments: readonly string[], body: AsyncIterable<Buffer>, mode: number, mtime: Date | null): Promise<void> {
    const abs = this.ensureParent(segments);
    const out = fs.createWriteStream(abs, { flags: "wx", mode: 0o600 });
    await pipeline(body, out);
    // chmod after writing: the mode given at creation is cut by the umask, and a read-only mode would stop the write.
    fs.chmodSync(abs, mode);
    if (isUsable(mtime)) fs.utimesSync(abs, mtime, mtime);
    this.files++;
    this.bytes += out.bytesWritten;
  }

  /** Creates a folder now; its mode and mtime are applied by finish, once nothing more is written into it. */
  addDir(segments: readonly string[], mode: number, mtime: Date | null): void {
    makeDirsSync(this.pathOf(segments));
    this.dirs.push({ segments, mode, mtime });
  }

  /**
   * Makes `segments` a hard link to the file already written at `targetSegments`; where the file system has
   * no hard links, a copy, counted against the budget like inflated bytes.
   */
  hardLink(segments: readonly string[], targetSegments: readonly string[], budget: ExtractBudget): void {
    const abs = this.ensureParent(segments);
    const from = this.pathOf(targetSegments);
    try {
      fs.linkSync(from, abs);
    } catch (err) {
      if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      const size = fs.statSync(from).size;
      budget.addBytes(size);
      fs.copyFileSync(from, abs, fs.constants.COPYFILE_EXCL);
      this.bytes += size;
    }
    this.files++;
  }

  /** Records a symlink to create in finish. `target` must already be checked to stay inside. */
  addSymlink(segments: readonly string[], target: string, mtime: Date | null): void {
    this.links.push({ segments, target, mtime });
  }

  /** Creates the symlinks, then gives folders their modes and mtimes, deepest first so a parent's mtime sticks. */
  finish(): void {
    for (const l of this.links) {
      const abs = this.ensureParent(l.segments);
      fs.symlinkSync(l.target, abs);
      if (isUsable(l.mtime)) fs.lutimesSync(abs, l.mtime, l.mtime);
    }
    const dirs = [...this.dirs].sort((a, b) => b.segments.length - a.segments.length);
    for (const d of dirs) {
      const abs = this.pathOf(d.segments);
      fs.chmodSync(abs, d.mode | DIR_OWNER_BITS);
      if (isUsable(d.mtime)) fs.utimesSync(abs, d.mtime, d.mtime);
    }
  }

  /** Deletes the staging folder and whatever is left in it; links inside are removed, never followed. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private pathOf(segments: readonly string[]): string {
    return path.join(this.dir, ...segments);
  }

  private ensureParent(segments: readonly string[]): string {
    const abs = this.pathOf(segments);
    makeDirsSync(path.dirname(abs));
    return abs;
  }
}

/** A damaged header can decode to an invalid date; the file then keeps the time it was written. */
function isUsable(mtime: Date | null): mtime is Date {
  return mtime !== null && Number.isFinite(mtime.getTime());
}
