import { createHash } from "node:crypto";
import fs from "node:fs";
import { Readable } from "node:stream";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  apiPaths,
  BLOB_FRAMES_CONTENT_TYPE,
  blobFrameHeader,
  decodeBlobFrames,
  MAX_BATCH_BLOBS,
  MAX_BATCH_BYTES,
  MAX_FRAMED_BLOB_BYTES,
  UNNAMED_DIGEST,
  type BlobFrame,
} from "../api/index.js";
import { BlobDigestMismatchError, BlobNotFoundError, InvalidParameterError, PayloadTooLargeError, toError } from "../errors/index.js";
import {
  batchesOf,
  isDigest,
  mapConcurrent,
  Pacer,
  type BlobStore,
  type Digest,
  type FetchItem,
  type HeldBlob,
  type IngestItem,
  type IngestResult,
  type ProgressFn,
  type StoredBlob,
  withSpooledBlob,
} from "../store/index.js";
import type { ApiClient } from "./api-client.js";
import { DedupProbe } from "./dedup-probe.js";
import { errorFromThread, type FrameOutcome } from "./download-thread.js";
import { FrameBatch, type BatchedFile } from "./frame-batch.js";
import { RemoteApiError } from "./remote-api-error.js";

export interface RemoteBlobStoreOptions {
  /**
   * Blob transfers in flight at once. Default 8: enough to hide the round trips of many small files on a
   * wide link, few enough that one agent does not monopolise the server's upload slots.
   */
  concurrency?: number;
  /** Aborts every transfer in flight (the agent is stopping). */
  signal?: AbortSignal;
  /**
   * Largest blob the server takes (AgentSession.maxFileBytes): larger files fail here, with the limit
   * named, instead of being sent to a server that cuts the connection on them.
   */
  maxBlobBytes?: number;
  /**
   * The server takes unnamed uploads (it lists AGENT_FEATURES.unnamedBlobs): small files whose content
   * looks new go without being hashed here (DedupProbe). Default false, for a server older than that.
   */
  unnamedBlobs?: boolean;
  /**
   * The server takes a large blob unnamed (it lists AGENT_FEATURES.unnamedStream): a large file is sent
   * without being hashed here first while the upload's probes find its content new (DedupProbe).
   * Default false, for a server older than that.
   */
  unnamedStream?: boolean;
}

/** Read size when hashing and sending files: bounded memory whatever the file size. */
const CHUNK_BYTES = 1 << 20;

/**
 * The blob store as an agent sees it: the /v1/agent/blobs routes over HTTP (session token).
 * No file is ever held in memory whole except small ones (≤ 1 MiB, a bounded number at a time). On the
 * way out, probe batches and large files whose content may be stored are hashed here (naming each
 * blob) and verified by the server as it receives them; unnamed batches and unnamed large files are
 * hashed by the server alone, which names them. On the way in (get, fetch) the server verifies each blob as it reads it from its store, where
 * the CPU is to spare (the agent's one thread is busy creating files): a blob it finds damaged arrives
 * as a BlobUnreadable result, or, streamed, as an answer cut short (never a complete-looking one), so
 * nothing unverified is ever placed.
 *
 * - Small files travel in batches (blob frames, src/api/blob-frames.ts) of up to 1024 files; the first
 *   two of a large upload hold 64 and 256, so the server starts at once. For a probe batch one request
 *   asks which blobs the server lacks and one sends those; an unnamed batch is sent at once, unhashed,
 *   and the server answers with the digests (DedupProbe decides which a batch is). Downloads fetch 128
 *   per request, several at once. Per-request costs (auth, scope checks, round trips) would otherwise
 *   dominate a tree of many small files.
 * - Larger files stream one per request: HEAD, then PUT when missing; or, while the probes find the
 *   content new (and the server lists AGENT_FEATURES.unnamedStream), one POST unhashed, named by the
 *   server. GET to fetch.
 * - `has` and `touch` are one HEAD, and `missing` refreshes what it finds: the server refreshes a blob an
 *   agent asks about, because an agent asks only about blobs it is about to reference (the GC rule of
 *   BlobStore). So ingest skips a blob the server already has and GC still keeps it.
 * - `flush` does nothing: the server flushes its store before it commits a generation that references
 *   blobs (AgentService.commit), which covers every blob sent before.
 * - `list` and `delete` throw: agents never collect garbage; the server does.
 * Failures of the server (unreachable, 5xx, a revoked token) reject whole calls; per-file failures
 * (a vanished file, bytes that changed while sent) are per-item results, as the contract says.
 */
export class RemoteBlobStore implements BlobStore {
  /**
   * Small-file fetchFiles calls a download keeps going (two requests each): five rather than the default
   * three, so the next answers are on their way while this thread creates files (download median 1.89 →
   * 1.76 s, faster in 9 of 10 pairs; eight were no better).
   */
  readonly fetchCallsInFlight = 5;
  private readonly concurrency: number;
  private readonly signal: AbortSignal | undefined;
  private readonly maxBlobBytes: number;
  private readonly unnamedBlobs: boolean;
  private readonly unnamedStream: boolean;

