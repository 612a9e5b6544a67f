import { createHash } from "node:crypto";
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { BlobDigestMismatchError } from "../../errors/index.js";
import type { BlobStore, Digest } from "../../store/index.js";
import { encodeManifest, MANIFEST_NAME, type ManifestEntry } from "./manifest.js";
import { readArchive } from "./read-archive.js";
import { SwitchableGzip } from "./switchable-gzip.js";

/** What pack.entry takes: a name plus any header fields. */
type EntryHeader = Partial<tar.Header> & Pick<tar.Header, "name">;

/** Where an archive entry's bytes come from. */
export type ArchiveItem =
  | { entry: ManifestEntry; from: "local"; path: string }
  | { entry: ManifestEntry; from: "blob" }
  | { entry: ManifestEntry; from: "archive" };

/** Files below this size are read whole: cheaper than a stream, and bounded. */
const WHOLE_READ_MAX_BYTES = 1 << 20;
/** Queue whole-read entries without waiting for each; wait once this many bytes are queued. */
const QUEUE_MAX_BYTES = 8 << 20;
/** Bytes sampled to decide whether a file compresses. */
const SAMPLE_BYTES = 64 << 10;
/** Sample one small file out of this many; small files in one tree tend to be alike. */
const SMALL_FILE_SAMPLE_EVERY = 32;
/** Deflated sample larger than this share of the raw sample: not worth compressing. */
const INCOMPRESSIBLE_RATIO = 0.9;
/** gzip -6, as `tar czf` uses, for what compresses; stored blocks (level 0) for what does not, since
 *  deflate tops out near 35 MB/s on random data here while level 0 runs at copy speed. */
const LEVEL_COMPRESS = 6;
const LEVEL_STORE = 0;

/**
 * Writes a ctxsync archive (`.tar.gz`) to `outPath`: the manifest first, then every item. Streams
 * everything; memory stays bounded by backpressure from the file. Bytes of local files are hashed on the
 * way in and must match the digest planned for them, else BlobDigestMismatchError (the file changed
 * during the upload). Items `from: "archive"` are copied out of `oldArchive` in one sequential pass.
 */
export async function writeArchive(
  deps: { blobs: Pick<BlobStore, "get"> },
  outPath: string,
  items: readonly ArchiveItem[],
  oldArchive: Digest | undefined,
  onBytes?: (n: number) => void,
): Promise<void> {
  const pack = tar.pack();
  const gzip = new SwitchableGzip(LEVEL_COMPRESS);
  const file = fs.createWriteStream(outPath, { flags: "wx" });
  const written = pipeline(pack, gzip, file);
  // If the file side fails (disk full), entry callbacks may never fire: every wait also races this.
  const writeFailed = written.then(() => new Promise<never>(() => {}));
  writeFailed.catch(() => undefined);
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, writeFailed]);
  const level = new LevelSwitch(gzip);
  try {
    await guard(addBuffer(pack, { name: MANIFEST_NAME, mode: 0o644, mtime: new Date() }, encodeManifest(items.map((i) => i.entry))));

    const fromOld = new Set(items.filter((i) => i.from === "archive").map((i) => i.entry.rel));
    if (fromOld.size > 0 && oldArchive) {
      await readArchive(deps.blobs, oldArchive, async ({ entry, body }) => {
        if (!fromOld.has(entry.rel)) return;
        await guard(addStream(pack, entry, body));
        onBytes?.(entry.sizeBytes);
      });
    }
    for (const item of items) {
      if (item.from === "blob") {
        if (item.entry.type === "symlink") await guard(addBuffer(pack, headerOf(item.entry), Buffer.alloc(0)));
        else await guard(addStream(pack, item.entry, await deps.blobs.get(item.entry.digest!)));
        onBytes?.(item.entry.sizeBytes);
      }
    }
    let smallSeen = 0;
    let queuedBytes = 0;
    for (const item of items) {
      if (item.from !== "local") continue;
      const e = item.entry;
      if (e.type === "symlink") {
        await guard(addBuffer(pack, headerOf(e), Buffer.alloc(0)));
        continue;
      }
      if (e.sizeBytes <= WHOLE_READ_MAX_BYTES) {
        const buf = fs.readFileSync(item.path);
        checkContent(e, createHash("sha256").update(buf).digest("hex"), buf.length);
        if (e.sizeBytes >= SAMPLE_BYTES || smallSeen++ % SMALL_FILE_SAMPLE_EVERY === 0) level.decide(buf);
        // Waiting for every small entry to drain costs a round trip each; waiting per 8 MiB bounds memory.
        const added = addBuffer(pack, headerOf(e), buf);
        queuedBytes += buf.length + 512;
        if (queuedBytes >= QUEUE_MAX_BYTES) {
          queuedBytes = 0;
          await guard(added);
        } else {
          added.catch(() => undefined); // a failure also fails the pipeline, which the final wait reports
        }
      } else {
        queuedBytes = 0;
        level.decide(readSample(item.path));
        await guard(addStream(pack, e, fs.createReadStream(item.path)));
      }
      onBytes?.(e.sizeBytes);
    }
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined); // the original error is the one to report
    // A failure before the file finished opening: it opens, then closes; remove it only after that.
    if (!file.closed) await new Promise<void>((resolve) => file.once("close", () => resolve()));
    fs.rmSync(outPath, { force: true });
    throw err;
  }
}

