import { StoreUnavailableError } from "../../errors/index.js";
import type { IngestResult } from "../blob-store.js";
import { EvalThread, ThreadStoppedError } from "../eval-thread.js";

/**
 * A thread that hashes small blobs and stores them in a local-dir layout (temp file, then rename into
 * `<dir>/<first two hex>/<digest>`): LocalDirBlobStore.ingestMany hands it the blobs a server receives
 * unnamed, so that the server's event loop goes on parsing requests on one core while this thread
 * hashes and writes on another (measured on 2 CPUs: remote uploads about a tenth faster when the
 * machine's second core is free; the same when it is not).
 *
 * The thread's code is the string below (an EvalThread). One thread per store, started on first use; it
 * does not keep the process alive while idle. A thread that dies fails the calls waiting on it
 * (StoreUnavailable) and is started again by the next.
 */
export class BlobWriterThread {
  private readonly thread: EvalThread<WorkerAnswer>;
  /**
   * Transfer buffers the thread handed back, for the next calls: the blobs are copied into memory the
   * process already has. A new buffer per call costs the copy's every page as a fresh page fault (about
   * 2,000 per 8 MiB chunk of a server's upload, and more where a VM's host hands memory back lazily).
   */
  private readonly spare: ArrayBuffer[] = [];
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(dir: string, tmpDir: string) {
    this.thread = new EvalThread("blob writer", THREAD_CODE, { dir, tmpDir });
  }

  /**
   * Hashes and stores each blob (each written anew, as LocalDirBlobStore.ingestMany promises). A blob the
   * disk refuses (full, read-only, permissions) is the store failing: the call rejects with
   * StoreUnavailable, naming the error code but not the server's paths (those go in its cause, for the
   * server's log); the blobs before it stay stored. ThreadUnavailableError when no thread can be started
   * (code generation disallowed): the caller stores on its own thread instead.
   */
  async ingest(blobs: readonly Buffer[]): Promise<IngestResult[]> {
    // One transferable copy of the lot: the blobs are views into the request's socket chunks.
    const total = blobs.reduce((n, b) => n + b.length, 0);
    const buf = this.takeBuffer(total);
    const all = Buffer.from(buf);
    let offset = 0;
    for (const b of blobs) offset += b.copy(all, offset);
    const { answer } = this.thread.call({ buf, sizes: blobs.map((b) => b.length) }, { transfer: [buf] });
    const { results, buf: returned } = await answer.catch((err: unknown) => {
      if (err instanceof ThreadStoppedError) {
        throw new StoreUnavailableError(`The blob store's writer thread stopped (${(err.cause as Error).message}); the blobs it was storing were not stored. Try again.`);
      }
      throw err;
    });
    this.keep(returned);
    return results.map((r, i) => {
      if (typeof r === "string") return { digest: r, sizeBytes: blobs[i]!.length };
      throw blobWriteFailure(Object.assign(new Error(r.message), { code: r.code }));
    });
  }

  /** A spare buffer that holds `bytes`, or a new one (whole MiBs, so that it fits later calls too). */
  private takeBuffer(bytes: number): ArrayBuffer {
    const i = this.spare.findIndex((b) => b.byteLength >= bytes);
    return i >= 0 ? this.spare.splice(i, 1)[0]! : new ArrayBuffer(Math.ceil(Math.max(bytes, 1) / MIB) * MIB);
  }

  /**
   * Keeps a buffer the thread handed back. The spares go SPARE_IDLE_MS after the last one came back
   * (each return starts the wait again): an idle server holds no transfer memory.
   */
  private keep(buf: ArrayBuffer): void {
    if (this.spare.length < MAX_SPARE_BUFFERS && buf.byteLength <= MAX_SPARE_BYTES) this.spare.push(buf);
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => (this.spare.length = 0), SPARE_IDLE_MS);
    this.releaseTimer.unref();
  }

  /** Stops the thread: calls waiting on it fail (StoreUnavailable); the next call starts a new one. */
  stop(): Promise<void> {
    clearTimeout(this.releaseTimer);
    this.spare.length = 0;
    return this.thread.stop();
  }
}

/**
 * A blob the disk refused (full, read-only, permissions): the store failing, named by its error code.
 * The message leaves out the server's paths, which an agent would see; `cause` keeps them for the log.
 */
export function blobWriteFailure(cause: unknown): StoreUnavailableError {
  const code = (cause as NodeJS.ErrnoException | null)?.code ?? "error";
  return new StoreUnavailableError(`The blob store could not write a blob (${code}); its operator should check the store's disk: space, permissions, a read-only mount.`, { cause });
}

/** A stored blob's digest, or why it was not stored. */
type WorkerResult = string | { code: string | undefined; message: string };

/** The thread's answer: a result per blob, and the call's buffer handed back for reuse. */
interface WorkerAnswer {
  results: WorkerResult[];
  buf: ArrayBuffer;
}

const MIB = 1 << 20;
/** Spare transfer buffers kept: a call being filled and two being stored (blob-batches' chunks in flight). */
const MAX_SPARE_BUFFERS = 3;
/** Larger buffers are not kept: the callers' chunks are about 8 MiB. */
const MAX_SPARE_BYTES = 16 * MIB;
/** How long spare buffers outlive the last call. */
const SPARE_IDLE_MS = 2_000;

/**
 * The thread: per message, the blobs (one buffer and their sizes) are hashed and each written to a temp
 * file in tmpDir, then renamed into its shard, made when missing; the buffer goes back with the answer.
 * Temp names start with "w" and the thread id, apart from the main thread's (uniqueName). Per-blob
 * failures are results.
 */
const THREAD_CODE = `
const { parentPort, workerData, threadId } = require("node:worker_threads");
const { createHash, randomBytes } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const prefix = "w" + threadId + "-" + randomBytes(4).toString("hex") + "-";
let counter = 0;
function store(bytes) {
  const digest = createHash("sha256").update(bytes).digest("hex");
  const tmp = workerData.tmpDir + path.sep + prefix + (counter++).toString(36);
  const finalPath = workerData.dir + path.sep + digest.slice(0, 2) + path.sep + digest;
  try {
    fs.writeFileSync(tmp, bytes, { flag: "wx" });
    try {
      fs.renameSync(tmp, finalPath);
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
      // First blob of this shard: its directory, in the store's (which exists), then once more.
      try {
        fs.mkdirSync(path.dirname(finalPath));
      } catch (e) {
        if (e.code !== "EEXIST") throw e;
      }
      fs.renameSync(tmp, finalPath);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return digest;
}
parentPort.on("message", ({ id, buf, sizes }) => {
  const all = Buffer.from(buf);
  const results = [];
  let offset = 0;
  for (const size of sizes) {
    const bytes = all.subarray(offset, offset + size);
    offset += size;
    try {
      results.push(store(bytes));
    } catch (err) {
      results.push({ code: err && err.code, message: String(err && err.message || err) });
    }
  }
  parentPort.postMessage({ id, answer: { results, buf } }, [buf]);
});
`;