  constructor(
    private readonly api: ApiClient,
    opts: RemoteBlobStoreOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.signal = opts.signal;
    this.maxBlobBytes = opts.maxBlobBytes ?? Number.MAX_SAFE_INTEGER;
    this.unnamedBlobs = opts.unnamedBlobs ?? false;
    this.unnamedStream = opts.unnamedStream ?? false;
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
    checkSize(sizeBytes);
    await this.sendNamed(digest, body, sizeBytes, () => undefined);
  }

  /**
   * POST /v1/agent/blobs: the server hashes the bytes and names the blob. A server without it
   * (AGENT_FEATURES.unnamedStream) gets them named: hashed here on the way to a temp file, then `put`.
   */
  async putUnnamed(body: Readable, sizeBytes: number): Promise<{ digest: Digest; sizeBytes: number }> {
    checkSize(sizeBytes);
    if (this.unnamedStream) return { digest: await this.sendUnnamed(body, sizeBytes, () => undefined), sizeBytes };
    return withSpooledBlob(body, sizeBytes, async (file, digest) => {
      await this.sendNamed(digest, fs.createReadStream(file, { highWaterMark: CHUNK_BYTES }), sizeBytes, () => undefined);
      return { digest, sizeBytes };
    });
  }

  async get(digest: Digest): Promise<Readable> {
    checkDigest(digest);
    const res = await this.api.stream("GET", apiPaths.agentBlob(digest), { accept: [404], signal: this.signal });
    if (res.statusCode === 404) {
      res.resume();
      throw new BlobNotFoundError(digest);
    }
    // The server verified the bytes as it sent them; an answer cut short (damage it found, or a broken
    // connection) errors the stream.
    return res;
  }

  /** POST missing (which refreshes what it finds), MAX_BATCH_BLOBS digests per request. */
  async touchMany(digests: readonly Digest[]): Promise<boolean[]> {
    for (const d of digests) checkDigest(d);
    const answers: boolean[] = [];
    for (let i = 0; i < digests.length; i += MAX_BATCH_BLOBS) {
      const chunk = digests.slice(i, i + MAX_BATCH_BLOBS);
      const { missing } = await this.api.json<{ missing: Digest[] }>("POST", apiPaths.agentBlobsMissing, { json: { digests: chunk }, signal: this.signal });
      const absent = new Set(missing);
      for (const d of chunk) answers.push(!absent.has(d));
    }
    return answers;
  }

  /** POST batch: the blobs as frames, split into bodies of at most BATCH_MAX_FILES blobs and BATCH_MAX_BYTES. */
  async putMany(blobs: readonly HeldBlob[]): Promise<(Error | null)[]> {
    const results = new Array<Error | null>(blobs.length).fill(null);
    const sendable: number[] = [];
    blobs.forEach((b, i) => {
      if (!isDigest(b.digest)) results[i] = invalidDigest(b.digest);
      else if (b.bytes.length > MAX_FRAMED_BLOB_BYTES) results[i] = new InvalidParameterError(`Blob ${b.digest} has ${b.bytes.length} bytes; putMany takes blobs up to ${MAX_FRAMED_BLOB_BYTES} bytes (use put).`);
      else sendable.push(i);
    });
    for (const batch of batchesOf(sendable, (i) => blobs[i]!.bytes.length, BATCH_MAX_FILES, BATCH_MAX_BYTES)) {
      const parts: Buffer[] = [];
      for (const i of batch) parts.push(blobFrameHeader(blobs[i]!.digest, "ok", blobs[i]!.bytes.length), blobs[i]!.bytes);
      const refused = await this.postFrames(parts, batch.map((i) => blobs[i]!.digest));
      for (const [position, err] of refused) results[batch[position]!] = err;
    }
    return results;
  }

  /**
   * POST unnamed: the blobs as unnamed frames, named by the server. To a server without unnamed uploads
   * they are hashed here and sent with putMany.
   */
  async ingestMany(blobs: readonly Buffer[]): Promise<IngestResult[]> {
    const results = new Array<IngestResult>(blobs.length);
    const sendable: number[] = [];
    blobs.forEach((b, i) => {
      if (b.length > MAX_FRAMED_BLOB_BYTES) results[i] = { error: new InvalidParameterError(`A blob of ${b.length} bytes is over the ${MAX_FRAMED_BLOB_BYTES} bytes ingestMany takes (use put).`) };
      else sendable.push(i);
    });
    if (!this.unnamedBlobs) {
      const held = sendable.map((i) => ({ digest: createHash("sha256").update(blobs[i]!).digest("hex"), bytes: blobs[i]! }));
      (await this.putMany(held)).forEach((err, k) => (results[sendable[k]!] = err ? { error: err } : { digest: held[k]!.digest, sizeBytes: held[k]!.bytes.length }));
      return results;
    }
    for (const batch of batchesOf(sendable, (i) => blobs[i]!.length, BATCH_MAX_FILES, BATCH_MAX_BYTES)) {
      const parts: Buffer[] = [];
      for (const i of batch) parts.push(blobFrameHeader(UNNAMED_DIGEST, "unnamed", blobs[i]!.length), blobs[i]!);
      const named = await this.postUnnamed(parts, batch.length);
      named.forEach((r, k) => (results[batch[k]!] = r instanceof Error ? { error: r } : { digest: r, sizeBytes: blobs[batch[k]!]!.length }));
    }
    return results;
  }

