import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import type { S3Location } from "../../src/service/index.js";
import { startTestPostgres } from "./postgres-server.js";
import { startTestS3 } from "./s3-server.js";

/** A database and a bucket of their own, for one server; drop() removes both. */
export interface FreshStores {
  postgresUrl: string;
  s3: S3Location;
  drop(): Promise<void>;
}

/**
 * Registers beforeAll/afterAll running one PostgreSQL server (or $PG_URL's) and one S3 server on loopback
 * for the file; fresh() gives each test an empty database and bucket on them, as a replica set would use.
 */
export function useSharedStores(): { fresh(): Promise<FreshStores>; s3Client(): S3Client } {
  let postgres: Awaited<ReturnType<typeof startTestPostgres>> | undefined;
  let s3: Awaited<ReturnType<typeof startTestS3>> | undefined;
  beforeAll(async () => {
    [postgres, s3] = await Promise.all([startTestPostgres(), startTestS3()]);
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), s3?.stop()]);
  });
  return {
    s3Client() {
      if (!s3) throw new Error("useSharedStores: the S3 server did not start (see beforeAll)");
      return s3.client();
    },
    async fresh() {
      if (!postgres || !s3) throw new Error("useSharedStores: the servers did not start (see beforeAll)");
      const pgServer = postgres;
      const name = `t_${randomBytes(6).toString("hex")}`;
      await withAdmin(pgServer.url, (c) => c.query(`CREATE DATABASE ${name}`));
      const dropDatabase = () => withAdmin(pgServer.url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined);
      const bucket = name.replace("_", "-");
      try {
        await s3.createBucket(bucket);
      } catch (err) {
        await dropDatabase();
        throw err;
      }
      const url = new URL(pgServer.url);
      url.pathname = `/${name}`;
      return {
        postgresUrl: url.toString(),
        s3: { bucket, endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials },
        // The server closed its pool before this runs; FORCE ends any connection a test left behind.
        drop: dropDatabase,
      };
    },
  };
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
