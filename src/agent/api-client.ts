import fs from "node:fs";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { inspect } from "node:util";
import { InvalidParameterError } from "../errors/index.js";
import { ThreadStoppedError, ThreadUnavailableError } from "../store/index.js";
import { DownloadThread, errorFromThread, type FrameOutcome, type FramesAnswer, type ThreadError } from "./download-thread.js";
import { RemoteApiError } from "./remote-api-error.js";

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a stream needs `headers["content-length"]`). */
  body?: AsyncIterable<Uint8Array> | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses that are answers rather than errors (e.g. 404 for HEAD); 2xx always are. */
  accept?: readonly number[];
  /** Longest wait for the whole answer; default REQUEST_TIMEOUT_MS (a long poll passes its own). */
  timeoutMs?: number;
}

/**
 * Longest a JSON call may take, answer included. Generous (a commit of a few hundred thousand files takes
 * seconds), but finite: a connection that died silently (a rebooted host, a NAT that forgot the flow)
 * must fail the call, not hang it for good.
 */
const REQUEST_TIMEOUT_MS = 5 * 60_000;
/** Longest a bulk transfer (stream) may go without a byte in either direction. */
const STREAM_IDLE_TIMEOUT_MS = 60_000;

/**
 * A request body read from an open file: its first `sizeBytes` bytes (`what` names it in errors; a file
 * that holds fewer by now fails the request). `onBytes` hears of every chunk as it is sent.
 */
export interface FileBody {
  handle: fs.promises.FileHandle;
  sizeBytes: number;
  what: string;
  onBytes(n: number): void;
}

/** Buffers a file body is sent through, each reused once its last write reached the socket. */
const FILE_BODY_BUFFERS = 2;
const FILE_BODY_CHUNK_BYTES = 1 << 20;

/** Longest error body read: enough for any message of ours, bounded against a misbehaving proxy. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Write buffer of a download on this thread: the socket delivers 64 KiB at a time, and a small buffer
 * makes receiving and writing wait on each other chunk by chunk.
 */
const DOWNLOAD_BUFFER_BYTES = 1 << 20;

export interface ApiClientOptions {
  /**
   * Run `download` on a thread of its own (DownloadThread). Default true; false (or a runtime where no
   * thread can be started) downloads on the calling thread.
   */
  downloadThread?: boolean;
}

/** Options of `download`. */
export interface DownloadOptions {
  signal?: AbortSignal;
  /** Statuses that are answers rather than errors (e.g. 404); no file is created for them. */
  accept?: readonly number[];
  /** Hears of the bytes received: per socket chunk here, about a MiB at a time from the thread. */
  onBytes?: (n: number) => void;
}

/**
 * HTTP client of the ctxsync API (src/api), shared by the remote SDK (API key) and the agent (session
 * token): adds `Authorization: Bearer …`, sends and parses JSON, and turns error
 * answers into RemoteApiError with the server's code, message and request id. A server that cannot be
 * reached is a RemoteApiError with code `StoreUnavailable`; an aborted signal rejects with its AbortError.
 *
 * The token never leaves this object except in the Authorization header (also of the requests its
 * download thread sends, which lives in this process): it prints itself redacted, and error messages
 * name the server's origin, never a query string.
 */
export class ApiClient {
  readonly origin: string;
  readonly #base: string;
  readonly #token: string;
  /** Sent with every request (setHeader): the agent's attach number. */
  readonly #extraHeaders: Record<string, string> = {};
  /** Where `download` runs; undefined: on the calling thread. */
  #downloadThread: DownloadThread | undefined;

