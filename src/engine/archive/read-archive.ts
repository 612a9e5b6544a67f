import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { InvalidParameterError } from "../../errors/index.js";
import type { BlobStore, Digest } from "../../store/index.js";
import { decodeManifest, MANIFEST_NAME, type ManifestEntry } from "./manifest.js";
import { readTarEntries, type TarEntry } from "./tar-entries.js";

/** Inflated chunk size: zlib's default (16 KiB) costs a stream turn per 16 KiB; 1 MiB runs near copy speed. */
const INFLATE_CHUNK_BYTES = 1 << 20;
/** Manifest of an archive is small (one line per file); past this size the archive is not ours. */
const MAX_MANIFEST_BYTES = 256 << 20;

/** An entry of an archive being read: its manifest metadata and a stream of its bytes. */
export interface ArchiveEntryStream {
  entry: ManifestEntry;
  /** Must be consumed (or left alone: the reader skips what is not read) before the next entry. */
  body: AsyncIterable<Buffer>;
}

/**
 * Streams an archive blob: calls `onEntry` for each file in archive order, after the manifest.
 * Bytes are hash-verified by the blob store on the way out (the whole archive) and by the caller per entry.
 */
export async function readArchive(
  blobs: Pick<BlobStore, "get">,
  digest: Digest,
  onEntry: (e: ArchiveEntryStream) => Promise<void>,
): Promise<ManifestEntry[]> {
  const { source, entries: tarEntries } = await openArchive(blobs, digest);
  let manifest: Map<string, ManifestEntry> | undefined;
  let entries: ManifestEntry[] = [];
  try {
    for await (const e of tarEntries) {
      if (!manifest) {
        entries = await readManifestEntry(digest, e);
        manifest = new Map(entries.map((m) => [m.rel, m]));
        continue;
      }
      const entry = manifest.get(e.name);
      if (!entry) throw notOurs(digest, `entry ${e.name} is not in its manifest`);
      await onEntry({ entry, body: e.body });
    }
  } finally {
    source.destroy();
  }
  if (!manifest) throw notOurs(digest, "it has no manifest");
  return entries;
}

/** Reads only the manifest of an archive, then stops reading. */
export async function readArchiveManifest(blobs: Pick<BlobStore, "get">, digest: Digest): Promise<ManifestEntry[]> {
  const { source, entries } = await openArchive(blobs, digest);
  try {
    // Returning from the loop ends the reader, which stops inflating the rest: only the manifest was wanted.
    for await (const e of entries) return await readManifestEntry(digest, e);
    throw notOurs(digest, "it is empty");
  } finally {
    source.destroy();
  }
}

/** Blob → gunzip → tar entries, with an error anywhere surfacing from the entry iterator. */
async function openArchive(blobs: Pick<BlobStore, "get">, digest: Digest): Promise<{ source: Readable; entries: AsyncGenerator<TarEntry> }> {
  const source = await blobs.get(digest);
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  source.on("error", (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  return { source, entries: readTarEntries(gunzip) };
}

async function readManifestEntry(digest: Digest, e: TarEntry): Promise<ManifestEntry[]> {
  if (e.name !== MANIFEST_NAME) throw notOurs(digest, `first entry is ${e.name}`);
  if (e.sizeBytes > MAX_MANIFEST_BYTES) throw new InvalidParameterError(`Archive manifest is larger than ${MAX_MANIFEST_BYTES} bytes.`);
  const chunks: Buffer[] = [];
  for await (const c of e.body) chunks.push(c);
  return decodeManifest(Buffer.concat(chunks));
}

function notOurs(digest: string, why: string): Error {
  return new InvalidParameterError(`Blob ${digest} is not a ctxsync archive: ${why}.`);
}
