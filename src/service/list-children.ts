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
  const folders = new Map<string, FileEntry>();
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
        gmtCreate: new Date(f.writtenAtMs).toISOString(),
        gmtModified: new Date(f.mtimeMs).toISOString(),
        size: f.sizeBytes,
        status: "available",
      });
      continue;
    }
    const name = rest.slice(0, slash);
    const folder = folders.get(name);
    if (!folder) {
      folders.set(name, {
        fileId: `${prefix}${name}`,
        fileName: name,
        filePath: `${prefix}${name}`,
        fileType: "FOLDER",
        gmtCreate: new Date(f.writtenAtMs).toISOString(),
        gmtModified: new Date(f.mtimeMs).toISOString(),
        size: f.sizeBytes,
        status: "available",
      });
    } else {
      folder.size += f.sizeBytes;
      folder.gmtCreate = maxIso(folder.gmtCreate, new Date(f.writtenAtMs).toISOString());
      folder.gmtModified = maxIso(folder.gmtModified, new Date(f.mtimeMs).toISOString());
    }
  }
  const byName = (a: FileEntry, b: FileEntry) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0);
  return [...[...folders.values()].sort(byName), ...out.sort(byName)];
}

function maxIso(a: string, b: string): string {
  return a >= b ? a : b;
}
