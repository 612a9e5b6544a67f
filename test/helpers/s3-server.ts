import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { s3ClientConfig } from "../../src/store/blob/s3-client.js";

/** A running s3rver (an S3 server storing objects in a directory) for tests, on 127.0.0.1. */
export interface TestS3 {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  /** s3rver's only account. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where s3rver keeps the buckets: `<dir>/<bucket>/<key>._S3rver_object` and metadata beside it. */
  dir: string;
  createBucket(name: string): Promise<void>;
  /** Removes a bucket and everything in it, straight from disk (s3rver refuses to delete a non-empty bucket). */
  removeBucket(name: string): Promise<void>;
  /**
   * A client for this server; `overrides` win (e.g. `{ maxAttempts: 1 }`). Clients made here are destroyed by
   * `stop()`, so a test need not.
   */
  client(overrides?: Partial<S3ClientConfig>): S3Client;
  /** The file holding an object's bytes: `objectPath("b", "x/y")` → `<dir>/b/x/y._S3rver_object`. */
  objectPath(bucket: string, key: string): string;
  /**
   * Sets an object's Last-Modified, as if it had been written at `ms`: S3 has no call for that, and s3rver
   * reports the mtime of the object's file.
   */
  setLastModified(bucket: string, key: string, ms: number): Promise<void>;
  /** Stops the server, destroys the clients made by `client()` and removes `dir`. */
  stop(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
/** s3rver's continuation tokens name this region and it refuses tokens naming another. */
const REGION = "us-east-1";
const STARTUP_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 5_000;

/**
 * Runs in the child: starts s3rver on 127.0.0.1 (port 0), prints `{"port":…}` and exits when stdin closes
 * (the parent stopped it, or died). Objects copied onto themselves get a fresh mtime, as real S3 gives them
 * a fresh Last-Modified; s3rver rewrites only their metadata file, and stores rely on the S3 behaviour to
 * refresh a blob (BlobStore.touch).
 */
const CHILD_SCRIPT = `
const [s3rverPath, directory] = process.argv.slice(1);
const S3rver = require(s3rverPath);
const fs = require("fs");
const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true, vhostBuckets: false });
const store = server.store;
const copyObject = store.copyObject.bind(store);
store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
  const metadata = await copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
  if (srcBucket !== destBucket || srcKey !== destKey) return metadata;
  const now = new Date();
  await fs.promises.utimes(store.getResourcePath(destBucket, destKey, "object"), now, now);
  return store.getMetadata(destBucket, destKey);
};
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
server.run().then(
  ({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"),
  (err) => { console.error(err); process.exit(1); },
);
`;

/**
 * Starts s3rver with an empty temp directory, listening on 127.0.0.1 only, silent.
 *
 * It runs in a child process because s3rver encrypts ListObjectsV2 continuation tokens with DES, which
 * Node 17+ (OpenSSL 3) refuses without `--openssl-legacy-provider`: in-process, every listing longer than
 * one page would fail. The child also keeps s3rver's synchronous file calls off the test's event loop.
 */
export async function startTestS3(): Promise<TestS3> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-s3rver-"));
  const s3rverPath = createRequire(import.meta.url).resolve("s3rver");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD_SCRIPT, s3rverPath, dir], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let port: number;
  try {
    port = await readPort(child);
  } catch (err) {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // Drain stderr from here on, so a chatty child never blocks on a full pipe.
  child.stderr?.resume();

  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  const client = (overrides: Partial<S3ClientConfig> = {}): S3Client => {
    // The configuration the server uses (checksums only where S3 requires them, timeouts, path style).
    const c = new S3Client({ ...s3ClientConfig({ bucket: "", endpoint, region: REGION, credentials: CREDENTIALS }), ...overrides });
    clients.push(c);
    return c;
  };
  const admin = client();
  const objectPath = (bucket: string, key: string): string => {
    const parts = key.split("/");
    const name = parts.pop() ?? "";
    return path.join(dir, bucket, ...parts, `${name}._S3rver_object`);
  };

  return {
    endpoint,
    region: REGION,
    credentials: { ...CREDENTIALS },
    dir,
    createBucket: async (name) => {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    removeBucket: async (name) => {
      await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
    },
    client,
    objectPath,
    setLastModified: async (bucket, key, ms) => {
      const when = new Date(ms);
      await fs.promises.utimes(objectPath(bucket, key), when, when);
    },
    stop: async () => {
      for (const c of clients.splice(0)) c.destroy();
      await stopChild(child);
      await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the child's `{"port":…}` line; rejects with its stderr if it exits or stays silent first. */
function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`s3rver did not start: ${why}${err ? `\n${err}` : ""}`));
    };
    const timer = setTimeout(() => fail(`no port after ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("exit", (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
    child.once("error", (e) => fail(e.message));
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (line === undefined || !out.includes("\n")) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      resolve((JSON.parse(line) as { port: number }).port);
    };
    child.stdout?.on("data", onData);
  });
}

/** Closes the child's stdin (it exits on that) and waits; kills it if it has not gone after a while. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