function headerOf(e: ManifestEntry): EntryHeader {
  return {
    name: e.rel,
    mode: e.mode,
    mtime: new Date(e.mtimeMs),
    ...(e.type === "symlink" ? { type: "symlink" as const, linkname: e.linkTarget ?? "" } : { size: e.sizeBytes }),
  };
}

function addBuffer(pack: tar.Pack, header: EntryHeader, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ ...header, size: buf.length }, buf, (err) => (err ? reject(err) : resolve()));
  });
}

/** Streams `body` into a new entry, verifying it hashes to the entry's digest. */
async function addStream(pack: tar.Pack, e: ManifestEntry, body: AsyncIterable<Buffer>): Promise<void> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  const sink = pack.entry(headerOf(e));
  const sinkDone = new Promise<void>((resolve, reject) => {
    sink.on("finish", () => resolve());
    sink.on("error", reject);
  });
  sinkDone.catch(() => undefined); // awaited below; an early error must not count as unhandled
  for await (const chunk of body) {
    hash.update(chunk);
    sizeBytes += chunk.length;
    // More bytes than the header announced: tar would fail with a bare "Size mismatch".
    if (sizeBytes > e.sizeBytes) checkContent(e, "(grew)", sizeBytes);
    // Backpressure: the pack drains as gzip and the file take the bytes.
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once("drain", () => resolve()));
  }
  if (sizeBytes !== e.sizeBytes) checkContent(e, hash.digest("hex"), sizeBytes);
  (sink as unknown as { end(): void }).end(); // streamx types want a chunk; none is due
  await sinkDone;
  checkContent(e, hash.digest("hex"), sizeBytes);
}

/** The bytes archived are the ones the manifest describes: same digest and same size. */
function checkContent(e: ManifestEntry, digest: string, sizeBytes: number): void {
  if (digest !== e.digest || sizeBytes !== e.sizeBytes) {
    throw new BlobDigestMismatchError(e.digest ?? "", digest, `while archiving ${e.rel} (it changed during the upload; sync again)`);
  }
}

function readSample(file: string): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(SAMPLE_BYTES);
    return buf.subarray(0, fs.readSync(fd, buf, 0, SAMPLE_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** Switches the gzip level between entries, so random data is stored and text is compressed. */
class LevelSwitch {
  constructor(private readonly gzip: SwitchableGzip) {}

  decide(sample: Buffer): void {
    if (sample.length === 0) return;
    const deflated = zlib.deflateRawSync(sample, { level: 1 }).length;
    this.gzip.setLevel(deflated > sample.length * INCOMPRESSIBLE_RATIO ? LEVEL_STORE : LEVEL_COMPRESS);
  }
}
