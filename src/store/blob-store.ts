import type { Readable } from "node:stream";

/** Lower-case hex SHA-256 of a blob's bytes. */
export type Digest = string;

const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** True when `s` has the form of a Digest. Blob stores refuse anything else so digests never become paths. */
export function isDigest(s: string): s is Digest {
  return DIGEST_PATTERN.test(s);
}

/** A local file to bring into the store. */
export interface IngestItem {
  /** Absolute path of the file on this machine. */
  path: string;
  /** Size seen by the scan: a hint for batching and progress. A file that changed since is stored as it is
   *  now, and the result reports its actual size; callers compare it with what they scanned. */
  sizeBytes: number;
}

/** What happened to one IngestItem: its digest, or why it could not be stored. */
export type IngestResult = { digest: Digest; sizeBytes: number } | { error: Error };

/** A blob to write out to a local file. */
export interface FetchItem {
  digest: Digest;
  /** Absolute path to create; it must not exist yet (callers pass a temp name and rename it themselves). */
  targetPath: string;
  sizeBytes: number;
}

/** How `get` reads. */
export interface ReadOptions {
  /** false: skip the store's own digest check, for a reader that makes it (default true). */
  verify?: boolean;
}

/** A small blob held in memory whole (≤ SMALL_BLOB_MAX_BYTES), as the batch methods take it. */
export interface HeldBlob {
  digest: Digest;
  bytes: Buffer;
}

/** Largest blob the batch methods (touchMany aside) move: small enough to hold whole, many at a time. */
export const SMALL_BLOB_MAX_BYTES = 1 << 20;

/** One stored blob, as `list()` yields it. */
export interface StoredBlob {
  digest: Digest;
  /**
   * When the blob was last stored or refreshed (put, ingestFiles or touch of a digest already there), in
   * milliseconds since the Unix epoch by the store's clock (local-dir: the file's mtime). Garbage collection
   * deletes an unreferenced blob only when this is older than its grace period, so a blob an upload stored
   * but has not committed yet is never collected.
   */
  storedAtMs: number;
}

/** Called as bytes move, with the byte count moved since the previous call. */
export type ProgressFn = (bytes: number) => void;

/**
 * Content-addressed blob storage: bytes are stored under their SHA-256 and never change.
 * Implementations: blob/local-dir.ts (embedded), blob/s3.ts (any S3-compatible bucket). Every implementation runs blob/contract.test-suite.ts.
 *
 * Contract shared by all methods:
 * - Bytes are verified against their digest on the way in and on the way out; a mismatch rejects with
 *   BlobDigestMismatchError and stores nothing.
 * - A missing blob rejects with BlobNotFoundError, never a native ENOENT or NoSuchKey.
 * - Writes are idempotent: storing a digest that exists succeeds without rewriting it, and refreshes its
 *   `storedAtMs` (see StoredBlob): whoever stores a blob is about to reference it, so GC must wait again.
 * - A stored blob is complete: readers never see a partial blob, also after a crash mid-write.
 *
 * Garbage collection (engine/gc.ts) relies on one rule from writers: a writer that will commit a reference
 * to a blob it did not just store calls `touch` (or stores it again) first, never only `has`.
 */
