/**
 * store — where contexts live. Two seams:
 * - MetaStore: contexts, generations, files, sessions, mounts, bases and tasks (SQLite embedded, or
 *   PostgreSQL).
 * - BlobStore: content-addressed bytes, SHA-256 verified in and out (local directory embedded, or an
 *   S3-compatible bucket).
 * Upper layers depend on the interfaces; concrete stores are chosen by the wiring in service. The
 * PostgreSQL and S3 stores (meta/postgres.ts, blob/s3.ts) are not re-exported here: their drivers take
 * ~0.3 s to load, which every command and SDK user would pay; the wiring imports them when configured.
 */
export type { BlobStore, Digest, FetchItem, HeldBlob, IngestItem, IngestResult, ProgressFn, ReadOptions, StoredBlob } from "./blob-store.js";
export { isDigest, SMALL_BLOB_MAX_BYTES } from "./blob-store.js";
export type * from "./meta-store.js";
export type { BlobDeletionJournal, BlobDeletionState } from "./blob-deletion-journal.js";
export { STALE_DELETION_MS } from "./blob-deletion-journal.js";
export { LocalDirBlobStore } from "./blob/local-dir.js";
export { readAllSync, readIntoSync, writeAllSync } from "./blob/sync-file-io.js";
export { verifyingStream } from "./blob/verifying-stream.js";
export { spoolToTempFile, withSpooledBlob, type SpooledFile } from "./blob/spooled-blob.js";
export { SqliteMetaStore } from "./meta/sqlite.js";
export { parsePostgresUrl, postgresTarget } from "./meta/postgres-url.js";
export type { S3Location } from "./blob/s3-client.js";
export { batchesOf } from "./batches-of.js";
export { makeDirsSync } from "./make-dirs.js";
export { mapConcurrent } from "./map-concurrent.js";
export { mapInLanes } from "./map-in-lanes.js";
export { EvalThread, ThreadStoppedError, ThreadUnavailableError } from "./eval-thread.js";
export { Pacer } from "./pacer.js";
export { newId } from "./new-id.js";
export { uniqueName } from "./unique-name.js";
