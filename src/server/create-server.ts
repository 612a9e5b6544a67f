import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import { gcOptionsWithDefaults, systemClock, type Clock, type GcOptions } from "../engine/index.js";
import {
  ApiKeyService,
  defaultHome,
  describeStores,
  FreshBlobs,
  freshWindowMs,
  ListedBlobs,
  openStores,
  type S3Location,
  type StoreConfig,
  type Stores,
} from "../service/index.js";
import { makeDirsSync } from "../store/index.js";
import type { AppDeps, Logger } from "./app-deps.js";
import { createApp } from "./app.js";
import { InFlight } from "./in-flight.js";
import { ServerJobs } from "./jobs.js";
import type { App } from "./openapi-parts.js";
import { serverOptionsWithDefaults } from "./server-options.js";
import { loadUrlSecret } from "./signed-url.js";

/** Tenant of the admin key made on first start. */
export const BOOTSTRAP_TENANT = "default";

export interface CreateServerOptions {
  /**
   * Local directory: the embedded store (unless PostgreSQL and S3 replace it), the URL secret (unless
   * CTXSYNC_URL_SECRET is set) and the spool of uploads in flight; default $CTXSYNC_HOME, else ~/.ctxsync.
   */
  dataDir?: string;
  /** Metadata in this PostgreSQL database instead of SQLite in dataDir. */
  postgresUrl?: string;
  /** Blobs in this S3-compatible bucket instead of dataDir/blobs. */
  s3?: S3Location;
  /** Address to listen on; default 127.0.0.1 (this machine only: exposing it is a decision). */
  host?: string;
  /** Port; default 8787; 0 picks a free one (see RunningServer.port). */
  port?: number;
  /** Limits and timings; see ServerOptions for each default. */
  options?: Parameters<typeof serverOptionsWithDefaults>[0];
  /** Retention and blob grace period of the scheduled garbage collection (gcOptionsWithDefaults). */
  gc?: Partial<GcOptions>;
  /** How long stop() lets in-flight requests finish before closing their connections; default 30 s. */
  shutdownTimeoutMs?: number;
  clock?: Clock;
  log?: Logger;
  /** Where the first admin key is shown (once); default stdout. */
  print?: (line: string) => void;
  /** Environment read for CTXSYNC_ADMIN_KEY and CTXSYNC_URL_SECRET; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface RunningServer {
  /** `http://host:port` */
  url: string;
  host: string;
  port: number;
  app: App;
  /**
   * Graceful stop: stops accepting connections, ends long polls, lets in-flight requests (commits,
   * uploads) finish — closing connections still open after shutdownTimeoutMs — then waits for background
   * jobs and closes the store. Idempotent.
   */
  stop(): Promise<void>;
}

const defaultLogger: Logger = {
  info: (m) => console.error(`ctxsync: ${m}`),
  error: (m, err) => console.error(`ctxsync: ${m}:`, err),
};

/**
 * Opens the stores (embedded in `dataDir` unless PostgreSQL or S3 are named), makes the first admin key on
 * a store that never had one (printed once, or taken from CTXSYNC_ADMIN_KEY), starts the background jobs
 * and listens.
 */