  constructor(endpoint: string, token: string, opts: ApiClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch (err) {
      throw new InvalidParameterError(`endpoint must be an http(s) URL such as http://127.0.0.1:8787; got ${JSON.stringify(endpoint)}.`, { cause: err });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InvalidParameterError(`endpoint must be an http(s) URL such as http://127.0.0.1:8787; got the ${url.protocol} scheme.`);
    }
    if (url.username !== "" || url.password !== "") {
      // The key is the credential; a password in the URL would only end up in logs and error messages.
      throw new InvalidParameterError(`endpoint must not hold a user name or password (${url.origin} is the server); authenticate with the API key or session token.`);
    }
    if (typeof token !== "string" || token === "") throw new InvalidParameterError("A remote client needs a non-empty apiKey (or session token).");
    // Checked here, not left to the first request, whose error would read as an unreachable server and
    // quote the whole key. Whitespace around it (a CRLF key file, a paste) is not part of any key; inside,
    // only what a header carries and keys hold (ApiKeyService's rule): no space or control character,
    // nothing beyond Latin-1.
    token = token.trim();
    if (!/^[\x21-\x7e\xa1-\xff]+$/.test(token)) {
      throw new InvalidParameterError(
        "The apiKey (or session token) holds a space, line break or other character a key never has (or one an HTTP header cannot carry); copy it again.",
      );
    }
    this.origin = url.origin;
    this.#base = url.href.replace(/\/+$/, "");
    this.#token = token;
    if (opts.downloadThread ?? true) this.#downloadThread = new DownloadThread();
  }

  /** Adds a header to every later request (the agent's attach number). */
  setHeader(name: string, value: string): void {
    this.#extraHeaders[name.toLowerCase()] = value;
  }

