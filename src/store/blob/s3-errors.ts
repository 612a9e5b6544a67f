import { S3ServiceException } from "@aws-sdk/client-s3";
import { describeError, StoreUnavailableError } from "../../errors/index.js";

/*
 * How S3BlobStore turns what the AWS SDK throws into ctxsync errors: callers never see an SDK error, only
 * BlobNotFoundError (raised by the store) or a StoreUnavailableError carrying the SDK error as `cause`.
 */

/**
 * True when S3 said the object is not there: NoSuchKey (GET, copy) or a bare 404 NotFound (HEAD answers
 * carry no body to say more). A missing bucket is NoSuchBucket, a store failure, except on HEAD where
 * S3 cannot tell the two apart.
 */
export function isMissingObject(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === "NoSuchKey" || err.name === "NotFound");
}

/** A failure of the store itself, naming the S3 operation and key: code StoreUnavailable, SDK error as cause. */
export function s3Failure(operation: string, bucket: string, key: string, err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(
    `S3 ${operation} of s3://${bucket}/${key} failed: ${describeS3Error(err)}. Check that the S3 endpoint is reachable and the bucket still exists; the operation can be retried.`,
    { cause: err },
  );
}

/** True for the errors of s3Failure: the store failed, as opposed to one item of a batch. */
export function isStoreFailure(err: unknown): boolean {
  return err instanceof StoreUnavailableError;
}

/**
 * Why `open` could not use the bucket, and what to check. `endpoint` is host and port only, so a URL with
 * user info never reaches a message; the SDK's messages never contain the secret key.
 */
export function bucketUnusable(bucket: string, endpoint: string | undefined, err: unknown): StoreUnavailableError {
  const where = endpoint === undefined ? `S3 bucket "${bucket}"` : `S3 bucket "${bucket}" at ${endpoint}`;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const hint =
    status === 404
      ? "the bucket does not exist; create it, or check the bucket name and the endpoint"
      : status === 403 || status === 401
        ? "access was denied; check the credentials (access key id and secret key) and that they may use this bucket"
        : "check the endpoint URL (and that the server is running), the credentials, and that the bucket exists";
  return new StoreUnavailableError(`${where} is not usable (${describeS3Error(err)}): ${hint}.`, { cause: err });
}

/** One line for an SDK or network error: the S3 error code with its HTTP status, or the Node error's message. */
function describeS3Error(err: unknown): string {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    // HEAD errors have no body, so the SDK's message is only "UnknownError": the code and status say more.
    const message = err.message && err.message !== "UnknownError" && err.message !== err.name ? `: ${err.message}` : "";
    return `${err.name}${status === undefined ? "" : ` (HTTP ${status})`}${message}`;
  }
  return describeError(err);
}
