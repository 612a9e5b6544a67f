import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ArchiveDamagedError, InvalidParameterError } from "../../errors/index.js";
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
 * The blob store verifies the whole archive's digest on the way out, which fails only once its last
 * byte is read. A caller that verifies every entry's bytes itself before using them may pass
 * `verifyWhole: false` and spare that second hash of every byte: what it uses is then checked by
 * SHA-256 per entry, the rest (tar headers) by gzip's CRC-32, and names and metadata come from the
 * manifest, not the headers.
 */
export async function readArchive(
  blobs: Pick<BlobStore, "get">,
  digest: Digest,
  onEntry: (e: ArchiveEntryStream) => Promise<void>,
  opts: { verifyWhole?: boolean } = {},
): Promise<ManifestEntry[]> {
  const { source, entries: tarEntries } = await openArchive(blobs, digest, opts.verifyWhole ?? true);
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
  // Only the manifest is read, never the archive's end where its digest could be checked.
  const { source, entries } = await openArchive(blobs, digest, false);
  try {
    // Returning from the loop ends the reader, which stops inflating the rest: only the manifest was wanted.
    for await (const e of entries) return await readManifestEntry(digest, e);
    throw notOurs(digest, "it is empty");
  } finally {
    source.destroy();
  }
}

/** Blob → gunzip → tar entries, with an error anywhere surfacing from the entry iterator. */
async function openArchive(blobs: Pick<BlobStore, "get">, digest: Digest, verify: boolean): Promise<{ source: Readable; entries: AsyncGenerator<TarEntry> }> {
  const source = await blobs.get(digest, { verify });
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
  source.on("error", (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  return { source, entries: readTarEntries(inflated(gunzip, digest)) };
}

/** The inflated bytes, with zlib's terse errors ("incorrect data check") said as what they mean. */
async function* inflated(gunzip: AsyncIterable<Buffer>, digest: Digest): AsyncGenerator<Buffer> {
  try {
    yield* gunzip;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("Z_")) throw new ArchiveDamagedError(digest, `gzip reports "${(err as Error).message}"`, { cause: err });
    throw err;
  }
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
