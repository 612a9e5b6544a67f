import { EvalThread } from "../store/index.js";
import { FRAME_FILES_CODE } from "./frame-files-code.js";
import { PLAIN_HTTP_CODE } from "./plain-http-code.js";

/**
 * A thread that runs requests whose answers go straight into new files: ApiClient.download hands it
 * the agent's large blobs, so they stream at the disk's and the network's pace instead of the main
 * thread's (there, a large answer moved one socket buffer per turn of an event loop busy creating
 * small files: two 100 MB files got ~15 MB/s each, docs/benchmarks.md); and ApiClient.fetchFramesIntoFiles
 * its small-blob fetches, whose frames it writes into files as they arrive, leaving the main thread
 * only the files' placing. Receiving 10,000 frames through node:http and async iteration cost the
 * main thread more CPU than writing the files.
 *
 * The thread only moves bytes and reports what happened; ApiClient decides what an answer means (its
 * errors, its codes). Its code is the string below (an EvalThread). One thread per client, started on
 * first use; it does not keep the process alive while idle, and `stop` ends it. A thread that dies
 * fails the downloads waiting on it (ThreadStoppedError); the next download starts a new one.
 */
export class DownloadThread {
  private readonly thread = new EvalThread<DownloadAnswer | FramesAnswer, { bytes: number }>("download", THREAD_CODE);

  /**
   * Runs `req`: a 2xx answer's body goes to a new file at `req.target` (created exclusively; removed
   * again if the transfer fails after creating it), other answers are read (bounded) and returned.
   * `onBytes` hears of the bytes received, about a MiB at a time. An aborted `signal` stops the transfer;
   * the answer then says how it ended, after the file is removed. Rejects with ThreadUnavailableError
   * when no thread can be started here, ThreadStoppedError when it dies.
   */
  download(req: DownloadRequest, onBytes: (n: number) => void, signal?: AbortSignal): Promise<DownloadAnswer> {
    return this.run({ ...req, kind: "file" }, onBytes, signal) as Promise<DownloadAnswer>;
  }

  /**
   * Runs a blob fetch (http: or https:): its 2xx answer of blob frames goes into new files
   * as it arrives (see frame-files-code.ts for the outcomes), other answers are read and returned.
   * Progress, stopping and rejections as `download`.
   */
  fetchFrames(req: FramesRequest, onBytes: (n: number) => void, signal?: AbortSignal): Promise<FramesAnswer> {
    return this.run({ ...req, kind: "frames" }, onBytes, signal) as Promise<FramesAnswer>;
  }

  private async run(req: object, onBytes: (n: number) => void, signal?: AbortSignal): Promise<DownloadAnswer | FramesAnswer> {
    const { id, answer } = this.thread.call(req, { onNote: (note) => onBytes(note.bytes) });
    const cancel = () => this.thread.post({ cancel: id });
    signal?.addEventListener("abort", cancel, { once: true });
    if (signal?.aborted) cancel();
    try {
      return await answer;
    } finally {
      signal?.removeEventListener("abort", cancel);
    }
  }

  /** Stops the thread, if one runs: downloads waiting on it fail (ThreadStoppedError); the next starts a new one. */
  stop(): Promise<void> {
    return this.thread.stop();
  }
}

/** One GET for the thread. The headers carry the credential: they stay in this process. */
export interface DownloadRequest {
  url: string;
  headers: Record<string, string>;
  /** Where a 2xx answer's body goes: a file created anew (it must not exist). */
  target: string;
  /** Longest the transfer may go without a byte either way. */
  idleTimeoutMs: number;
  /** Longest part of a non-2xx answer's body kept. */
  maxErrorBodyBytes: number;
}

/** An error as the thread reports it (errors do not cross threads whole). */
export interface ThreadError {
  message: string;
  code?: string;
}

/** The Error a ThreadError stands for, its code kept. */
export function errorFromThread(e: ThreadError): Error {
  return Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
}

/** How a download ended. */
export type DownloadAnswer =
  /** A 2xx answer, whole in the file. */
  | { status: number; saved: true }
  /** Any other answer, with (the start of) its body; no file was created. */
  | { status: number; saved: false; statusText: string; requestId: string; body: string }
  /** No answer ("request": the connection failed, or was stopped, before one came) or one cut short ("body"). */
  | { failed: "request" | "body"; error: ThreadError };

/** A blob fetch for the thread: POST `body` (the digests, as JSON) to `url`, the frames into `targets`. */
export interface FramesRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The digests asked for, in order: the answer has one frame for each. */
  digests: readonly string[];
  /** The new files of each digest. */
  targets: readonly (readonly string[])[];
  /** Largest blob a frame may carry. */
  maxBlobBytes: number;
  idleTimeoutMs: number;
  maxErrorBodyBytes: number;
}

/** How one file of a blob fetch ended: written whole (null), the server's word on its blob, or its own failure. */
export type FrameOutcome = null | { status: "notFound" | "unreadable" } | { error: ThreadError };

/** How a blob fetch ended; `outcomes[i][k]` is targets[i][k]'s (undefined: its frame never came). */
export type FramesAnswer =
  | { status: number; saved: true; outcomes: FrameOutcome[][] }
  | { status: number; saved: false; statusText: string; requestId: string; body: string }
  /** As a download's, and "answer": an answer that broke the frame rules (the error says how). */
  | { failed: "request" | "body" | "answer"; error: ThreadError; outcomes?: (FrameOutcome[] | undefined)[] };

/**
 * The thread: one request per message (a GET into one file, or a blob fetch into many), a connection
 * each (as ApiClient.stream), bodies into files opened with "wx", through plainHttpRequest (HTTP or
 * HTTPS; a reused 1 MiB read buffer, synchronous writes). Progress goes out a MiB at a time: a message
 * per socket chunk would cost the main thread more than the chunk. A request that fails after the
 * answer started removes what it created before answering.
 */
const THREAD_CODE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const PROGRESS_BYTES = 1 << 20;
const requests = new Map();
parentPort.on("message", (m) => {
  if (m.cancel !== undefined) {
    const cancel = requests.get(m.cancel);
    if (cancel) cancel(Object.assign(new Error("The download was stopped."), { code: "ABORT_ERR" }));
    return;
  }
  try {
    download(m);
  } catch (err) {
    // A request that could not even be made (a malformed URL or header): its answer, not the thread's end.
    parentPort.postMessage({ id: m.id, answer: { failed: "request", error: describe(err) } });
  }
});
function describe(err) {
  return { message: String((err && err.message) || err), code: err && typeof err.code === "string" ? err.code : undefined };
}
function download(m) {
  const io = {
    progress: (bytes) => parentPort.postMessage({ id: m.id, bytes }),
    finish: (answer) => {
      requests.delete(m.id);
      parentPort.postMessage({ id: m.id, answer });
    },
    register: (cancel) => requests.set(m.id, cancel),
  };
  const req = { ...m, method: m.kind === "frames" ? "POST" : "GET" };
  plainHttpRequest(req, () => (m.kind === "frames" ? frameFilesSink(m, io) : fileSink(m.target, io)), io);
}
${PLAIN_HTTP_CODE}
${FRAME_FILES_CODE}`;
