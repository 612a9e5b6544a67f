import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { InvalidParameterError } from "../errors/index.js";
import {
  LocalDirBlobStore,
  makeDirsSync,
  parsePostgresUrl,
  postgresTarget,
  SqliteMetaStore,
  type BlobStore,
  type MetaStore,
  type S3Location,
} from "../store/index.js";
import type { Stores } from "./embedded-stores.js";

/**
 * Which stores a server (or the `keys` command) runs on. The defaults are the embedded ones in `home`;
 * `postgresUrl` moves the metadata to PostgreSQL and `s3` the blobs to a bucket, independently, so
 * several server replicas can share one pair.
 */
export interface StoreConfig {
  /** Local directory: the embedded stores when PostgreSQL or S3 is not named, and the server's spool. */
  home: string;
  postgresUrl?: string;
  s3?: S3Location;
}

/** Opened stores, and what closes them (the metadata connection, the S3 client, the blob writer thread). */
export interface OpenedStores extends Stores {
  close(): Promise<void>;
}

/**
 * The store settings from the environment: CTXSYNC_PG_URL, and CTXSYNC_S3_BUCKET with CTXSYNC_S3_PREFIX,
 * CTXSYNC_S3_ENDPOINT, CTXSYNC_S3_REGION, CTXSYNC_S3_PATH_STYLE ("true"/"false"). Secrets stay in the
 * environment rather than on a command line, where every user of the machine can read them.
 */
export function storeConfigFromEnv(home: string, env: Record<string, string | undefined> = process.env): StoreConfig {
  const config: StoreConfig = { home };
  if (env.CTXSYNC_PG_URL) config.postgresUrl = env.CTXSYNC_PG_URL;
  if (env.CTXSYNC_S3_BUCKET) {
    const s3: S3Location = { bucket: env.CTXSYNC_S3_BUCKET };
    if (env.CTXSYNC_S3_PREFIX) s3.prefix = env.CTXSYNC_S3_PREFIX;
    if (env.CTXSYNC_S3_ENDPOINT) s3.endpoint = env.CTXSYNC_S3_ENDPOINT;
    if (env.CTXSYNC_S3_REGION) s3.region = env.CTXSYNC_S3_REGION;
    if (env.CTXSYNC_S3_PATH_STYLE) s3.forcePathStyle = parseBoolean(env.CTXSYNC_S3_PATH_STYLE, "CTXSYNC_S3_PATH_STYLE");
    config.s3 = s3;
  } else {
    for (const name of ["CTXSYNC_S3_PREFIX", "CTXSYNC_S3_ENDPOINT", "CTXSYNC_S3_REGION", "CTXSYNC_S3_PATH_STYLE"]) {
      if (env[name]) throw new InvalidParameterError(`${name} is set but CTXSYNC_S3_BUCKET is not; set the bucket too, or unset ${name}.`);
    }
  }
  return config;
}

/** Opens the stores `config` names; on any failure closes what it opened. */
export async function openStores(config: StoreConfig): Promise<OpenedStores> {
  const meta = await openMetaStore(config);
  let client: S3Client | undefined;
  try {
    let blobs: BlobStore;
    let local: LocalDirBlobStore | undefined;
    if (config.s3) {
      // Loaded only when used (see store/index.ts).
      const [{ S3BlobStore }, { createS3Client }] = await Promise.all([import("../store/blob/s3.js"), import("../store/blob/s3-client.js")]);
      client = createS3Client(config.s3);
      // Unnamed uploads wait in the home's spool (a server clears it when it starts), not in /tmp.
      blobs = await S3BlobStore.open({ client, bucket: config.s3.bucket, prefix: config.s3.prefix, deletions: meta, spoolDir: path.join(config.home, "uploads") });
    } else {
      blobs = local = await LocalDirBlobStore.open(path.join(config.home, "blobs"));
    }
    const s3 = client;
    return {
      meta,
      blobs,
      close: async () => {
        try {
          await meta.close();
        } finally {
          s3?.destroy();
          await local?.close();
        }
      },
    };
  } catch (err) {
    client?.destroy();
    await meta.close();
    throw err;
  }
}

/** The metadata store alone (the `keys` command needs no blobs). */
export async function openMetaStore(config: StoreConfig): Promise<MetaStore> {
  if (config.postgresUrl) {
    // Loaded only when used (see store/index.ts).
    const { PostgresMetaStore } = await import("../store/meta/postgres.js");
    return PostgresMetaStore.open(config.postgresUrl);
  }
  makeDirsSync(config.home);
  return SqliteMetaStore.open(sqliteFileOf(config));
}

/** The SQLite file of an embedded store's metadata (unless PostgreSQL holds it). */
export function sqliteFileOf(config: Pick<StoreConfig, "home">): string {
  return path.join(config.home, "meta.db");
}

/** What the stores are, for a log line: never a password or key. */
export function describeStores(config: StoreConfig): string {
  const metaPart = `metadata ${describeMetaStore(config)}`;
  const blobPart = config.s3
    ? `blobs s3://${config.s3.bucket}/${config.s3.prefix ?? ""}${config.s3.endpoint ? ` at ${originOf(config.s3.endpoint)}` : ""}`
    : `blobs ${path.join(config.home, "blobs")}`;
  return `${metaPart}, ${blobPart}`;
}

/** Where the metadata is, for a message: never a password. */
export function describeMetaStore(config: StoreConfig): string {
  return config.postgresUrl ? redactedPostgres(config.postgresUrl) : sqliteFileOf(config);
}

function redactedPostgres(url: string): string {
  try {
    return `postgresql://${postgresTarget(parsePostgresUrl(url))}`;
  } catch {
    // Not a URL the store takes (it refuses to start on it): it may hold a password anywhere.
    return "PostgreSQL";
  }
}

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return "(endpoint)";
  }
}

/** "true"/"1" or "false"/"0", as a setting named `name` takes it. */
export function parseBoolean(text: string, name: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new InvalidParameterError(`${name} must be true or false; got ${JSON.stringify(text)}.`);
}
