import { createHash } from "node:crypto";
import fs from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pipeline as pipelineCb } from "node:stream";
import { apiPaths } from "../api/index.js";
import { BlobDigestMismatchError, BlobNotFoundError, InvalidParameterError } from "../errors/index.js";
import {
  isDigest,
  verifyingStream,
  type BlobStore,
  type Digest,
  type FetchItem,
  type IngestItem,
  type IngestResult,
  type ProgressFn,
  type StoredBlob,
} from "../store/index.js";
import type { ApiClient } from "./api-client.js";
import { mapConcurrent } from "./map-concurrent.js";
import { RemoteApiError } from "./remote-api-error.js";

export interface RemoteBlobStoreOptions {
  /**
   * Blob transfers in flight at once. Default 8: enough to hide the round trips of many small files on a
   * wide link, few enough that one agent does not monopolise the server's upload slots.
   */
  concurrency?: number;
  /** Aborts every transfer in flight (the agent is stopping). */
  signal?: AbortSignal;
}

/** Read size when hashing and sending files: bounded memory whatever the file size. */
const CHUNK_BYTES = 1 << 20;

/**
 * The blob store as an agent sees it: `/v1/agent/blobs/{digest}` over HTTP (session token).
 * Everything streams; no file is ever held in memory whole. Bytes are hashed here on the way out
 * (ingest) and on the way in (get, fetch), and the server verifies what it receives.
 *
 * - `has` and `touch` are one HEAD: the server refreshes a blob an agent asks about, because an agent
 *   asks only about blobs it is about to reference (the GC rule of BlobStore). So ingest skips a blob the
 *   server already has and GC still keeps it.
 * - `flush` does nothing: the server makes a blob durable before it acknowledges the PUT.
 * - `list` and `delete` throw: agents never collect garbage; the server does.
 * Failures of the server (unreachable, 5xx, a revoked token) reject whole calls; per-file failures
 * (a vanished file, bytes that changed while sent) are per-item results, as the contract says.
 */
export class RemoteBlobStore implements BlobStore {
  private readonly concurrency: number;
  private readonly signal: AbortSignal | undefined;

  constructor(
    private readonly api: ApiClient,
    opts: RemoteBlobStoreOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.signal = opts.signal;
  }

  async has(digest: Digest): Promise<boolean> {
    checkDigest(digest);
    const res = await this.api.request("HEAD", apiPaths.agentBlob(digest), { accept: [404], signal: this.signal });
    await res.body?.cancel();
    return res.status !== 404;
  }

  /** HEAD, which the server answers by refreshing the blob (see the class comment). */
  touch(digest: Digest): Promise<boolean> {
    return this.has(digest);
  }

  async put(digest: Digest, body: Readable, sizeBytes: number): Promise<void> {
    checkDigest(digest);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidParameterError(`sizeBytes must be a whole number of bytes; got ${sizeBytes}.`);
    await this.send(digest, body, sizeBytes, () => undefined);
  }

  async get(digest: Digest): Promise<Readable> {
    checkDigest(digest);
    const res = await this.api.request("GET", apiPaths.agentBlob(digest), { accept: [404], signal: this.signal });
    if (res.status === 404 || !res.body) {
      await res.body?.cancel();
      throw new BlobNotFoundError(digest);
    }
    const source = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    // pipeline (not pipe) so that a broken connection errors the stream the caller reads.
    return pipelineCb(source, verifyingStream(digest), () => undefined);
  }

  async ingestFiles(items: readonly IngestItem[], onProgress?: ProgressFn): Promise<IngestResult[]> {
    return mapConcurrent(items, this.concurrency, async (item) => {
      try {
        return await this.ingestOne(item, onProgress ?? (() => undefined));
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        return { error: err instanceof Error ? err : new Error(String(err)) };
      }
    });
  }

  async fetchFiles(items: readonly FetchItem[], onProgress?: ProgressFn): Promise<(Error | null)[]> {
    return mapConcurrent(items, this.concurrency, async (item) => {
      try {
        await this.fetchOne(item, onProgress ?? (() => undefined));
        return null;
      } catch (err) {
        if (isStoreFailure(err)) throw err;
        return err instanceof Error ? err : new Error(String(err));
      }
    });
  }

  async flush(): Promise<void> {}

