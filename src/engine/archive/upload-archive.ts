import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { relativeKey } from "../../policy/index.js";
import type { BlobStore, FileMeta } from "../../store/index.js";
import type { MountLayout } from "../mount-spec.js";
import type { NamespaceView, ViewEntry } from "../namespace-view.js";
import type { UploadPlan } from "../plan-upload.js";
import type { ManifestEntry } from "./manifest.js";
import { writeArchive, type ArchiveItem } from "./write-archive.js";

/** What an ARCHIVE-mode upload must write. */
export interface ArchiveRewrite {
  /** False when the archive already holds exactly the merged state. */
  needed: boolean;
  /** Every file of the new archive and where its bytes come from. */
  items: ArchiveItem[];
  /** Plain (FILE-mode) records in the white list that the archive takes over: delete them as files. */
  absorbedKeys: string[];
}

/**
 * The new archive's contents: every file of the old archive (white-listed or not: nothing else in the
 * context may change), the white-listed plain files, minus the plan's deletes, with the plan's puts
 * read from disk.
 */
export function planArchiveRewrite(
  layout: MountLayout,
  view: NamespaceView,
  plan: UploadPlan,
  localPath: ReadonlyMap<string, string>,
): ArchiveRewrite {
  const puts = new Map(plan.puts.map((p) => [p.key, p.meta]));
  const deletes = new Set(plan.deletes);
  const items: ArchiveItem[] = [];
  const absorbedKeys: string[] = [];
  const rel = (key: string) => relativeKey(layout.spec.namespace, key)!;
  for (const f of view.files.values()) {
    if (f.source === "blob") {
      if (layout.relOf(f.key) === null) continue; // outside the white list: left as it is
      absorbedKeys.push(f.key);
    }
    if (deletes.has(f.key)) continue;
    const put = puts.get(f.key);
    if (put) {
      items.push({ entry: manifestEntry(rel(f.key), put), from: "local", path: localPath.get(f.key)! });
      puts.delete(f.key);
    } else {
      items.push({ entry: manifestEntry(rel(f.key), f), from: f.source });
    }
  }
  for (const [key, meta] of puts) items.push({ entry: manifestEntry(rel(key), meta), from: "local", path: localPath.get(key)! });
  const needed = plan.puts.length > 0 || plan.deletes.length > 0 || absorbedKeys.length > 0;
  return { needed, items, absorbedKeys };
}

/**
 * Writes the archive to a temp file, stores it as a blob and removes the temp file.
 * Returns the archive object's metadata.
 */
export async function storeArchive(
  deps: { blobs: BlobStore; tmpDir?: string },
  view: NamespaceView,
  items: readonly ArchiveItem[],
  nowMs: number,
): Promise<{ meta: FileMeta }> {
  const tmp = path.join(deps.tmpDir ?? os.tmpdir(), `ctxsync-archive-${randomBytes(8).toString("hex")}.tar.gz`);
  try {
    await writeArchive(deps, tmp, items, view.archive?.digest ?? undefined);
    const [result] = await deps.blobs.ingestFiles([{ path: tmp, sizeBytes: fs.statSync(tmp).size }]);
    if (!result || "error" in result) throw result?.error ?? new Error("archive ingest returned no result");
    await deps.blobs.flush();
    return { meta: { type: "file", digest: result.digest, sizeBytes: result.sizeBytes, mode: 0o644, mtimeMs: nowMs, linkTarget: null } };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function manifestEntry(rel: string, m: FileMeta | ViewEntry): ManifestEntry {
  return { rel, type: m.type, digest: m.digest, sizeBytes: m.sizeBytes, mode: m.mode, mtimeMs: m.mtimeMs, linkTarget: m.linkTarget };
}