  /**
   * POST fetch, GET_MANY_PER_REQUEST digests per request: their sizes are unknown here, so only a count
   * keeps an answer under the MAX_BATCH_BYTES it may carry, even when every blob is near 1 MiB.
   */
  async getMany(digests: readonly Digest[]): Promise<(Buffer | Error)[]> {
    const results = new Array<Buffer | Error>(digests.length);
    const wanted = new Map<Digest, number[]>();
    digests.forEach((d, i) => {
      if (!isDigest(d)) return void (results[i] = invalidDigest(d));
      const list = wanted.get(d);
      if (list) list.push(i);
      else wanted.set(d, [i]);
    });
    const unique = [...wanted.keys()];
    for (let i = 0; i < unique.length; i += GET_MANY_PER_REQUEST) {
      for await (const { digest, result } of this.fetchFrames(unique.slice(i, i + GET_MANY_PER_REQUEST))) {
        for (const k of wanted.get(digest)!) results[k] = result;
      }
    }
    return results;
  }

  /**
   * POST fetch for `digests` (unique): yields each blob (or why not) as its frame arrives. An
   * answer that skips, repeats or invents a digest, or ends early, rejects.
   */
  private async *fetchFrames(digests: readonly Digest[]): AsyncGenerator<{ digest: Digest; result: Buffer | Error }> {
    const body = await this.api.stream("POST", apiPaths.agentBlobsFetch, { json: { digests }, signal: this.signal });
    let n = 0;
    // A connection that breaks midway is the server failing, not the files: it fails the whole call.
    let broken: Error | undefined;
    body.once("error", (err) => (broken = err));
    body.once("aborted", () => (broken ??= new Error("the server closed the connection midway")));
    try {
      for await (const frame of decodeBlobFrames(body)) {
        if (frame.digest !== digests[n]) throw new Error(`The server answered a blob fetch out of order: blob ${frame.digest} instead of ${digests[n] ?? "nothing"}.`);
        n++;
        yield { digest: frame.digest, result: frameResult(frame) };
      }
    } catch (err) {
      if (broken) throw connectionLost(this.api.origin, broken);
      throw err;
    } finally {
      body.destroy();
    }
    if (broken) throw connectionLost(this.api.origin, broken);
    if (n < digests.length) throw new Error(`The server's answer to a blob fetch ended before blob ${digests[n]}.`);
  }

  /**
   * Small files (≤ MAX_FRAMED_BLOB_BYTES) go in batches: read and hashed here, one request asks which
   * the server lacks, one more sends those as blob frames. Larger files stream one by one (HEAD, PUT).
   */
  async ingestFiles(items: readonly IngestItem[], onProgress?: ProgressFn): Promise<IngestResult[]> {
    const progress = onProgress ?? (() => undefined);
    const results = new Array<IngestResult>(items.length);
    const { small, large } = splitBySize(items);
    // Large files are checked against the server's limit in ingestOne, after asking whether the server
    // has the blob already (a blob it stores needs no sending); small ones over a limit below 1 MiB here.
    const withinLimit = (i: number) => {
      if (items[i]!.sizeBytes <= this.maxBlobBytes) return true;
      results[i] = { error: this.tooLarge(items[i]!.sizeBytes) };
      return false;
    };
    // Large files wait until the server has small batches to work on (measured: hashing them here first
    // otherwise took this thread from the small files, and the server idled for the first 0.2 s); by
    // then a probe has answered whether the content is new, so whether they may go unnamed.
    let serverBusy!: () => void;
    const largeMayStart = new Promise<void>((resolve) => (serverBusy = resolve));
    // One judgement of whether the content is new, for both: a large file goes unnamed (no hash here, no
    // HEAD) only while the small files' probes find their content new. An upload of large files alone, or
    // of content the server has, keeps asking first, so nothing it has is sent again.
    const probe = new DedupProbe(this.unnamedBlobs);
    await settleAll([
      this.ingestSmallFiles(items, small.filter(withinLimit), results, progress, serverBusy, probe).finally(serverBusy),
      largeMayStart.then(() =>
        mapConcurrent(large, this.concurrency, async (i) => {
          results[i] = await this.ingestOneAsResult(items[i]!, progress, this.unnamedStream && probe.looksNew());
        }),
      ),
    ]);
    return results;
  }