  /** Sends a request; resolves with the response when its status is 2xx or accepted, else rejects. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body: RequestInit["body"];
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      body = opts.body as RequestInit["body"];
    }
    let res: Response;
    const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
    try {
      res = await fetch(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal,
        // Streamed bodies go out as they are read; fetch requires saying so.
        ...(opts.body !== undefined && !(opts.body instanceof Uint8Array) ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      const wait = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
      const why = deadline.aborted ? `no answer within ${wait}` : describeFetchError(err);
      throw new RemoteApiError(
        "StoreUnavailable",
        `Cannot reach the ctxsync server at ${this.origin} (${method} ${path}): ${why}. Check the endpoint and that the server runs.`,
        "", // the server never saw the call
        0,
        { cause: err },
      );
    }
    if (res.ok || opts.accept?.includes(res.status)) return res;
    throw await errorOf(res, method, path, this.origin).catch((err: unknown) => this.brokenAnswer(method, path, res.status, err));
  }

  /**
   * A request whose body and answer are Node streams (node:http, not fetch): for bulk bytes, where
   * fetch's web streams copy every chunk. `body` needs `headers["content-length"]`; `json` is sent as JSON. Resolves with the
   * answer when its status is 2xx or accepted (the caller consumes or destroys it), else rejects as
   * `request` does.
   */
  async stream(
    method: string,
    path: string,
    opts: { body?: Readable | FileBody; json?: unknown; headers?: Record<string, string>; signal?: AbortSignal; accept?: readonly number[] } = {},
  ): Promise<IncomingMessage> {
    const url = new URL(this.url(path));
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const fail = (err: unknown): RemoteApiError => this.unreachable(method, path, err);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers = this.headers(opts.headers);
      const json = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
      if (json) Object.assign(headers, { "content-type": "application/json", "content-length": String(json.length) });
      // A connection per request (agent: false): stream() carries bulk transfers (a batch of blobs, a large
      // blob), where a connect costs nothing measurable, and a kept-alive socket the server is closing
      // just as we reuse it would fail a whole transfer with ECONNRESET.
      const req = send(url, { method, headers, signal: opts.signal, agent: false });
      // The socket's idle timer spans the answer too: a transfer that stalls either way fails, as a broken one does.
      req.setTimeout(STREAM_IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no data either way for ${STREAM_IDLE_TIMEOUT_MS / 1000} s`)));
      req.once("response", resolve);
      req.once("error", (err) => reject(opts.signal?.aborted ? (opts.signal.reason ?? err) : fail(err)));
      const body = opts.body;
      if (!body) return void req.end(json);
      // The body's own failure (a file that vanished) rejects with that error, not as an unreachable server.
      const bodyFailed = (err: Error) => {
        req.destroy();
        reject(err);
      };
      if (!(body instanceof Readable)) return void writeFileBody(req, body).catch(bodyFailed);
      body.once("error", bodyFailed);
      body.pipe(req);
    });
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || opts.accept?.includes(status)) return res;
    // The server answered before taking the whole body: stop reading it. (A file body stops when its
    // request closes: node:http closes a connection it did not keep alive once the answer is read.)
    if (opts.body instanceof Readable) opts.body.destroy();
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
    const answer = new Response(Readable.toWeb(res) as ReadableStream, { status, statusText: res.statusMessage ?? "", headers });
    throw await errorOf(answer, method, path, this.origin).catch((err: unknown) => this.brokenAnswer(method, path, status, err));
  }

  /**
   * GET `path` into a new file at `target` (created exclusively; removed again if the transfer fails
   * after creating it): for large blobs, on a thread of its own (DownloadThread), so that the bytes keep
   * flowing while this thread is busy. Resolves with the status when it is 2xx (the file is whole) or
   * accepted (no file). Rejects as `stream` does when the server cannot be reached or answers an error;
   * with the transfer's own error, code kept, when it fails midway (ECONNRESET: the answer was cut
   * short; EEXIST: `target` exists); with the signal's reason when stopped.
   */
  async download(path: string, target: string, opts: DownloadOptions = {}): Promise<number> {
    const thread = this.#downloadThread;
    if (thread) {
      try {
        return await this.downloadOnThread(thread, path, target, opts);
      } catch (err) {
        if (!(err instanceof ThreadUnavailableError)) throw err;
        this.#downloadThread = undefined; // this runtime starts no threads: stop trying
      }
    }
    return this.downloadHere(path, target, opts);
  }

  private async downloadOnThread(thread: DownloadThread, path: string, target: string, opts: DownloadOptions): Promise<number> {
    const request = { url: this.url(path), headers: this.headers(), target, idleTimeoutMs: STREAM_IDLE_TIMEOUT_MS, maxErrorBodyBytes: MAX_ERROR_BODY_BYTES };
    const answer = await thread.download(request, opts.onBytes ?? (() => undefined), opts.signal).catch((err: unknown) => {
      throw this.threadFailure(err, "GET", path);
    });
    if ("failed" in answer) throw this.transferFailure(answer, "GET", path, opts.signal);
    if (answer.saved || opts.accept?.includes(answer.status)) return answer.status;
    throw await this.errorAnswer(answer, "GET", path);
  }

  /** The thread died: whether its files are whole is unknown, so the whole call fails, as when the server does. */
  private threadFailure(err: unknown, method: string, path: string): unknown {
    if (!(err instanceof ThreadStoppedError)) return err;
    return new RemoteApiError("StoreUnavailable", `${err.message} during ${method} ${path}; try again.`, "", 0, { cause: err });
  }

  /**
   * A transfer on the thread that failed: the signal's reason when stopped, StoreUnavailable when no
   * answer came, else the transfer's own error (its code kept: ECONNRESET, EEXIST).
   */
  private transferFailure(answer: { failed: string; error: ThreadError }, method: string, path: string, signal?: AbortSignal): unknown {
    if (signal?.aborted) return signal.reason;
    const err = errorFromThread(answer.error);
    return answer.failed === "request" ? this.unreachable(method, path, err) : err;
  }

  /** A non-2xx answer the thread read, as `stream` would have turned it into an error. */
  private errorAnswer(answer: { status: number; statusText: string; requestId: string; body: string }, method: string, path: string): Promise<RemoteApiError> {
    const headers = answer.requestId ? { "x-request-id": answer.requestId } : undefined;
    return errorOf(new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers }), method, path, this.origin);
  }

  /**
   * POSTs `json` (a blob fetch) to `path` and writes the blob frames of the answer into new files as they
   * arrive, on the download thread: `targets[i]` are the files of the i-th digest asked for. Undefined
   * when that thread cannot do it here (a runtime without threads): the caller then
   * reads the frames itself (`stream`). Rejects as `download`: StoreUnavailable when the server cannot be
   * reached, the server's error, the transfer's own error when the connection breaks midway (a file in
   * progress is removed; finished ones stay for the caller), the signal's reason when stopped. An answer
   * that breaks the frame rules resolves, with `fault` and the outcomes of the frames before it.
   */
  async fetchFramesIntoFiles(
    path: string,
    json: { digests: readonly string[] },
    targets: readonly (readonly string[])[],
    opts: { signal?: AbortSignal; onBytes?: (n: number) => void; maxBlobBytes: number },
  ): Promise<{ outcomes: (FrameOutcome[] | undefined)[]; fault?: Error } | undefined> {
    const thread = this.#downloadThread;
    if (!thread) return undefined;
    const request = {
      url: this.url(path),
      headers: this.headers({ "content-type": "application/json" }),
      body: JSON.stringify(json),
      digests: json.digests,
      targets,
      maxBlobBytes: opts.maxBlobBytes,
      idleTimeoutMs: STREAM_IDLE_TIMEOUT_MS,
      maxErrorBodyBytes: MAX_ERROR_BODY_BYTES,
    };
    let answer: FramesAnswer;
    try {
      answer = await thread.fetchFrames(request, opts.onBytes ?? (() => undefined), opts.signal);
    } catch (err) {
      if (err instanceof ThreadUnavailableError) {
        this.#downloadThread = undefined; // this runtime starts no threads: stop trying
        return undefined;
      }
      throw this.threadFailure(err, "POST", path);
    }
    if ("failed" in answer) {
      if (answer.failed === "answer" && !opts.signal?.aborted) return { outcomes: answer.outcomes ?? [], fault: errorFromThread(answer.error) };
      throw this.transferFailure(answer, "POST", path, opts.signal);
    }
    if (answer.saved) return { outcomes: answer.outcomes };
    throw await this.errorAnswer(answer, "POST", path);
  }

  private async downloadHere(path: string, target: string, opts: DownloadOptions): Promise<number> {
    const res = await this.stream("GET", path, { signal: opts.signal, accept: opts.accept });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      res.resume();
      return status;
    }
    let created = false;
    let out: fs.WriteStream;
    try {
      out = fs.createWriteStream(target, { flags: "wx", highWaterMark: DOWNLOAD_BUFFER_BYTES });
    } catch (err) {
      res.destroy();
      throw err;
    }
    out.once("open", () => (created = true));
    try {
      const onBytes = opts.onBytes;
      if (onBytes) res.on("data", (chunk: Buffer) => onBytes(chunk.length));
      await pipeline(res, out);
    } catch (err) {
      res.destroy();
      // The pipeline can fail while the file is still being opened: only once it is closed do we know.
      if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
      // A file we did not create (EEXIST) is not ours to remove.
      if (created) fs.rmSync(target, { force: true });
      if (opts.signal?.aborted) throw opts.signal.reason; // as from the thread: the reason, not the socket's "aborted"
      throw err;
    }
    return status;
  }

  /**
   * Stops the download thread, if one runs (downloads in flight on it fail with StoreUnavailable). The
   * client stays usable: a later download starts a new thread.
   */
  async close(): Promise<void> {
    await this.#downloadThread?.stop();
  }

  /** Sends a request and parses the JSON answer (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      // A proxy in between answered 200 with a page of its own: the server never did.
      throw new RemoteApiError(
        "StoreUnavailable",
        `The server at ${this.origin} answered ${method} ${path} with HTTP ${res.status} but not with JSON (${JSON.stringify(text.slice(0, 100))}); is the endpoint a ctxsync server, or is a proxy in between answering for it?`,
        res.headers.get("x-request-id") ?? "",
        res.status,
      );
    }
  }

  /** Every request's headers: `extra`, the attach number, and the credential. */
  private headers(extra?: Record<string, string>): Record<string, string> {
    return { ...this.#extraHeaders, ...extra, authorization: `Bearer ${this.#token}` };
  }

  /**
   * An error answer whose body broke off: no usable answer, as when the server cannot be reached (the
   * whole call fails), whatever its status said.
   */
  private brokenAnswer(method: string, path: string, status: number, err: unknown): RemoteApiError {
    return new RemoteApiError(
      "StoreUnavailable",
      `The ctxsync server at ${this.origin} answered ${method} ${path} with HTTP ${status}, but the connection broke before the answer's end (${describeFetchError({ cause: err })}); try again.`,
      "",
      0,
      { cause: err },
    );
  }

  /** A server that could not be reached (or a connection that failed before any answer). */
  private unreachable(method: string, path: string, err: unknown): RemoteApiError {
    return new RemoteApiError(
      "StoreUnavailable",
      `Cannot reach the ctxsync server at ${this.origin} (${method} ${path}): ${describeFetchError({ cause: err })}. Check the endpoint and that the server runs.`,
      "",
      0,
      { cause: err },
    );
  }

  private url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.#base}${path}${qs ? `?${qs}` : ""}`;
  }

  toJSON(): { origin: string; token: string } {
    return { origin: this.origin, token: "[redacted]" };
  }

  [inspect.custom](): string {
    return `ApiClient { origin: '${this.origin}', token: [redacted] }`;
  }
}

/** Reads an error answer `{code, message, requestId}`; anything else becomes a code from its status. */
async function errorOf(res: Response, method: string, path: string, origin: string): Promise<RemoteApiError> {
  const text = await readBounded(res);
  const headerRequestId = res.headers.get("x-request-id") ?? ""; // "": not our server; the SDK's result uses its own id
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; requestId?: unknown };
    if (typeof body.code === "string" && typeof body.message === "string") {
      const requestId = typeof body.requestId === "string" ? body.requestId : headerRequestId;
      return new RemoteApiError(body.code, body.message, requestId, res.status);
    }
  } catch {
    // Not our JSON: a proxy or load balancer answered. Described below by its status.
  }
  const code = res.status === 401 ? "Unauthorized" : res.status === 403 ? "Forbidden" : res.status === 404 ? "NotFound" : "StoreUnavailable";
  return new RemoteApiError(
    code,
    `The server at ${origin} answered ${method} ${path} with HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}.`,
    headerRequestId,
    res.status,
  );
}