export interface BlobStore {
  /** True when the blob is stored. Does not refresh it: a caller about to reference the blob uses `touch`. */
  has(digest: Digest): Promise<boolean>;
  /**
   * Refreshes a stored blob's `storedAtMs` to now and returns true; returns false when the blob is absent
   * (then the caller stores it). Callers that will commit a reference to an existing blob call this first,
   * so a concurrent garbage collection keeps it (see `delete`).
   */
  touch(digest: Digest): Promise<boolean>;
  /**
   * Stores `body` under `digest`; `sizeBytes` must match the byte count. The body is checked against both
   * also when the blob is stored already (BlobDigestMismatchError, InvalidParameterError): a put that
   * succeeds shows the caller holds the bytes.
   */
  put(digest: Digest, body: Readable, sizeBytes: number): Promise<void>;
  /**
   * put for bytes whose digest the caller does not know (an agent's unnamed upload of a large file):
   * stores `body` under the digest the store computes, and returns it. `sizeBytes` must match the byte
   * count (InvalidParameterError, nothing stored). As with ingestMany, the blob is written anew also when
   * stored already (so refreshed): a stored copy is never older than the call (FreshBlobs).
   */
  putUnnamed(body: Readable, sizeBytes: number): Promise<{ digest: Digest; sizeBytes: number }>;
  /**
   * A stream of the blob's bytes that errors with BlobDigestMismatchError at the end if they disagree.
   * With `verify: false` the store spares that hash: only for a reader that checks what it uses itself
   * (an ARCHIVE-mode download checks every entry of the archive before placing it).
   */
  get(digest: Digest, opts?: ReadOptions): Promise<Readable>;
  /**
   * Stores many local files, hashing them on the way in, and returns one result per item in order.
   * Per-item failures (file vanished, changed size while read) are results, not rejections; the call
   * rejects only when the store itself fails. Implementations avoid per-file overhead for small files.
   */
  ingestFiles(items: readonly IngestItem[], onProgress?: ProgressFn): Promise<IngestResult[]>;
  /**
   * Writes many blobs to local files, verifying each digest, and returns one error-or-null per item.
   * A failed item leaves no file at its targetPath.
   */
  fetchFiles(items: readonly FetchItem[], onProgress?: ProgressFn): Promise<(Error | null)[]>;
  /**
   * fetchFiles calls of small files a download keeps in flight; unset: the downloader's default (3). A
   * store across a network asks for more, to hide its round trips.
   */
  readonly fetchCallsInFlight?: number;
  /**
   * touch for many blobs at once: one answer per digest, in order. Batch callers (an agent, via the
   * server) use it before referencing blobs they did not just store.
   */
  touchMany(digests: readonly Digest[]): Promise<boolean[]>;
  /**
   * Stores many small blobs held in memory (each ≤ SMALL_BLOB_MAX_BYTES), each verified against its
   * digest, and returns one error-or-null per blob, in order: a mismatch is a BlobDigestMismatchError
   * result and stores nothing for that blob. Rejects only when the store itself fails.
   */
  putMany(blobs: readonly HeldBlob[]): Promise<(Error | null)[]>;
  /**
   * ingestFiles for small blobs held in memory (each ≤ SMALL_BLOB_MAX_BYTES): stores each under the digest
   * the store computes, and returns one result per blob, in order. For bytes whose digest the caller does
   * not know (an agent's unnamed upload): the one hash here both names and checks them. Each blob is
   * written, also one stored already (so refreshed): a stored copy is never older than the call, which the
   * server relies on (FreshBlobs). A blob over the limit is an InvalidParameterError result; the call
   * rejects only when the store itself fails.
   */
  ingestMany(blobs: readonly Buffer[]): Promise<IngestResult[]>;
  /**
   * Reads many small blobs whole, verified, in order: the bytes, or a BlobNotFoundError /
   * BlobDigestMismatchError / InvalidParameterError (malformed digest) result per digest. A blob larger
   * than SMALL_BLOB_MAX_BYTES is an InvalidParameterError result (stream it with `get`).
   */
  getMany(digests: readonly Digest[]): Promise<(Buffer | Error)[]>;
  /**
   * Removes a blob and returns true; removing a missing one succeeds and returns false. Only garbage
   * collection calls this. With `ifStoredBeforeMs`, the blob is removed only when its `storedAtMs` is still
   * before that time, checked together with the removal: a put, ingest or touch that refreshed the blob
   * first wins, and the blob stays (false). local-dir makes the check and the removal one step; a store
   * that cannot must check as late as it can and say so.
   */
  delete(digest: Digest, opts?: { ifStoredBeforeMs?: number }): Promise<boolean>;
  /**
   * Every stored blob with the time it was stored, each once, in no particular order. Blobs stored while
   * the listing runs may or may not appear.
   */
  list(): AsyncIterable<StoredBlob>;
  /** Makes every blob written so far durable (survives power loss), in one call instead of one per file. */
  flush(): Promise<void>;
}
