import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { describeStores, storeConfigFromEnv } from "./store-config.js";

describe("storeConfigFromEnv", () => {
  it("is the embedded store in home when nothing is set", () => {
    expect(storeConfigFromEnv("/data", {})).toEqual({ home: "/data" });
  });

  it("reads PostgreSQL and every S3 setting", () => {
    const env = {
      CTXSYNC_PG_URL: "postgresql://u:pw@db:5432/ctx",
      CTXSYNC_S3_BUCKET: "blobs",
      CTXSYNC_S3_PREFIX: "ctxsync/",
      CTXSYNC_S3_ENDPOINT: "http://minio:9000",
      CTXSYNC_S3_REGION: "eu-1",
      CTXSYNC_S3_PATH_STYLE: "false",
    };
    expect(storeConfigFromEnv("/data", env)).toEqual({
      home: "/data",
      postgresUrl: "postgresql://u:pw@db:5432/ctx",
      s3: { bucket: "blobs", prefix: "ctxsync/", endpoint: "http://minio:9000", region: "eu-1", forcePathStyle: false },
    });
  });

  it("refuses S3 settings without a bucket, naming what to set", () => {
    expect(() => storeConfigFromEnv("/data", { CTXSYNC_S3_ENDPOINT: "http://minio:9000" })).toThrow(InvalidParameterError);
    expect(() => storeConfigFromEnv("/data", { CTXSYNC_S3_ENDPOINT: "http://minio:9000" })).toThrow(/CTXSYNC_S3_ENDPOINT is set but CTXSYNC_S3_BUCKET is not/);
  });

  it("refuses a path-style setting that is not a boolean", () => {
    expect(() => storeConfigFromEnv("/data", { CTXSYNC_S3_BUCKET: "b", CTXSYNC_S3_PATH_STYLE: "yes" })).toThrow(/CTXSYNC_S3_PATH_STYLE must be true or false/);
  });
});

describe("describeStores", () => {
  it("names the embedded files", () => {
    expect(describeStores({ home: "/data" })).toBe("metadata /data/meta.db, blobs /data/blobs");
  });

  it("never shows a password or a credential", () => {
    const text = describeStores({
      home: "/data",
      postgresUrl: "postgresql://ctx:hunter2@db.internal:5432/ctx?sslmode=require",
      s3: { bucket: "b", prefix: "p/", endpoint: "http://key:secret@minio:9000/", credentials: { accessKeyId: "AKIA1", secretAccessKey: "s3cret" } },
    });
    expect(text).toBe("metadata postgresql://db.internal:5432/ctx, blobs s3://b/p/ at http://minio:9000");
    for (const secret of ["hunter2", "secret", "AKIA1", "s3cret", "sslmode"]) expect(text).not.toContain(secret);
  });

  it("names no part of a PostgreSQL setting that is not a URL, or whose password would read as host or port", () => {
    expect(describeStores({ home: "/d", postgresUrl: "host=db password=hunter2" })).toBe("metadata PostgreSQL, blobs /d/blobs");
    expect(describeStores({ home: "/d", postgresUrl: "postgres://u:1234#x@db/ctx" })).toBe("metadata PostgreSQL, blobs /d/blobs");
  });
});