async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    n += chunk.length;
    if (n >= MAX_ERROR_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, MAX_ERROR_BODY_BYTES);
}

/** fetch's own message is "fetch failed"; the useful part (ECONNREFUSED, a timeout) is in its cause. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` ${cause.message}` : ""}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Writes a file body into `req` and ends it. Chunks are read into FILE_BODY_BUFFERS reused buffers, each
 * read again only after its last write's callback (the bytes are in the socket): a new buffer per chunk,
 * as a read stream makes, is 256 fresh page faults per MiB and garbage the collector has to chase.
 * Stops quietly when the request closes early (its own error settles the call; after an error answer
 * node:http closes it); rejects when the file holds fewer bytes than announced.
 */
async function writeFileBody(req: ClientRequest, file: FileBody): Promise<void> {
  const free = Array.from({ length: FILE_BODY_BUFFERS }, () => Buffer.allocUnsafe(Math.min(FILE_BODY_CHUNK_BYTES, Math.max(file.sizeBytes, 1))));
  let wake: (() => void) | undefined;
  let closed = false;
  const halt = () => {
    closed = true;
    wake?.();
  };
  req.once("close", halt);
  let sent = 0;
  while (sent < file.sizeBytes && !closed) {
    if (free.length === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    const buf = free.pop()!;
    const { bytesRead } = await file.handle.read(buf, 0, Math.min(buf.length, file.sizeBytes - sent), sent);
    if (closed) return;
    if (bytesRead === 0) throw new InvalidParameterError(`The body of ${file.what} has ${sent} bytes, not the ${file.sizeBytes} announced.`);
    sent += bytesRead;
    file.onBytes(bytesRead);
    req.write(buf.subarray(0, bytesRead), () => {
      free.push(buf);
      wake?.();
    });
  }
  if (!closed) req.end();
}
