import fs from "node:fs";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { InvalidParameterError } from "../errors/index.js";
import { LocalDirBlobStore, SqliteMetaStore, type BlobStore, type MetaStore } from "../store/index.js";
import type { Stores } from "./embedded-stores.js";

/** Where an S3-compatible bucket is. Credentials come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID …). */
export interface S3Location {
  bucket: string;
  /** Key prefix for everything ctxsync writes, e.g. "ctxsync/"; default none. */
  prefix?: string;
  /** Endpoint of a non-AWS store (MinIO, OSS, R2, Ceph RGW); default AWS for `region`. */
  endpoint?: string;
  /** Default $AWS_REGION, else us-east-1 (most S3-compatible stores ignore it). */
  region?: string;
  /** Bucket in the path (`endpoint/bucket/key`), as MinIO and most self-hosted stores need; default true with an endpoint. */
  forcePathStyle?: boolean;
  /** For programs that hold credentials themselves; default the SDK's chain (environment, profile, role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

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

/** Opened stores, and what closes them (the metadata connection, the S3 client). */
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
    if (config.s3) {
      // Loaded only when used (see store/index.ts).
      const { S3BlobStore } = await import("../store/blob/s3.js");
      client = await s3Client(config.s3);
      blobs = await S3BlobStore.open({ client, bucket: config.s3.bucket, prefix: config.s3.prefix });
    } else {
      blobs = await LocalDirBlobStore.open(path.join(config.home, "blobs"));
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
  fs.mkdirSync(config.home, { recursive: true });
  return SqliteMetaStore.open(path.join(config.home, "meta.db"));
}

/** What the stores are, for a log line: never a password or key. */
export function describeStores(config: StoreConfig): string {
  const metaPart = config.postgresUrl ? `metadata ${redactedPostgres(config.postgresUrl)}` : `metadata ${path.join(config.home, "meta.db")}`;
  const blobPart = config.s3
    ? `blobs s3://${config.s3.bucket}/${config.s3.prefix ?? ""}${config.s3.endpoint ? ` at ${originOf(config.s3.endpoint)}` : ""}`
    : `blobs ${path.join(config.home, "blobs")}`;
  return `${metaPart}, ${blobPart}`;
}

async function s3Client(s3: S3Location): Promise<S3Client> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    region: s3.region ?? process.env.AWS_REGION ?? "us-east-1",
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle ?? s3.endpoint !== undefined,
    ...(s3.credentials ? { credentials: s3.credentials } : {}),
  });
}

function redactedPostgres(url: string): string {
  try {
    const u = new URL(url);
    return `postgresql://${u.host}${u.pathname}`;
  } catch {
    // Not a URL (a libpq key=value string, say): it may hold a password anywhere, so name no part of it.
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

function parseBoolean(text: string, name: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new InvalidParameterError(`${name} must be true or false; got ${JSON.stringify(text)}.`);
}