  /**
   * Small blobs go in batches (POST fetch answers with blob frames); larger ones stream one per GET.
   * The server verified every blob on its way out (see the class comment).
   */
  async fetchFiles(items: readonly FetchItem[], onProgress?: ProgressFn): Promise<(Error | null)[]> {
    const progress = onProgress ?? (() => undefined);
    const results = new Array<Error | null>(items.length).fill(null);
    const { small, large } = splitBySize(items);
    // A malformed digest fails its item, before anything is asked of the server.
    const wellFormed = (i: number) => {
      if (isDigest(items[i]!.digest)) return true;
      results[i] = invalidDigest(items[i]!.digest);
      return false;
    };
    await settleAll([
      mapConcurrent(batchesOf(small.filter(wellFormed), (i) => items[i]!.sizeBytes, FETCH_BATCH_FILES, BATCH_MAX_BYTES), BATCHES_IN_FLIGHT, (batch) =>
        this.fetchBatch(items, batch, results, progress),
      ),
      mapConcurrent(large, this.concurrency, async (i) => {
        try {
          await this.fetchOne(items[i]!, progress);
        } catch (err) {
          if (isStoreFailure(err)) throw err;
          results[i] = toError(err);
        }
      }),
    ]);
    return results;
  }

  /** A file over the server's limit: a per-file failure that names the limit and the way out. */
  private tooLarge(sizeBytes: number): PayloadTooLargeError {
    return new PayloadTooLargeError(this.maxBlobBytes, `This ${sizeBytes}-byte file`);
  }

  private async ingestOneAsResult(item: IngestItem, progress: ProgressFn, unnamed = false): Promise<IngestResult> {
    try {
      return await this.ingestOne(item, progress, unnamed);
    } catch (err) {
      if (isStoreFailure(err)) throw err;
      return { error: toError(err) };
    }
  }

  /**
   * Reads small files in order into batches (FrameBatch: straight into the request body) and sends up
   * to BATCHES_IN_FLIGHT batches at once; a batch's buffer is refilled once its send is done. Calls
   * `serverBusy` once BATCHES_BEFORE_LARGE batches are on their way.
   */
  private async ingestSmallFiles(
    items: readonly IngestItem[],
    indices: readonly number[],
    results: IngestResult[],
    progress: ProgressFn,
    serverBusy: () => void,
    probe: DedupProbe,
  ): Promise<void> {
    const sends = new Set<Promise<void>>();
    const spare: FrameBatch[] = [];
    let failure: { error: unknown } | undefined;
    // The files the batch being filled may hold, as its probe decision says.
    let maxFiles = Infinity;
    const begin = (b: FrameBatch): FrameBatch => {
      const plan = probe.next();
      b.reset(plan.named);
      maxFiles = plan.maxFiles;
      return b;
    };
    let batch = begin(new FrameBatch(BATCH_MAX_FILES, BATCH_MAX_BYTES));
    const send = async () => {
      const full = batch;
      while (sends.size >= BATCHES_IN_FLIGHT) await Promise.race(sends);
      // Begun only now, so the probe decision knows the answers of the sends just finished.
      batch = begin(spare.pop() ?? new FrameBatch(BATCH_MAX_FILES, BATCH_MAX_BYTES));
      const p: Promise<void> = this.sendBatch(full, probe, results, progress)
        .catch((err: unknown) => {
          if (isStoreFailure(err)) failure ??= { error: err };
          else for (const f of full.files) results[f.index] = { error: toError(err) };
        })
        .finally(() => {
          sends.delete(p);
          full.reset();
          spare.push(full);
        });
      sends.add(p);
    };
    const pacer = new Pacer();
    let batchesSent = 0;
    try {
      for (const i of indices) {
        if (failure) break;
        const item = items[i]!;
        if (!batch.fits(item.sizeBytes) || batch.length >= Math.min(maxFiles, batchFileCap(batchesSent, indices.length))) {
          await send();
          batchesSent++;
          if (batchesSent >= BATCHES_BEFORE_LARGE) serverBusy();
        }
        const added = batch.add(i, item.path, item.sizeBytes);
        if (added instanceof Error) {
          results[i] = { error: added };
        } else if (added === "tooLarge") {
          // Grew since the scan: it goes alone, streamed.
          results[i] = await this.ingestOneAsResult(item, progress);
        }
        // Reads are synchronous (cheaper than a promise per small file); give the sends their turns.
        await pacer.tick(item.sizeBytes);
      }
      if (batch.length > 0 && !failure) await send();
      serverBusy(); // fewer than BATCHES_BEFORE_LARGE: large files need not wait for the last answers
    } finally {
      // Also when a file read alone failed the whole call: no batch keeps sending after we return.
      await Promise.allSettled(sends);
    }
    if (failure) throw failure.error;
  }