  async delete(digest: Digest): Promise<boolean> {
    checkDigest(digest);
    throw new Error("An agent's blob store cannot delete blobs: only the server collects garbage (ctxsync gc).");
  }

  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<StoredBlob> {
    throw new Error("An agent's blob store cannot list blobs: only the server collects garbage (ctxsync gc).");
  }

  /** Hashes the file, asks whether the server has it, and sends it when not; from one open descriptor. */
  private async ingestOne(item: IngestItem, onProgress: ProgressFn): Promise<{ digest: Digest; sizeBytes: number }> {
    // O_NOFOLLOW: a file swapped for a symlink after the scan must not pull outside data into the context.
    const handle = await fs.promises.open(item.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const hash = createHash("sha256");
      let sizeBytes = 0;
      for await (const chunk of handle.createReadStream({ start: 0, highWaterMark: CHUNK_BYTES, autoClose: false })) {
        hash.update(chunk as Buffer);
        sizeBytes += (chunk as Buffer).length;
      }
      const digest = hash.digest("hex");
      if (await this.touch(digest)) {
        onProgress(sizeBytes);
        return { digest, sizeBytes };
      }
      // The same descriptor, read again up to the size hashed: the server checks the bytes against the digest,
      // so a file that changed in between fails this item rather than storing something else.
      const body = sizeBytes === 0 ? Readable.from([]) : handle.createReadStream({ start: 0, end: sizeBytes - 1, highWaterMark: CHUNK_BYTES, autoClose: false });
      await this.send(digest, body, sizeBytes, onProgress);
      return { digest, sizeBytes };
    } finally {
      await handle.close();
    }
  }

  private async fetchOne(item: FetchItem, onProgress: ProgressFn): Promise<void> {
    checkDigest(item.digest);
    const body = await this.get(item.digest);
    let created = false;
    try {
      const out = fs.createWriteStream(item.targetPath, { flags: "wx" });
      out.once("open", () => (created = true));
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            onProgress(chunk.length);
            yield chunk;
          }
        },
        out,
      );
    } catch (err) {
      body.destroy();
      // A file we did not create (EEXIST) is not ours to remove.
      if (created) fs.rmSync(item.targetPath, { force: true });
      throw err;
    }
  }

  /** PUTs exactly `sizeBytes` bytes of `body`, failing clearly when it has more or fewer. */
  private async send(digest: Digest, body: AsyncIterable<Buffer | Uint8Array>, sizeBytes: number, onProgress: ProgressFn): Promise<void> {
    let bodyError: Error | undefined;
    async function* counted(): AsyncIterable<Uint8Array> {
      let n = 0;
      for await (const chunk of body) {
        n += chunk.length;
        if (n > sizeBytes) throw (bodyError = new InvalidParameterError(`The body of blob ${digest} has more than the ${sizeBytes} bytes announced.`));
        onProgress(chunk.length);
        yield chunk;
      }
      if (n !== sizeBytes) throw (bodyError = new InvalidParameterError(`The body of blob ${digest} has ${n} bytes, not the ${sizeBytes} announced.`));
    }
    try {
      const res = await this.api.request("PUT", apiPaths.agentBlob(digest), {
        body: counted(),
        headers: { "content-type": "application/octet-stream", "content-length": String(sizeBytes) },
        signal: this.signal,
      });
      await res.body?.cancel();
    } catch (err) {
      if (bodyError) throw bodyError;
      if (err instanceof RemoteApiError && err.code === "BlobDigestMismatch") {
        throw new BlobDigestMismatchError(digest, /got ([0-9a-f]{64})/.exec(err.message)?.[1] ?? "(unknown)", "while sending a blob to the server");
      }
      throw err;
    }
  }
}

function checkDigest(digest: string): void {
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw new InvalidParameterError(`Invalid blob digest ${JSON.stringify(digest)}: expected 64 lower-case hex characters (SHA-256).`);
  }
}

/**
 * The server failed, not the item: unreachable, 5xx, the token refused (session released or lost), or
 * the agent stopping. Such errors end the whole call rather than failing every remaining file one by one.
 */
function isStoreFailure(err: unknown): boolean {
  if (err instanceof RemoteApiError) return err.httpStatus === 0 || err.httpStatus >= 500 || err.httpStatus === 401 || err.httpStatus === 403;
  return (err as { name?: string }).name === "AbortError";
}
