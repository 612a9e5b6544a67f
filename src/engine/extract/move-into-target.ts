import fs from "node:fs";
import path from "node:path";
import { ExtractRejectedError } from "../../errors/index.js";

interface Move {
  from: string;
  to: string;
}

/** Which places an extraction may write, and which existing files it leaves as they are (absolute paths). */
export interface MoveGuard {
  mayWrite?: (absPath: string) => boolean;
  keepExisting?: (absPath: string) => boolean;
}

/**
 * Moves what `staging` holds into `target` (created when missing; its parent must exist). A name the target
 * lacks is renamed in whole; a folder it has is merged into; a file or symlink it has is replaced (the link
 * itself, never what it points to). Every move is planned before the first is made, so a conflict —
 * a symlink or file where the archive has a folder, a folder or special file where it has a file — throws
 * ExtractRejectedError with nothing moved, as does a file whose place `mayWrite` refuses (a path outside
 * the mount's white list, which ctxsync never writes). A file already there that `keepExisting` names
 * stays, and the archive's is dropped. Both folders must be on one file system (renames).
 */
export function moveIntoTarget(staging: string, target: string, archive: string, guard: MoveGuard = {}): void {
  const mayWrite = guard.mayWrite ?? (() => true);
  const keepExisting = guard.keepExisting ?? (() => false);
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) throw targetInTheWay(archive, target, existing);
  const moves: Move[] = [];
  planMoves(staging, target, "", existing !== undefined, moves, archive, mayWrite, keepExisting);
  if (!existing) fs.mkdirSync(target);
  for (const m of moves) fs.renameSync(m.from, m.to);
}

/** Rejects a target folder that is a symlink or a file: ctxsync never unpacks through a link. */
export function targetInTheWay(archive: string, target: string, st: fs.Stats): ExtractRejectedError {
  return new ExtractRejectedError(
    archive,
    st.isSymbolicLink()
      ? `the target folder ${target} is a symlink, and ctxsync never writes through links; replace it with a folder`
      : `${target} is a file where the archive's folder would go; move it away and download again`,
  );
}

function planMoves(
  fromDir: string,
  toDir: string,
  rel: string,
  toDirExists: boolean,
  moves: Move[],
  archive: string,
  mayWrite: (absPath: string) => boolean,
  keepExisting: (absPath: string) => boolean,
): void {
  for (const d of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const from = path.join(fromDir, d.name);
    const to = path.join(toDir, d.name);
    const entry = rel === "" ? d.name : `${rel}/${d.name}`;
    const there = toDirExists ? fs.lstatSync(to, { throwIfNoEntry: false }) : undefined;
    if (!d.isDirectory() && !mayWrite(to)) {
      throw new ExtractRejectedError(archive, `would write ${to}, which is outside this mount's white list; ctxsync never writes there`, entry);
    }
    if (!there) {
      if (d.isDirectory()) checkSubtree(from, to, entry, archive, mayWrite); // moved whole: its files too
      moves.push({ from, to });
    } else if (d.isDirectory()) {
      if (!there.isDirectory()) {
        const what = there.isSymbolicLink() ? "a symlink, and ctxsync never writes through links" : "not a folder";
        throw new ExtractRejectedError(archive, `is a folder, but ${to} is already there and is ${what}; move it away and download again`, entry);
      }
      planMoves(from, to, entry, true, moves, archive, mayWrite, keepExisting);
    } else if (there.isFile() || there.isSymbolicLink()) {
      if (!keepExisting(to)) moves.push({ from, to });
    } else {
      const what = there.isDirectory() ? "a folder" : "a special file";
      throw new ExtractRejectedError(archive, `would replace ${to}, which is ${what}; move it away and download again`, entry);
    }
  }
}

/** Refuses a folder about to be moved whole when one of its files would land where `mayWrite` refuses. */
function checkSubtree(fromDir: string, toDir: string, rel: string, archive: string, mayWrite: (absPath: string) => boolean): void {
  for (const d of fs.readdirSync(fromDir, { withFileTypes: true })) {
    const to = path.join(toDir, d.name);
    const entry = `${rel}/${d.name}`;
    if (d.isDirectory()) checkSubtree(path.join(fromDir, d.name), to, entry, archive, mayWrite);
    else if (!mayWrite(to)) {
      throw new ExtractRejectedError(archive, `would write ${to}, which is outside this mount's white list; ctxsync never writes there`, entry);
    }
  }
}