  /**
   * Sends one batch and records every file's result. A probe (named) batch first asks which blobs the
   * server lacks (refreshing the rest) and tells `probe` how many it had, then sends the missing frames
   * straight from the batch's buffer; an unnamed batch is sent whole, and the server names its blobs.
   */
  private async sendBatch(batch: FrameBatch, probe: DedupProbe, results: IngestResult[], progress: ProgressFn): Promise<void> {
    if (!batch.named) {
      const named = await this.postUnnamed([batch.body], batch.length);
      batch.files.forEach((f, k) => {
        const r = named[k]!;
        results[f.index] = r instanceof Error ? { error: r } : { digest: r, sizeBytes: f.sizeBytes };
        if (!(r instanceof Error)) progress(f.sizeBytes);
      });
      return;
    }
    const first = new Map<Digest, BatchedFile & { digest: Digest }>();
    for (const f of batch.files) if (f.digest !== null && !first.has(f.digest)) first.set(f.digest, { ...f, digest: f.digest });
    const unique = [...first.values()];
    const present = await this.touchMany(unique.map((f) => f.digest));
    probe.answered(present.filter(Boolean).length, unique.length);
    const missing = unique.filter((_, i) => !present[i]);
    const refused = new Map<Digest, Error>();
    if (missing.length > 0) {
      const sent = missing.map((f) => f.digest);
      for (const [position, err] of await this.postFrames(frameRuns(batch.bytes, missing), sent)) refused.set(sent[position]!, err);
    }
    for (const f of batch.files) {
      const err = refused.get(f.digest!);
      results[f.index] = err ? { error: err } : { digest: f.digest!, sizeBytes: f.sizeBytes };
      if (!err) progress(f.sizeBytes);
    }
  }

  /**
   * POST unnamed with `frames` (whole unnamed frames of `count` blobs) as the body: each blob's digest as
   * the server named it, or why it refused the blob. An answer that does not account for every blob
   * rejects.
   */
  private async postUnnamed(frames: readonly Buffer[], count: number): Promise<(Digest | Error)[]> {
    const answer = await this.postBody(apiPaths.agentBlobsUnnamed, frames);
    const { digests, failed } = answer as { digests: (Digest | null)[]; failed: { index: number; code: string; message: string }[] };
    if (!Array.isArray(digests) || digests.length !== count || !Array.isArray(failed)) {
      throw new Error(`The server answered an unnamed upload of ${count} blobs with ${Array.isArray(digests) ? digests.length : "no"} digests.`);
    }
    const refusals = new Map(failed.map((f) => [f.index, f]));
    return digests.map((d, i) => {
      if (d !== null && isDigest(d)) return d;
      const f = refusals.get(i);
      if (d === null && f) return new RemoteApiError(f.code, f.message, "", 200);
      throw new Error(`The server answered an unnamed upload with ${JSON.stringify(d)} for blob ${i} and no reason.`);
    });
  }

  /**
   * POST batch with `frames` (whole frames of the blobs `sent`, in order) as the body; the server's
   * refusals as errors by position. A refusal naming a blob that is not at its position rejects.
   */
  private async postFrames(frames: readonly Buffer[], sent: readonly Digest[]): Promise<Map<number, Error>> {
    const { failed } = (await this.postBody(apiPaths.agentBlobsBatch, frames)) as { failed: RefusedFrame[] };
    const refused = new Map<number, Error>();
    for (const f of failed) {
      if (sent[f.index] !== f.digest) throw new Error(`The server refused blob ${f.digest} at position ${f.index} of a batch that has no such blob there.`);
      refused.set(f.index, refusal(f));
    }
    return refused;
  }

