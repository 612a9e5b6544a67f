import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalDirBlobStore, SqliteMetaStore, type BlobStore, type MetaStore } from "../store/index.js";

/** The two stores a service runs on. */
export interface Stores {
  meta: MetaStore;
  blobs: BlobStore;
}

/** Where the embedded store lives when no home is given: $CTXSYNC_HOME, else ~/.ctxsync. */
export function defaultHome(): string {
  return process.env.CTXSYNC_HOME || path.join(os.homedir(), ".ctxsync");
}

/** Opens the embedded stores under `home`: metadata in `meta.db` (SQLite), blobs in `blobs/`. */
export async function openEmbeddedStores(home: string): Promise<Stores> {
  fs.mkdirSync(home, { recursive: true });
  const meta = SqliteMetaStore.open(path.join(home, "meta.db"));
  const blobs = await LocalDirBlobStore.open(path.join(home, "blobs"));
  return { meta, blobs };
}
