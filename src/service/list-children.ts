import type { FileRecord } from "../store/index.js";

/** One entry of a folder listing, in the reference's shape. */
export interface FileEntry {
  fileId: string;
  fileName: string;
  filePath: string;
  fileType: "file" | "FOLDER";
  /** ISO-8601 time the file was written to the context (for folders: the newest file inside). */
  gmtCreate: string;
  /** ISO-8601 modification time of the file (for folders: the newest file inside). */
  gmtModified: string;
  /** Bytes; for folders, the total of the files inside. */
  size: number;
  status: "available";
}

/**
 * Direct children of `parent` among `files` (all of which lie under it): files as they are, deeper files
 * folded into one FOLDER entry per first segment. Folders first, then files, each by name.
 * (`/a` with `/a/x.txt`, `/a/d/y.txt` → FOLDER `/a/d`, file `/a/x.txt`.)
 */
export function listChildren(parent: string, files: readonly FileRecord[]): FileEntry[] {
  const prefix = parent === "/" ? "/" : `${parent}/`;
  const folders = new Map<string, { entry: FileEntry; createdMs: number; modifiedMs: number }>();
  const out: FileEntry[] = [];
  for (const f of files) {
    if (!f.key.startsWith(prefix)) continue;
    const rest = f.key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      out.push({
        fileId: f.key,
        fileName: rest,
        filePath: f.key,
        fileType: "file",
        gmtCreate: isoTime(f.writtenAtMs),
        gmtModified: isoTime(f.mtimeMs),
        size: f.sizeBytes,
        status: "available",
      });
      continue;
    }
    const name = rest.slice(0, slash);
    const folder = folders.get(name);
    if (!folder) {
      const path = `${prefix}${name}`;
      const entry: FileEntry = { fileId: path, fileName: name, filePath: path, fileType: "FOLDER", gmtCreate: "", gmtModified: "", size: f.sizeBytes, status: "available" };
      folders.set(name, { entry, createdMs: f.writtenAtMs, modifiedMs: f.mtimeMs });
    } else {
      folder.entry.size += f.sizeBytes;
      folder.createdMs = Math.max(folder.createdMs, f.writtenAtMs);
      folder.modifiedMs = Math.max(folder.modifiedMs, f.mtimeMs);
    }
  }
  for (const f of folders.values()) {
    f.entry.gmtCreate = isoTime(f.createdMs);
    f.entry.gmtModified = isoTime(f.modifiedMs);
  }
  const byName = (a: FileEntry, b: FileEntry) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0);
  return [...[...folders.values()].map((f) => f.entry).sort(byName), ...out.sort(byName)];
}

/** Largest distance from the epoch a Date can hold, in ms (ECMA-262). */
const MAX_DATE_MS = 8.64e15;

/**
 * ISO-8601 for `ms`, clamped to what a Date can hold: a file's mtime is whatever its filesystem said
 * (`touch -d @99999999999999` is valid there), and one such file must not break a whole listing.
 */
function isoTime(ms: number): string {
  return new Date(Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms))).toISOString();
}
