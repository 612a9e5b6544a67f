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

/** Called as bytes move, with the byte count moved since the previous call. */
export type ProgressFn = (bytes: number) => void;

/**
 * Content-addressed blob storage: bytes are stored under their SHA-256 and never change.
 * Implementations: blob/local-dir.ts (embedded). Every implementation runs blob/contract.test-suite.ts.
 *
 * Contract shared by all methods:
 * - Bytes are verified against their digest on the way in and on the way out; a mismatch rejects with
 *   BlobDigestMismatchError and stores nothing.
 * - A missing blob rejects with BlobNotFoundError, never a native ENOENT or NoSuchKey.
 * - Writes are idempotent: storing a digest that exists succeeds without rewriting it.
 * - A stored blob is complete: readers never see a partial blob, also after a crash mid-write.
 */
export interface BlobStore {
  /** True when the blob is stored. */
  has(digest: Digest): Promise<boolean>;
  /** Stores `body` under `digest`; `sizeBytes` must match the byte count. */
  put(digest: Digest, body: Readable, sizeBytes: number): Promise<void>;
  /** A stream of the blob's bytes that errors with BlobDigestMismatchError at the end if they disagree. */
  get(digest: Digest): Promise<Readable>;
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
  /** Removes a blob; removing a missing one succeeds. Only garbage collection calls this. */
  delete(digest: Digest): Promise<void>;
  /** Every stored digest, in no particular order. */
  list(): AsyncIterable<Digest>;
  /** Makes every blob written so far durable (survives power loss), in one call instead of one per file. */
  flush(): Promise<void>;
}
