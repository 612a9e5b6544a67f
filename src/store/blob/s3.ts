import { createHash } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import { PassThrough, Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { BlobDigestMismatchError, BlobNotFoundError, InvalidParameterError, StoreUnavailableError, toError } from "../../errors/index.js";
import type { BlobDeletionJournal } from "../blob-deletion-journal.js";
import type { BlobStore, Digest, FetchItem, HeldBlob, IngestItem, IngestResult, ProgressFn, ReadOptions, StoredBlob } from "../blob-store.js";
import { SMALL_BLOB_MAX_BYTES } from "../blob-store.js";
import { mapConcurrent } from "../map-concurrent.js";
import { mapInLanes } from "../map-in-lanes.js";
import { DeletionFence, type DeletionFenceOptions } from "./deletion-fence.js";
import { hashFile, readIfSmall } from "./file-reads.js";
import { bucketUnusable, isMissingObject, isStoreFailure, s3Failure } from "./s3-errors.js";
import { S3KeyLayout } from "./s3-keys.js";
import { withSpooledBlob } from "./spooled-blob.js";
import { drainVerified, verifyingStream } from "./verifying-stream.js";

/** How to reach the bucket, and where in it the store lives. */
export interface S3BlobStoreOptions {
  /** Client for the endpoint, region and credentials to use. The caller owns it (and destroys it). */
  client: S3Client;
  bucket: string;
  /** Key prefix for everything this store writes, e.g. "ctxsync/" (default ""): stores with different
   *  prefixes share a bucket without seeing each other's blobs. */
  prefix?: string;
  /** Keys per ListObjectsV2 page in `list()` (default 1000, S3's maximum); tests set it small to page. */
  listPageSize?: number;
  /**
   * Where deletions are recorded (the metadata store), so that a write overlapping a deletion of the same
   * blob writes again (DeletionFence). Without it, a refresh landing between a conditional delete's check
   * and its delete is lost (see the class comment).
   */
  deletions?: BlobDeletionJournal;
  /** Tests shorten the wait for a deletion a write overlapped. */
  deletionWait?: DeletionFenceOptions;
  /**
   * Where putUnnamed keeps a blob until its digest, the object's key, is known: a directory with room
   * for the largest blob. Default the OS temp directory.
   */
  spoolDir?: string;
}

/** Requests in flight for the batch methods: S3 calls are latency-bound, and 16 stays well inside the
 *  SDK's default of 50 sockets per client. */
const BATCH_CONCURRENCY = 16;
/** Large ingests at once: each holds up to (UPLOAD_QUEUE_SIZE + 1) parts in memory (~24 MiB). */
const LARGE_INGEST_CONCURRENCY = 4;
/** Multipart part size: the AWS CLI's default; S3's minimum is 5 MiB. Larger for blobs over 80 GiB. */
const PART_SIZE_BYTES = 8 << 20;
/** S3's limit on parts per multipart upload. */
const MAX_PARTS = 10_000;
/** Parts of one upload in flight at once. */
const UPLOAD_QUEUE_SIZE = 2;
/** Read-side chunk size, as local-dir's: memory stays flat, calls stay few. */
const CHUNK_BYTES = 1 << 20;
const BLOB_CONTENT_TYPE = "application/octet-stream";

/**
 * Blob store in an S3 bucket (AWS or any S3-compatible server): `<prefix>blobs/<first two hex>/<digest>`
 * (see S3KeyLayout). The bucket must exist; `open` checks it can be reached.
 *
 * Nothing unverified is ever written under a digest: small blobs are hashed in memory before one PutObject;
 * streamed ones go up through lib-storage's Upload behind verifyingStream, which withholds the last
 * bytes of a wrong or mis-sized body, so the upload fails before it completes (a single PUT is never sent,
 * a multipart upload is aborted). A PUT or a completed multipart upload appears whole or not at all, also
 * when the process dies mid-way; an interrupted multipart upload leaves invisible parts behind, which a
 * bucket lifecycle rule (AbortIncompleteMultipartUpload) clears. So no temp objects, no copy per blob.
 * Large files are hashed before they are uploaded, so one the store has already costs a read and a touch.
 *
 * `storedAtMs` is the object's Last-Modified. S3 cannot set that, so `touch` copies the object onto itself
 * (CopyObject with MetadataDirective REPLACE), which gives it a new Last-Modified; storing a small blob again
 * simply PUTs it again. Known limits: a copy source can be at most 5 GiB, so touching a larger blob fails,
 * and with it storing such a blob a second time (the first store and every read work; the server's
 * default file limit, 5 GiB, keeps blobs below it); and in a versioned bucket every touch keeps a noncurrent version and
 * deletes leave the bytes behind, so use an unversioned bucket.
 *
 * `delete` with `ifStoredBeforeMs` cannot check and remove in one step as local-dir does: S3 has no delete
 * conditional on Last-Modified. It reads Last-Modified (HeadObject) immediately before DeleteObject, so a
 * touch or store landing in the round trip between the two would be lost. With a deletion journal
 * (`deletions`, the metadata store) every delete is marked there around its check, and every write
 * (touch, put, ingest) looks afterwards whether a deletion of its blob overlapped it; if one did, it
 * waits for it to end and writes again (DeletionFence). Without one, that window stays open.
 *
 * `flush` does nothing: S3 acknowledges a PUT, copy or completed upload only once the object is durably
 * stored.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  readonly bucket: string;
  private readonly keys: S3KeyLayout;
  private readonly listPageSize: number;
  private readonly fence: DeletionFence;
  private readonly spoolDir: string | undefined;

  private constructor(opts: S3BlobStoreOptions) {
    this.fence = new DeletionFence(opts.deletions, opts.deletionWait);
    this.spoolDir = opts.spoolDir;
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.keys = new S3KeyLayout(opts.prefix ?? "");
    // S3 returns at most 1000 keys a page whatever is asked.
    this.listPageSize = opts.listPageSize ?? 1000;
  }

  /**
   * A store in `opts.bucket` under `opts.prefix`. Rejects with a StoreUnavailable error naming the bucket
   * and what to check (endpoint, credentials, bucket) when the bucket cannot be reached.
   */
  static async open(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = new S3BlobStore(opts);
    try {
      await opts.client.send(new HeadBucketCommand({ Bucket: opts.bucket }));
    } catch (err) {
      throw bucketUnusable(opts.bucket, await endpointOf(opts.client), err);
    }
    return store;
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.storedAt(this.keys.blobKey(digest))) !== undefined;
  }

  async touch(digest: Digest): Promise<boolean> {
    return (await this.touchMany([digest]))[0]!;
  }

  /** CopyObject onto itself: a new Last-Modified, or false when the blob is absent. Unfenced. */
  private async copyOntoItself(digest: Digest): Promise<boolean> {
    const key = this.keys.blobKey(digest);
    try {
      // No HeadObject first: a copy of a missing object fails with NoSuchKey, so one request answers both.
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: copySource(this.bucket, key),
          MetadataDirective: "REPLACE",
          ContentType: BLOB_CONTENT_TYPE,
        }),
      );
      return true;
    } catch (err) {
      if (isMissingObject(err)) return false;
      throw s3Failure("CopyObject onto itself (touch)", this.bucket, key, err);
    }
  }

  async put(digest: Digest, body: Readable, sizeBytes: number): Promise<void> {
    const key = this.keys.blobKey(digest);
    await this.fence.writeAll([digest], async (_, round) => {
      if (round > 0) {
        // The body is spent: a blob a deletion took meanwhile cannot be stored again from it.
        if (await this.copyOntoItself(digest)) return [digest];
        throw new StoreUnavailableError(`Blob ${digest} was deleted by garbage collection while it was being stored; store it again.`);
      }
      if (await this.copyOntoItself(digest)) await drainVerified(digest, body, sizeBytes);
      else await this.uploadVerified(key, digest, sizeBytes, body);
      return [digest];
    });
  }

  /**
   * An object's key is its digest, known only at the end of the bytes: they are spooled first, then
   * stored by `put`, which hashes them again on their way to the bucket — one path through the deletion
   * fence, for a store bound by the network rather than by that hash.
   */
  async putUnnamed(body: Readable, sizeBytes: number): Promise<{ digest: Digest; sizeBytes: number }> {
    return withSpooledBlob(
      body,
      sizeBytes,
      async (file, digest) => {
        await this.put(digest, fs.createReadStream(file), sizeBytes);
        return { digest, sizeBytes };
      },
      this.spoolDir,
    );
  }

  async get(digest: Digest, opts: ReadOptions = {}): Promise<Readable> {
    const key = this.keys.blobKey(digest);
    const body = await this.getObject(digest, key);
    const out = opts.verify === false ? new PassThrough({ highWaterMark: CHUNK_BYTES }) : verifyingStream(digest);
    return this.relay(body, out, key);
  }

  async ingestFiles(items: readonly IngestItem[], onProgress?: ProgressFn): Promise<IngestResult[]> {
    const results = new Array<IngestResult>(items.length);
    const indices = items.map((_, i) => i);
    // A file a deletion overlapped is read and stored again (its progress was counted the first time).
    await this.fence.writeAll(indices, async (todo, round) => {
      const progress = round === 0 ? onProgress : undefined;
      const done = await mapInLanes(
        todo,
        (i) => items[i]!.sizeBytes > SMALL_BLOB_MAX_BYTES,
        { small: BATCH_CONCURRENCY, large: LARGE_INGEST_CONCURRENCY },
        async (i): Promise<IngestResult> => {
          try {
            return await this.ingestOne(items[i]!, progress);
          } catch (err) {
            if (isStoreFailure(err)) throw err;
            return { error: toError(err) };
          }
        },
      );
      done.forEach((r, k) => (results[todo[k]!] = r));
      return done.map((r) => ("digest" in r ? r.digest : undefined));
    });
    return results;
  }

  /** Stores one local file: a small one read whole and PUT, a large one hashed first, then uploaded. */
  private async ingestOne(item: IngestItem, onProgress?: ProgressFn): Promise<{ digest: Digest; sizeBytes: number }> {
    // O_NOFOLLOW: a file swapped for a symlink after the scan must not pull outside data into the context.
    const handle = await fsp.open(item.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const whole = await readIfSmall(handle, SMALL_BLOB_MAX_BYTES);
      if (whole !== undefined) {
        const digest = sha256(whole);
        await this.putHeld(digest, whole);
        onProgress?.(whole.length);
        return { digest, sizeBytes: whole.length };
      }
      const { digest, sizeBytes } = await hashFile(handle);
      if (await this.copyOntoItself(digest)) {
        onProgress?.(sizeBytes);
        return { digest, sizeBytes };
      }
      // Read again for the upload, checked against the first read: a file changed in between fails this
      // item instead of storing bytes under the wrong digest.
      const again = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: CHUNK_BYTES });
      await this.uploadVerified(this.keys.blobKey(digest), digest, sizeBytes, again, onProgress);
      return { digest, sizeBytes };
    } finally {
      await handle.close();
    }
  }

  async fetchFiles(items: readonly FetchItem[], onProgress?: ProgressFn): Promise<(Error | null)[]> {
    return mapConcurrent(items, BATCH_CONCURRENCY, async (item) => {
      try {
        await this.fetchOne(item, onProgress);
        return null;
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        return toError(err);
      }
    });
  }

  /** Downloads one blob to a file it creates, verifying on the way; on failure removes that file. */
  private async fetchOne(item: FetchItem, onProgress?: ProgressFn): Promise<void> {
    const key = this.keys.blobKey(item.digest);
    const body = await this.getObject(item.digest, key);
    let out: FileHandle;
    try {
      out = await fsp.open(item.targetPath, "wx");
    } catch (err) {
      body.destroy(); // frees the connection; EEXIST means the file there is not ours to touch
      throw err;
    }
    // The stream closes the handle when it ends or is destroyed (a FileHandle with a write stream on it
    // cannot be closed from outside until that stream has closed).
    const file = out.createWriteStream({ highWaterMark: CHUNK_BYTES });
    try {
      await pipeline(this.relay(body, verifyingStream(item.digest), key), countingStream(onProgress), file);
    } catch (err) {
      if (!file.closed) await once(file, "close").catch(() => undefined); // pipeline destroyed it; only its close matters
      await fsp.rm(item.targetPath, { force: true });
      throw err;
    }
  }

  async touchMany(digests: readonly Digest[]): Promise<boolean[]> {
    const present = new Array<boolean>(digests.length).fill(false);
    await this.fence.writeAll(
      digests.map((_, i) => i),
      async (todo) => {
        const found = await mapConcurrent(todo, BATCH_CONCURRENCY, (i) => this.copyOntoItself(digests[i]!));
        found.forEach((f, k) => (present[todo[k]!] = f));
        return todo.map((i, k) => (found[k] ? digests[i] : undefined));
      },
    );
    return present;
  }

  async putMany(blobs: readonly HeldBlob[]): Promise<(Error | null)[]> {
    const results = new Array<Error | null>(blobs.length).fill(null);
    await this.fence.writeAll(
      blobs.map((_, i) => i),
      async (todo) => {
        const done = await mapConcurrent(todo, BATCH_CONCURRENCY, (i) => this.putOneHeld(blobs[i]!));
        done.forEach((r, k) => (results[todo[k]!] = r));
        return todo.map((i, k) => (done[k] === null ? blobs[i]!.digest : undefined));
      },
    );
    return results;
  }

  /** One blob of putMany: checked, then PUT; its error, or null. Unfenced. */
  private async putOneHeld({ digest, bytes }: HeldBlob): Promise<Error | null> {
    try {
      this.keys.blobKey(digest); // a malformed digest is this blob's error, before any hashing
      if (bytes.length > SMALL_BLOB_MAX_BYTES) throw new InvalidParameterError(`Blob ${digest} has ${bytes.length} bytes; putMany takes blobs up to ${SMALL_BLOB_MAX_BYTES} bytes (use put).`);
      const actual = sha256(bytes);
      if (actual !== digest) throw new BlobDigestMismatchError(digest, actual, "while storing a blob");
      // No existence check first: callers send what touchMany found missing, and a PUT over an existing
      // copy stores the same bytes with a fresh Last-Modified, as a touch would.
      await this.putHeld(digest, bytes);
      return null;
    } catch (err) {
      if (isStoreFailure(err)) throw err;
      return toError(err);
    }
  }

  async ingestMany(blobs: readonly Buffer[]): Promise<IngestResult[]> {
    const results = new Array<IngestResult>(blobs.length);
    await this.fence.writeAll(
      blobs.map((_, i) => i),
      async (todo) => {
        const done = await mapConcurrent(todo, BATCH_CONCURRENCY, (i) => this.ingestOneHeld(blobs[i]!));
        done.forEach((r, k) => (results[todo[k]!] = r));
        return done.map((r) => ("digest" in r ? r.digest : undefined));
      },
    );
    return results;
  }

  /** One blob of ingestMany: hashed, then PUT (no existence check, as in putOneHeld). Unfenced. */
  private async ingestOneHeld(bytes: Buffer): Promise<IngestResult> {
    try {
      if (bytes.length > SMALL_BLOB_MAX_BYTES) throw new InvalidParameterError(`A blob of ${bytes.length} bytes is over the ${SMALL_BLOB_MAX_BYTES} bytes ingestMany takes (use put).`);
      const digest = sha256(bytes);
      await this.putHeld(digest, bytes);
      return { digest, sizeBytes: bytes.length };
    } catch (err) {
      if (isStoreFailure(err)) throw err;
      return { error: toError(err) };
    }
  }

  async getMany(digests: readonly Digest[]): Promise<(Buffer | Error)[]> {
    return mapConcurrent(digests, BATCH_CONCURRENCY, async (digest) => {
      try {
        return await this.getSmall(digest);
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        return toError(err);
      }
    });
  }

  /** One small blob, read whole and verified. */
  private async getSmall(digest: Digest): Promise<Buffer> {
    const key = this.keys.blobKey(digest);
    const { body, sizeBytes } = await this.getObjectSized(digest, key);
    if (sizeBytes > SMALL_BLOB_MAX_BYTES) {
      body.destroy();
      throw new InvalidParameterError(`Blob ${digest} has ${sizeBytes} bytes; getMany reads blobs up to ${SMALL_BLOB_MAX_BYTES} bytes (use get).`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        chunks.push(chunk as Buffer);
        total += (chunk as Buffer).length;
        // A server that sent no Content-Length must not make this read unbounded.
        if (total > SMALL_BLOB_MAX_BYTES) break;
      }
    } catch (err) {
      throw s3Failure("GetObject (reading the body)", this.bucket, key, err);
    }
    if (total > SMALL_BLOB_MAX_BYTES) {
      throw new InvalidParameterError(`Blob ${digest} has more than ${SMALL_BLOB_MAX_BYTES} bytes; getMany reads blobs up to that size (use get).`);
    }
    const bytes = Buffer.concat(chunks);
    const actual = sha256(bytes);
    if (actual !== digest) throw new BlobDigestMismatchError(digest, actual, "while reading a blob");
    return bytes;
  }

  async delete(digest: Digest, opts: { ifStoredBeforeMs?: number } = {}): Promise<boolean> {
    const key = this.keys.blobKey(digest);
    return this.fence.deleting(digest, async () => {
      // S3 deletes a missing key without complaint; the HEAD tells whether there was one (and its age).
      const storedAtMs = await this.storedAt(key);
      if (storedAtMs === undefined) return false;
      if (opts.ifStoredBeforeMs !== undefined && storedAtMs >= opts.ifStoredBeforeMs) return false;
      // A refresh between the HEAD above and this DELETE is lost; the fence has its writer write again.
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      } catch (err) {
        throw s3Failure("DeleteObject", this.bucket, key, err);
      }
      return true;
    });
  }

  async *list(): AsyncIterable<StoredBlob> {
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.listPageSize },
      { Bucket: this.bucket, Prefix: this.keys.blobsPrefix },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const digest = object.Key === undefined ? undefined : this.keys.digestOf(object.Key);
          if (digest === undefined) continue; // not a blob key: something else written under the prefix
          // No date means none to judge by: "now" keeps the blob from garbage collection.
          yield { digest, storedAtMs: object.LastModified?.getTime() ?? Date.now() };
        }
      }
    } catch (err) {
      throw s3Failure("ListObjectsV2", this.bucket, this.keys.blobsPrefix, err);
    }
  }

  async flush(): Promise<void> {
    // Nothing to do: S3 acknowledges a write only once it is durable (see the class comment).
  }

  /** The object's Last-Modified in ms, or undefined when it is absent. */
  private async storedAt(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      // No date means none to judge by: "now" keeps a blob from a conditional delete.
      return head.LastModified?.getTime() ?? Date.now();
    } catch (err) {
      if (isMissingObject(err)) return undefined;
      throw s3Failure("HeadObject", this.bucket, key, err);
    }
  }

  /** Stores a blob already verified and held in memory with one PUT (whole or not at all). */
  private async putHeld(digest: Digest, bytes: Buffer): Promise<void> {
    const key = this.keys.blobKey(digest);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.length, ContentType: BLOB_CONTENT_TYPE }),
      );
    } catch (err) {
      throw s3Failure("PutObject", this.bucket, key, err);
    }
  }

  /**
   * Uploads `source` under `key` through verifyingStream (with the announced size): one PUT when it fits a part, else a
   * multipart upload, which S3 assembles only when completed. A wrong body rejects with the check's error
   * and leaves nothing under `key`; an S3 failure rejects with a StoreUnavailable error.
   */
  private async uploadVerified(key: string, digest: Digest, sizeBytes: number, source: Readable, onBytes?: ProgressFn): Promise<void> {
    const checked = verifyingStream(digest, { sizeBytes, onBytes, during: "while storing a blob" });
    // A source error reaches the upload through `checked`, which pipeline destroys with it.
    pipeline(source, checked).catch(() => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: checked, ContentType: BLOB_CONTENT_TYPE },
      partSize: Math.max(PART_SIZE_BYTES, Math.ceil(sizeBytes / MAX_PARTS)),
      queueSize: UPLOAD_QUEUE_SIZE,
    });
    try {
      await upload.done();
    } catch (err) {
      // The body's verdict is what went wrong when there is one, even if S3 then also failed to abort the
      // multipart upload it had started (its parts stay invisible).
      const bodyError = checked.errored;
      checked.destroy(); // stops the source when it was S3 that failed
      throw bodyError ?? s3Failure("upload", this.bucket, key, err);
    }
  }

  /** GetObject's body; BlobNotFoundError when the blob is absent. */
  private async getObject(digest: Digest, key: string): Promise<Readable> {
    return (await this.getObjectSized(digest, key)).body;
  }

  private async getObjectSized(digest: Digest, key: string): Promise<{ body: Readable; sizeBytes: number }> {
    let res: GetObjectCommandOutput;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isMissingObject(err)) throw new BlobNotFoundError(digest);
      throw s3Failure("GetObject", this.bucket, key, err);
    }
    // In Node the SDK's body is the HTTP response, a Readable; anything else is a client built for another runtime.
    if (!(res.Body instanceof Readable)) {
      throw s3Failure("GetObject", this.bucket, key, new Error("the S3 client returned a body that is not a Node.js Readable"));
    }
    return { body: res.Body, sizeBytes: res.ContentLength ?? 0 };
  }

  /**
   * Pipes an S3 body into `out` and returns `out`: a body error (connection lost mid-blob) destroys `out`
   * with a StoreUnavailable error, and a consumer that destroys `out` early releases the connection.
   */
  private relay<T extends Transform>(body: Readable, out: T, key: string): T {
    body.once("error", (err) => out.destroy(s3Failure("GetObject (reading the body)", this.bucket, key, err)));
    out.once("close", () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(out);
    return out;
  }
}

/** CopyObject's source, URL-encoded per key segment as S3 requires. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

function sha256(bytes: Buffer): Digest {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A pass-through that reports the bytes flowing through it. */
function countingStream(onProgress?: ProgressFn): Transform {
  return new Transform({
    highWaterMark: CHUNK_BYTES,
    transform(chunk: Buffer, _enc, cb) {
      onProgress?.(chunk.length);
      cb(null, chunk);
    },
  });
}

/** The endpoint's host and port, for messages; undefined for the SDK's own AWS endpoints. */
async function endpointOf(client: S3Client): Promise<string | undefined> {
  try {
    const endpoint = await client.config.endpoint?.();
    if (!endpoint) return undefined;
    return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port === undefined ? "" : `:${endpoint.port}`}`;
  } catch {
    // Only decorates a message about a failure already in hand.
    return undefined;
  }
}
