import type { Clock } from "../engine/index.js";
import type { FreshBlobs, ListedBlobs, Stores } from "../service/index.js";
import type { ServerOptions } from "./server-options.js";

/** Where the server reports what an operator needs to see. Never given secrets or signed URLs. */
export interface Logger {
  info(message: string): void;
  error(message: string, err?: unknown): void;
}

/** Everything the HTTP app needs; createServer builds it, tests build their own. */
export interface AppDeps {
  stores: Stores;
  clock: Clock;
  options: ServerOptions;
  /** Blobs this server process created a moment ago, which a commit need not touch; each replica has its own. */
  freshBlobs: FreshBlobs;
  /** Blobs each session was shown in a file listing a moment ago, which it may read without a query. */
  listedBlobs: ListedBlobs;
  /** Key of the signed-URL HMAC. */
  urlSecret: Buffer;
  /** Directory where signed PUT bodies are spooled while hashed. */
  tmpDir: string;
  /** Hands background work (a clear, a commit's cleanup) to the job runner, which waits for it on shutdown and logs failures. */
  background(what: string, work: Promise<unknown>): void;
  /** Aborts when the server starts stopping: long polls return at once. */
  stopping: AbortSignal;
  log: Logger;
}