  /** POSTs a body of blob frames to `path` and parses the JSON answer. */
  private async postBody(path: string, frames: readonly Buffer[]): Promise<unknown> {
    const length = frames.reduce((n, b) => n + b.length, 0);
    const res = await this.api.stream("POST", path, {
      body: Readable.from(frames),
      headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE, "content-length": String(length) },
      signal: this.signal,
    });
    return readJson(res);
  }

  /**
   * Fetches one batch of small blobs and creates their files as the frames arrive. Files are written
   * with synchronous calls: here, unlike in the local-dir store, the thread pool's hops cost more than
   * they hide (measured), and the socket keeps receiving meanwhile.
   */
  private async fetchBatch(items: readonly FetchItem[], batch: readonly number[], results: (Error | null)[], progress: ProgressFn): Promise<void> {
    const waiting = new Map<Digest, number[]>();
    for (const i of batch) {
      const d = items[i]!.digest;
      const list = waiting.get(d);
      if (list) list.push(i);
      else waiting.set(d, [i]);
    }
    try {
      if (await this.fetchBatchOnThread(items, waiting, results, progress)) return;
      for await (const { digest, result } of this.fetchFrames([...waiting.keys()])) {
        const indices = waiting.get(digest)!;
        waiting.delete(digest);
        for (const i of indices) results[i] = result instanceof Error ? result : writeNewFileSync(items[i]!.targetPath, result, progress);
      }
    } catch (err) {
      if (isStoreFailure(err)) throw err;
      for (const indices of waiting.values()) for (const i of indices) results[i] ??= toError(err);
    }
  }

  /**
   * fetchBatch's transfer on the download thread, which writes each blob into its files as its bytes
   * arrive (this thread then only reads the outcomes); false when it cannot run here (see
   * ApiClient.fetchFramesIntoFiles), and nothing was sent. Digests answered are taken off `waiting`;
   * an answer that breaks the frame rules throws its fault for the rest.
   */
  private async fetchBatchOnThread(items: readonly FetchItem[], waiting: Map<Digest, number[]>, results: (Error | null)[], progress: ProgressFn): Promise<boolean> {
    const digests = [...waiting.keys()];
    const targets = digests.map((d) => waiting.get(d)!.map((i) => items[i]!.targetPath));
    let got: Awaited<ReturnType<ApiClient["fetchFramesIntoFiles"]>>;
    try {
      got = await this.api.fetchFramesIntoFiles(apiPaths.agentBlobsFetch, { digests }, targets, { signal: this.signal, onBytes: progress, maxBlobBytes: MAX_FRAMED_BLOB_BYTES });
    } catch (err) {
      // The answer broke off midway: the server failing, not the files (as in fetchFrames).
      if (err instanceof RemoteApiError || this.signal?.aborted) throw err;
      throw connectionLost(this.api.origin, toError(err));
    }
    if (!got) return false;
    digests.forEach((digest, j) => {
      const outcomes = got.outcomes[j];
      if (!outcomes) return;
      waiting.get(digest)!.forEach((i, k) => (results[i] = outcomeError(digest, outcomes[k] ?? null)));
      waiting.delete(digest);
    });
    if (got.fault) throw got.fault;
    return true;
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

  /**
   * Hashes the file, asks whether the server has it, and sends it when not; from one open descriptor.
   * `unnamed`: sends it at once, and the server names it (see sendUnnamedFile).
   */
  private async ingestOne(item: IngestItem, onProgress: ProgressFn, unnamed = false): Promise<{ digest: Digest; sizeBytes: number }> {
    // O_NOFOLLOW: a file swapped for a symlink after the scan must not pull outside data into the context.
    const handle = await fs.promises.open(item.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      if (unnamed) return await this.sendUnnamedFile(handle, onProgress);
      const { digest, sizeBytes } = await hashInSlices(handle.fd);
      if (await this.touch(digest)) {
        onProgress(sizeBytes);
        return { digest, sizeBytes };
      }
      if (sizeBytes > this.maxBlobBytes) throw this.tooLarge(sizeBytes);
      // The same descriptor, read again up to the size hashed: the server checks the bytes against the digest,
      // so a file that changed in between fails this item rather than storing something else.
      await this.sendNamed(digest, handle, sizeBytes, onProgress);
      return { digest, sizeBytes };
    } finally {
      await handle.close();
    }
  }

  /**
   * Sends the open file unnamed (POST /v1/agent/blobs), as many bytes as it has now; the server's hash
   * names what arrived. Read once, as the embedded store reads a file it ingests.
   */
  private async sendUnnamedFile(handle: fs.promises.FileHandle, onProgress: ProgressFn): Promise<{ digest: Digest; sizeBytes: number }> {
    const { size: sizeBytes } = await handle.stat();
    if (sizeBytes > this.maxBlobBytes) throw this.tooLarge(sizeBytes);
    return { digest: await this.sendUnnamed(handle, sizeBytes, onProgress), sizeBytes };
  }

  /** One large file: GET into a new file, on the client's download thread (ApiClient.download). */
  private async fetchOne(item: FetchItem, onProgress: ProgressFn): Promise<void> {
    let status: number;
    try {
      status = await this.api.download(apiPaths.agentBlob(item.digest), item.targetPath, { accept: [404], signal: this.signal, onBytes: onProgress });
    } catch (err) {
      // The answer was cut short: the server stops sending a blob whose stored copy fails its check.
      if ((err as NodeJS.ErrnoException).code === "ECONNRESET") throw unreadable(item.digest, err as Error);
      throw err;
    }
    if (status === 404) throw new BlobNotFoundError(item.digest);
  }

  /** PUTs the blob under `digest`; the server refuses bytes that do not hash to it (BlobDigestMismatch). */
  private async sendNamed(digest: Digest, body: Body, sizeBytes: number, onProgress: ProgressFn): Promise<void> {
    try {
      (await this.sendBody("PUT", apiPaths.agentBlob(digest), `blob ${digest}`, body, sizeBytes, onProgress)).resume();
    } catch (err) {
      if (err instanceof RemoteApiError && err.code === "BlobDigestMismatch") throw refusal({ digest, code: err.code, message: err.message });
      throw err;
    }
  }

  /** POSTs the blob unnamed and returns the digest the server named it by. */
  private async sendUnnamed(body: Body, sizeBytes: number, onProgress: ProgressFn): Promise<Digest> {
    const res = await this.sendBody("POST", apiPaths.agentBlobs, "an unnamed blob", body, sizeBytes, onProgress);
    const answer = (await readJson(res)) as { digest?: unknown; sizeBytes?: unknown };
    if (typeof answer.digest !== "string" || !isDigest(answer.digest) || answer.sizeBytes !== sizeBytes) {
      throw new Error(`The server answered an unnamed upload of ${sizeBytes} bytes with ${JSON.stringify(answer)}.`);
    }
    return answer.digest;
  }

  /**
   * Sends exactly `sizeBytes` bytes of `body` (`what` names it in errors), failing clearly when it has
   * more or fewer: that failure rather than the broken request's. An open file goes from its start,
   * through reused buffers (ApiClient's FileBody).
   */
  private async sendBody(
    method: string,
    path: string,
    what: string,
    body: Body,
    sizeBytes: number,
    onProgress: ProgressFn,
  ): Promise<Awaited<ReturnType<ApiClient["stream"]>>> {
    const headers = { "content-type": "application/octet-stream", "content-length": String(sizeBytes) };
    if (!isAsyncIterable(body)) return this.api.stream(method, path, { body: { handle: body, sizeBytes, what, onBytes: onProgress }, headers, signal: this.signal });
    const chunks = body;
    let bodyError: Error | undefined;
    async function* counted(): AsyncIterable<Uint8Array> {
      let n = 0;
      for await (const chunk of chunks) {
        n += chunk.length;
        if (n > sizeBytes) throw (bodyError = new InvalidParameterError(`The body of ${what} has more than the ${sizeBytes} bytes announced.`));
        onProgress(chunk.length);
        yield chunk;
      }
      if (n !== sizeBytes) throw (bodyError = new InvalidParameterError(`The body of ${what} has ${n} bytes, not the ${sizeBytes} announced.`));
    }
    try {
      return await this.api.stream(method, path, {
        body: Readable.from(counted(), { objectMode: false }),
        headers,
        signal: this.signal,
      });
    } catch (err) {
      throw bodyError ?? err;
    }
  }
}