export async function createServer(opts: CreateServerOptions = {}): Promise<RunningServer> {
  // Options are checked before anything is opened: a bad option touches nothing.
  const options = serverOptionsWithDefaults(opts.options);
  const gc = gcOptionsWithDefaults(opts.gc);
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 30_000;
  const host = opts.host ?? "127.0.0.1";
  const env = opts.env ?? process.env;
  const log = opts.log ?? defaultLogger;
  const clock = opts.clock ?? systemClock;
  const dataDir = path.resolve(opts.dataDir ?? defaultHome());

  const storeConfig: StoreConfig = { home: dataDir, postgresUrl: opts.postgresUrl, s3: opts.s3 };
  const stores = await openStores(storeConfig);
  let jobs: ServerJobs | undefined;
  try {
    // On PostgreSQL and S3 nothing else made it: it still holds the URL secret and the upload spool.
    makeDirsSync(dataDir, 0o700);
    const urlSecret = loadUrlSecret(dataDir, env.CTXSYNC_URL_SECRET);
    if (opts.postgresUrl && !env.CTXSYNC_URL_SECRET) {
      log.info(`signed URLs use the secret in ${dataDir}; replicas sharing this database need CTXSYNC_URL_SECRET set alike, or each refuses the others' URLs`);
    }
    const tmpDir = path.join(dataDir, "uploads");
    // Spooled bodies of requests a stopped server never finished: nothing references them.
    fs.rmSync(tmpDir, { recursive: true, force: true });
    makeDirsSync(tmpDir, 0o700);

    const started = new ServerJobs({ stores, clock, options, gc, log });
    jobs = started;
    const stopping = new AbortController();
    const deps: AppDeps = {
      stores,
      clock,
      options,
      freshBlobs: new FreshBlobs(freshWindowMs(gc.minBlobAgeMs)),
      listedBlobs: new ListedBlobs(),
      urlSecret,
      tmpDir,
      background: (what, work) => started.background(what, work),
      stopping: stopping.signal,
      log,
    };
    const app = createApp(deps);
    const handlers = new InFlight();
    // node-server passes the Node request and response as `env`: routes that stream on the socket use them.
    const server = await listen((req, env) => handlers.track(app.fetch(req, env)), host, opts.port ?? 8787);
    // After listening: a server that cannot take its port makes no admin key it would print and forget.
    // Until the key exists every request is refused (401), as with no keys at all.
    try {
      await bootstrapAdmin(stores, clock, env.CTXSYNC_ADMIN_KEY, opts.print ?? ((l) => console.log(l)), log);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
    started.start();
    const port = (server.address() as AddressInfo).port;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    log.info(`listening on ${url} (${describeStores(storeConfig)})`);

    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        stopping.abort();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // close() ends idle keep-alive connections only once; a request finishing later leaves its
        // connection open until the client's keep-alive timeout, so keep closing idle ones.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50).unref();
        // One deadline for both waits: connections, then handlers (ended by `stopping`, or finishing the
        // store calls of a client that hung up).
        let expire!: () => void;
        const expired = new Promise<void>((resolve) => (expire = resolve));
        const force = setTimeout(() => {
          server.closeAllConnections();
          expire();
        }, shutdownTimeoutMs).unref();
        await closed;
        await Promise.race([handlers.drained(), expired]);
        clearInterval(sweep);
        clearTimeout(force);
        await started.stop();
        await stores.close();
        log.info("stopped");
      })());
    return { url, host, port, app, stop };
  } catch (err) {
    await jobs?.stop();
    await stores.close();
    throw err;
  }
}

type NodeServer = ReturnType<typeof serve> & import("node:http").Server;

const SOCKET_BUFFER_BYTES = 1 << 20;
const KEEP_ALIVE_MS = 65_000;

function listen(fetch: (req: Request, env: unknown) => Response | Promise<Response>, hostname: string, port: number): Promise<NodeServer> {
  return new Promise((resolve, reject) => {
    // 1 MiB socket buffers (default 16 KiB): a streamed blob or a fetch answer otherwise waits for
    // 'drain' every few frames, an event-loop turn each.
    const server = serve({ fetch, hostname, port, serverOptions: { highWaterMark: SOCKET_BUFFER_BYTES } }) as NodeServer;
    // Node aborts requests whose body takes over 5 minutes by default; a multi-gigabyte signed PUT or blob
    // upload on a slow link legitimately takes longer. Headers must still arrive within headersTimeout.
    server.requestTimeout = 0;
    // Node closes an idle kept-alive connection after 5 s, about when a client's own keep-alive expiry
    // (undici: the server's hint less a margin, checked on a coarse timer) lets it reuse the socket: a
    // POST sent just as the server closes fails with "other side closed" and is not retried (seen in the
    // agent-process test under load). Idle connections are kept a minute, so clients let go first; a
    // stop still closes idle ones at once. headersTimeout stays above it, as Node asks.
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1000;
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve(server);
    });
  });
}

/**
 * First start: a store where no API key was ever made gets an admin key. From CTXSYNC_ADMIN_KEY when set
 * (containers and scripts; only its hash is stored and it is not printed), else a new one, printed once.
 */
async function bootstrapAdmin(
  stores: Stores,
  clock: Clock,
  envKey: string | undefined,
  print: (line: string) => void,
  log: Logger,
): Promise<void> {
  const keys = new ApiKeyService(stores.meta, clock);
  const imported = envKey !== undefined && envKey !== "" ? envKey : undefined;
  const created = await keys.bootstrapAdmin(BOOTSTRAP_TENANT, imported);
  if (!created) {
    if (imported !== undefined) log.info("CTXSYNC_ADMIN_KEY is ignored: this store already has API keys (it is only read on the first start)");
    return;
  }
  if (imported !== undefined) {
    log.info(`stored the admin API key from CTXSYNC_ADMIN_KEY as ${created.id} (tenant ${BOOTSTRAP_TENANT})`);
    return;
  }
  print(`Created the first admin API key (${created.id}, tenant ${BOOTSTRAP_TENANT}). It is shown only this once; keep it safe:`);
  print(`  ${created.secret}`);
}
