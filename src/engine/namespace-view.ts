import type { BlobStore, FileMeta, FileRecord, MetaStore } from "../store/index.js";
import { ARCHIVE_NAME } from "./archive/manifest.js";
import { readArchiveManifest } from "./archive/read-archive.js";
import { joinKey } from "../policy/index.js";

/** Where a file's bytes are: its own blob, or inside the namespace's archive. */
export type ViewSource = "blob" | "archive";

/** One logical file of a namespace. */
export interface ViewEntry extends FileMeta {
  key: string;
  source: ViewSource;
}

/** The logical files of a namespace, whatever mode stored them. */
export interface NamespaceView {
  files: Map<string, ViewEntry>;
  /** The namespace's archive object, when it has one. */
  archive: FileRecord | undefined;
  /** Key of the archive object, whether or not it exists. */
  archiveKey: string;
  /** The plain records (source "blob") by key, for what a view entry does not carry (expiry, generation). */
  plainRecords: Map<string, FileRecord>;
}

/**
 * Reads what a namespace holds: plain file records plus the files inside its archive (read from the
 * archive's manifest only). A plain record overrides an archive entry of the same key: plain records are
 * only written over an archived file by something newer (a file API write).
 */
export async function readNamespaceView(
  deps: { meta: Pick<MetaStore, "listLiveFiles">; blobs: Pick<BlobStore, "get"> },
  contextId: string,
  namespace: string,
  nowMs: number,
): Promise<NamespaceView> {
  const archiveKey = joinKey(namespace, ARCHIVE_NAME);
  const files = new Map<string, ViewEntry>();
  let archive: FileRecord | undefined;
  const plain: FileRecord[] = [];
  for (const f of await deps.meta.listLiveFiles(contextId, namespace, nowMs)) {
    if (f.key === archiveKey) archive = f;
    else plain.push(f);
  }
  if (archive?.digest) {
    for (const e of await readArchiveManifest(deps.blobs, archive.digest)) {
      const key = joinKey(namespace, e.rel);
      files.set(key, { key, source: "archive", type: e.type, digest: e.digest, sizeBytes: e.sizeBytes, mode: e.mode, mtimeMs: e.mtimeMs, linkTarget: e.linkTarget });
    }
  }
  const plainRecords = new Map<string, FileRecord>();
  for (const f of plain) {
    files.set(f.key, { key: f.key, source: "blob", type: f.type, digest: f.digest, sizeBytes: f.sizeBytes, mode: f.mode, mtimeMs: f.mtimeMs, linkTarget: f.linkTarget });
    plainRecords.set(f.key, f);
  }
  return { files, archive, archiveKey, plainRecords };
}