/** What a blob send takes: a stream of its bytes, or an open file (sent from its start; the caller closes it). */
type Body = AsyncIterable<Buffer | Uint8Array> | fs.promises.FileHandle;

function isAsyncIterable(body: Body): body is AsyncIterable<Buffer | Uint8Array> {
  return Symbol.asyncIterator in body;
}

/** An answer's body parsed as JSON. */
async function readJson(res: AsyncIterable<unknown>): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidParameterError(`sizeBytes must be a whole number of bytes; got ${sizeBytes}.`);
}

function checkDigest(digest: string): void {
  if (typeof digest !== "string" || !isDigest(digest)) throw invalidDigest(digest);
}

function invalidDigest(digest: string): InvalidParameterError {
  return new InvalidParameterError(`Invalid blob digest ${JSON.stringify(digest)}: expected 64 lower-case hex characters (SHA-256).`);
}

/**
 * The server failed, not the item: unreachable, 5xx, the token refused, the session no longer active
 * (released or lost: every later request is refused alike), another agent attached since, or the agent
 * stopping. Such errors end the whole call rather than failing every remaining file one by one.
 */
function isStoreFailure(err: unknown): boolean {
  if (err instanceof RemoteApiError) {
    return err.httpStatus === 0 || err.httpStatus >= 500 || err.httpStatus === 401 || err.httpStatus === 403 || err.code === "SessionNotActive" || err.code === "AgentReplaced";
  }
  return (err as { name?: string }).name === "AbortError";
}

/** Small files per batch request and the bytes they may hold: a few dozen requests for 10,000 files. */
const BATCH_MAX_FILES = 1024;
const BATCH_MAX_BYTES = 8 << 20;
/**
 * Files in the n-th upload batch of a call that sends `total` small files. When there is more than one
 * full batch of them, the first batches are small, so the server has work from the start instead of
 * idling until a full batch is read (while large files are hashed beside it). Fewer files go in one.
 */
function batchFileCap(n: number, total: number): number {
  return total > BATCH_MAX_FILES ? (FIRST_BATCH_FILES[n] ?? BATCH_MAX_FILES) : BATCH_MAX_FILES;
}
const FIRST_BATCH_FILES = [64, 256];
/**
 * Small batches sent before large files start (or all of them, when fewer): the first probes and one
 * full batch, so the server has work while this thread hashes the large files.
 */
const BATCHES_BEFORE_LARGE = 4;
/** Batches in flight at once: reading (or writing) one overlaps with the transfer of the next. */
const BATCHES_IN_FLIGHT = 2;
/**
 * Files per fetch request: smaller than upload batches, so that even one engine call (a few hundred files)
 * spans several requests and the server reads the next batch while this process writes the last.
 */
const FETCH_BATCH_FILES = 128;
/** Digests per fetch in getMany, where sizes are unknown: as many largest blobs as one answer may carry. */
const GET_MANY_PER_REQUEST = MAX_BATCH_BYTES / MAX_FRAMED_BLOB_BYTES;

