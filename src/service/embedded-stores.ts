import os from "node:os";
import path from "node:path";
import type { BlobStore, MetaStore } from "../store/index.js";
import { openStores, type OpenedStores } from "./store-config.js";

/** The two stores a service runs on. */
export interface Stores {
  meta: MetaStore;
  blobs: BlobStore;
}

/** Where the embedded store lives when no home is given: $CTXSYNC_HOME, else ~/.ctxsync. */
export function defaultHome(): string {
  return process.env.CTXSYNC_HOME || path.join(os.homedir(), ".ctxsync");
}

/** Opens the embedded stores under `home`: metadata in `meta.db` (SQLite), blobs in `blobs/` (see openStores). */
export function openEmbeddedStores(home: string): Promise<OpenedStores> {
  return openStores({ home });
}
