import { Readable } from "node:stream";
import type { BlobStore, Digest } from "../../store/index.js";
import type { ViewEntry } from "../namespace-view.js";
import { readArchive } from "./read-archive.js";

/**
 * Stores the given files of an archive as blobs of their own, so FILE-mode records can point at them
 * when a mount switches from ARCHIVE to FILE. Reads the archive once; skips blobs already stored.
 */
export async function materializeArchive(
  deps: { blobs: BlobStore },
  archiveDigest: Digest,
  files: readonly ViewEntry[],
): Promise<void> {
  const wanted = new Map<string, ViewEntry>();
  for (const f of files) {
    // touch, not has: the records about to point at an existing blob must restart GC's grace period.
    if (f.type === "file" && f.digest && !(await deps.blobs.touch(f.digest))) wanted.set(f.digest, f);
  }
  if (wanted.size === 0) return;
  await readArchive(deps.blobs, archiveDigest, async ({ entry, body }) => {
    if (!entry.digest || !wanted.has(entry.digest)) return;
    wanted.delete(entry.digest);
    await deps.blobs.put(entry.digest, Readable.from(body), entry.sizeBytes);
  });
  await deps.blobs.flush();
}