/** A blob the server refused to store: its position in the batch body, and why. */
interface RefusedFrame {
  index: number;
  digest: Digest;
  code: string;
  message: string;
}

/** The frames of `files` (in buffer order) as views of `bytes`, neighbours joined into one run. */
function frameRuns(bytes: Buffer, files: readonly BatchedFile[]): Buffer[] {
  const runs: Buffer[] = [];
  let start = -1;
  let end = -1;
  for (const f of files) {
    if (f.offset !== end) {
      if (start >= 0) runs.push(bytes.subarray(start, end));
      start = f.offset;
    }
    end = f.offset + f.frameBytes;
  }
  if (start >= 0) runs.push(bytes.subarray(start, end));
  return runs;
}

/** Indices of the items small enough for blob frames, and of the others. */
function splitBySize(items: readonly { sizeBytes: number }[]): { small: number[]; large: number[] } {
  const small: number[] = [];
  const large: number[] = [];
  items.forEach((item, i) => (item.sizeBytes <= MAX_FRAMED_BLOB_BYTES ? small : large).push(i));
  return { small, large };
}

/** A fetched frame's bytes (the server checked them), or why there are none. */
function frameResult(frame: BlobFrame): Buffer | Error {
  if (frame.status === "notFound") return new BlobNotFoundError(frame.digest);
  if (frame.status === "unreadable") return unreadable(frame.digest);
  if (frame.status !== "ok") throw new Error(`The server answered a blob fetch with a frame of status ${frame.status} for blob ${frame.digest}.`);
  return frame.bytes;
}

/** The error of one file of a fetch on the download thread (null: written whole). */
function outcomeError(digest: Digest, outcome: FrameOutcome): Error | null {
  if (outcome === null) return null;
  if ("error" in outcome) return errorFromThread(outcome.error);
  return outcome.status === "notFound" ? new BlobNotFoundError(digest) : unreadable(digest);
}

/** A blob the server could not hand out: its stored copy is damaged or unreadable (a per-file failure). */
function unreadable(digest: Digest, cause?: Error): RemoteApiError {
  return new RemoteApiError(
    "BlobUnreadable",
    `The server could not send blob ${digest}: its stored copy is damaged or unreadable${cause ? `, or the connection broke (${cause.message})` : ""}. Its operator should check the store's disk and the server log.`,
    "",
    200,
    cause ? { cause } : undefined,
  );
}

/** A fetch answer cut off by the connection: a store failure (see isStoreFailure), with its cause. */
function connectionLost(origin: string, cause: Error): RemoteApiError {
  return new RemoteApiError("StoreUnavailable", `The connection to the ctxsync server at ${origin} broke during a blob fetch: ${cause.message}.`, "", 0, { cause });
}

/** The error for a blob the server refused to store, as its own type where we have one. */
function refusal(f: { digest: Digest; code: string; message: string }): Error {
  if (f.code === "BlobDigestMismatch") return new BlobDigestMismatchError(f.digest, /got ([0-9a-f]{64})/.exec(f.message)?.[1] ?? "(unknown)", "while sending a blob to the server");
  return new RemoteApiError(f.code, f.message, "", 200);
}

/** Creates `target` with `bytes`; null, or the error (a failed write leaves no file we created). */
function writeNewFileSync(target: string, bytes: Buffer, progress: ProgressFn): Error | null {
  try {
    fs.writeFileSync(target, bytes, { flag: "wx" });
    progress(bytes.length);
    return null;
  } catch (err) {
    // EEXIST: the file at targetPath is not ours (we never created it), so it is not ours to remove.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") fs.rmSync(target, { force: true });
    return toError(err);
  }
}

/**
 * SHA-256 and size of an open file, read synchronously a slice at a time with a turn of the event loop
 * between slices. Read through async streams, a large file's hash advanced one chunk per turn of the
 * small-file loop beside it, so its upload started only after every small file had been read (and the
 * server then hashed 200 MB at the end); this way it starts at once, and no slice blocks for long.
 */
async function hashInSlices(fd: number): Promise<{ digest: Digest; sizeBytes: number }> {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let sizeBytes = 0;
  let position = 0;
  for (;;) {
    let n = 0;
    for (let slice = 0; slice < HASH_SLICE_CHUNKS; slice++) {
      n = fs.readSync(fd, buf, 0, buf.length, position);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      position += n;
      sizeBytes += n;
    }
    if (n === 0) return { digest: hash.digest("hex"), sizeBytes };
    await yieldToEventLoop();
  }
}

/**
 * Chunks (of CHUNK_BYTES) hashed between event-loop turns: ~6 ms of work each, about what the small-file
 * loop does between its turns. Longer slices delayed every request of that loop (the first batch
 * reached the server only after both large files of the bench were hashed).
 */
const HASH_SLICE_CHUNKS = 8;

/** Waits for every promise (none is left running unobserved), then rejects with the first failure. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
}

