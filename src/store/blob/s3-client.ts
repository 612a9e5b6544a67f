import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/** Where an S3-compatible bucket is. Credentials come from the AWS SDK's usual chain unless given. */
export interface S3Location {
  bucket: string;
  /** Key prefix for everything ctxsync writes, e.g. "ctxsync/"; default none. */
  prefix?: string;
  /** Endpoint of a non-AWS store (MinIO, OSS, R2, Ceph RGW); default AWS. */
  endpoint?: string;
  /** Default: the SDK's ($AWS_REGION, the profile); with an endpoint $AWS_REGION, else us-east-1. */
  region?: string;
  /** Bucket in the path (`endpoint/bucket/key`), as MinIO and most self-hosted stores need; default true with an endpoint. */
  forcePathStyle?: boolean;
  /** For programs that hold credentials themselves; default the SDK's chain (environment, profile, role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** A connection that opens slower than this fails (the SDK's default is to wait forever). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A socket silent this long fails its request: a hung store, not a slow one (parts keep bytes moving). */
const SOCKET_IDLE_TIMEOUT_MS = 120_000;

/** The client configuration ctxsync uses for `location` (tests build their clients on it too). */
export function s3ClientConfig(location: S3Location): S3ClientConfig {
  const custom = location.endpoint !== undefined;
  return {
    // With an endpoint the SDK's profile lookup means nothing, but a store's own region (MINIO_REGION,
    // OSS's) must match the signature's; AWS itself finds the region the SDK's usual way.
    ...(location.region !== undefined ? { region: location.region } : custom ? { region: process.env.AWS_REGION || "us-east-1" } : {}),
    ...(custom ? { endpoint: location.endpoint } : {}),
    forcePathStyle: location.forcePathStyle ?? custom,
    // A bucket in another region than the one configured answers with a redirect the SDK can follow.
    followRegionRedirects: true,
    // The SDK's default adds CRC32 checksums (and aws-chunked bodies) that several S3-compatible stores
    // refuse or store verbatim; ctxsync checks SHA-256 itself, so only what S3 requires is sent.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
    ...(location.credentials ? { credentials: location.credentials } : {}),
  };
}

/** A client for `location`; the caller destroys it. */
export function createS3Client(location: S3Location): S3Client {
  return new S3Client(s3ClientConfig(location));
}
