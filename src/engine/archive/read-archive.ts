import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { InvalidParameterError } from "../../errors/index.js";
import type { BlobStore, Digest } from "../../store/index.js";
import { decodeManifest, MANIFEST_NAME, type ManifestEntry } from "./manifest.js";

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
  const { source, extract } = await openArchive(blobs, digest);
  let manifest: Map<string, ManifestEntry> | undefined;
  let entries: ManifestEntry[] = [];
  try {
    for await (const e of extract) {
      if (!manifest) {
        if (e.header.name !== MANIFEST_NAME) throw notOurs(digest, `first entry is ${e.header.name}`);
        entries = decodeManifest(await readSmall(e as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES));
        manifest = new Map(entries.map((m) => [m.rel, m]));
        continue;
      }
      const entry = manifest.get(e.header.name);
      if (!entry) throw notOurs(digest, `entry ${e.header.name} is not in its manifest`);
      await onEntry({ entry, body: e as AsyncIterable<Buffer> });
      e.resume(); // skip whatever onEntry did not read
    }
  } finally {
    source.destroy();
  }
  if (!manifest) throw notOurs(digest, "it has no manifest");
  return entries;
}

/** Reads only the manifest of an archive, then stops reading. */
export async function readArchiveManifest(blobs: Pick<BlobStore, "get">, digest: Digest): Promise<ManifestEntry[]> {
  const { source, extract } = await openArchive(blobs, digest);
  try {
    for await (const e of extract) {
      if (e.header.name !== MANIFEST_NAME) throw notOurs(digest, `first entry is ${e.header.name}`);
      return decodeManifest(await readSmall(e as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES));
    }
    throw notOurs(digest, "it is empty");
  } finally {
    // Stop inflating the rest: only the manifest was wanted.
    source.destroy();
    extract.destroy();
  }
}

/** Blob → gunzip → tar entries, with an error anywhere surfacing on the entry stream. */
async function openArchive(blobs: Pick<BlobStore, "get">, digest: Digest): Promise<{ source: Readable; extract: tar.Extract }> {
  const source = await blobs.get(digest);
  const extract = tar.extract();
  const gunzip = createGunzip();
  source.on("error", (err) => gunzip.destroy(err));
  gunzip.on("error", (err) => extract.destroy(err));
  source.pipe(gunzip).pipe(extract);
  return { source, extract };
}

async function readSmall(stream: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) throw new InvalidParameterError(`Archive manifest is larger than ${max} bytes.`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function notOurs(digest: string, why: string): Error {
  return new InvalidParameterError(`Blob ${digest} is not a ctxsync archive: ${why}.`);
}
