import type { AgentLog } from "../agent/index.js";
import type { Clock } from "../engine/index.js";
import { InvalidParameterError } from "../errors/index.js";
import type { ContextSync } from "../policy/index.js";
import { openEmbeddedServices } from "../service/index.js";
import type { SdkBackend, SessionAgentKind } from "./backend.js";
import { ContextClient } from "./context-client.js";
import { EmbeddedBackend } from "./embedded-backend.js";
import { RemoteBackend } from "./remote-backend.js";
import { respond, type DeleteResult, type GcResult, type SessionListResult, type SessionResult } from "./results.js";
import { Session } from "./session.js";

export interface CtxSyncOptions {
  /** A ctxsync server (`http://host:8787`): makes a remote client. Without it, the embedded store is used. */
  endpoint?: string;
  /** The API key of a remote client (required with `endpoint`). Never printed or logged. */
  apiKey?: string;
  /** Remote: where the agents of sessions created in this process log; default warnings to stderr. */
  agentLog?: AgentLog;
  /** Embedded: directory of the store; default $CTXSYNC_HOME, else ~/.ctxsync. */
  home?: string;
  /** Embedded: time source; tests inject a fake one. */
  clock?: Clock;
  /**
   * Embedded: how long `gc()` keeps a context's history: generations older than this (except the one
   * that was head then) can no longer be restored. Default 7 days.
   */
  retentionMs?: number;
  /**
   * Embedded: how long `gc()` leaves a blob nothing references: an upload stores its blobs before it
   * commits them, so this must outlast the longest upload. Default 24 hours.
   */
  minBlobAgeMs?: number;
}

export interface CreateSessionParams {
  contextSync?: ContextSync[];
  /** Local directory holding the session's filesystem (session path /x is root/x). Default "/". */
  root?: string;
  labels?: Record<string, string>;
  /**
   * Who moves the session's files. `local` (default): this process, from `root`. `external` (remote
   * clients only): an agent started elsewhere with `session.sessionToken` (`ctxsync agent` in a sandbox);
   * create() then returns at once and `root` is the agent's business.
   */
  agent?: SessionAgentKind;
}

/**
 * The ctxsync client, embedded or remote with one API and the same results.
 * - `new CtxSync()` opens the embedded store (SQLite + a blob directory); sessions' filesystems are local
 *   directories and their transfers run in this process.
 * - `new CtxSync({ endpoint, apiKey })` talks to a ctxsync server; sessions created with a local `root`
 *   get an agent in this process, those created with `agent: "external"` get one in their sandbox.
 * Methods return the reference's result objects (`[Code] message` on failure, the same from both);
 * programming errors (an invalid policy, `contextId` without `path`, a remote client without apiKey) throw.
 */
export class CtxSync {
  readonly context: ContextClient;
  private readonly backend: SdkBackend;

  constructor(options: CtxSyncOptions = {}) {
    if (options.endpoint !== undefined) {
      if (!options.apiKey) throw new InvalidParameterError("A remote client needs an apiKey: new CtxSync({ endpoint, apiKey }).");
      this.backend = new RemoteBackend({ endpoint: options.endpoint, apiKey: options.apiKey, agentLog: options.agentLog });
    } else {
      // The store opens in the background so the constructor stays synchronous, as in the reference;
      // every method awaits it, so an open failure surfaces on first use.
      const ready = openEmbeddedServices(options);
      ready.catch(() => undefined);
      this.backend = new EmbeddedBackend(ready);
    }
    this.context = new ContextClient(this.backend.contexts);
  }

  /** `embedded` or `remote`. */
  get kind(): "embedded" | "remote" {
    return this.backend.kind;
  }

  /**
   * Creates a session with its mounts. With a local agent, waits for the initial downloads that did not
   * opt out (`withBetaWaitForCompletion(false)`); a failed download is the task's to report (`info()`),
   * as in the reference. With `agent: "external"`, returns at once with `session.sessionToken`.
   */
  async create(params: CreateSessionParams = {}): Promise<SessionResult> {
    await this.backend.ready();
    return respond<SessionResult>({}, async () => {
      const view = await this.backend.sessions.create({
        contextSync: params.contextSync ?? [],
        root: params.root,
        labels: params.labels,
        agent: params.agent ?? "local",
      });
      return { session: new Session(this.backend.sessions, view) };
    });
  }

  /** The session with this id (also one made by another client). */
  async get(sessionId: string): Promise<SessionResult> {
    await this.backend.ready();
    return respond<SessionResult>({}, async () => ({ session: new Session(this.backend.sessions, await this.backend.sessions.get(sessionId)) }));
  }

  /** Ids of the running sessions. */
  async list(): Promise<SessionListResult> {
    await this.backend.ready();
    return respond<SessionListResult>({ sessionIds: [] }, async () => {
      const running = (await this.backend.sessions.list()).filter((s) => s.status === "running");
      return { sessionIds: running.map((s) => s.id), totalCount: running.length };
    });
  }

  /**
   * Collects garbage in the store: deletes files expired under their recycle policy, prunes history older
   * than `retentionMs`, and deletes blobs nothing references any more (once older than `minBlobAgeMs`).
   * Safe while sessions sync. Returns what it removed and how many blobs it kept. Embedded only: a remote
   * client gets `[NotSupported]` (the server collects on its own schedule).
   */
  async gc(): Promise<GcResult> {
    await this.backend.ready();
    const none = { expiredFiles: 0, prunedVersions: 0, prunedGenerations: 0, deletedBlobs: 0, keptBlobs: 0 };
    return respond<GcResult>(none, async () => this.backend.gc());
  }

  /** Same as `session.delete(syncContext)`. */
  delete(session: Session, syncContext = false): Promise<DeleteResult> {
    return session.delete(syncContext);
  }

  /**
   * Embedded: closes the store; sessions stay as they are and can be picked up by a later client.
   * Remote: stops the agents of sessions created here; the server keeps those sessions, and marks them
   * lost once their agent has been silent for its heartbeat timeout.
   */
  async close(): Promise<void> {
    await this.backend.close();
  }
}
