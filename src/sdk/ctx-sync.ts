import type { Clock } from "../engine/index.js";
import type { ContextSync } from "../policy/index.js";
import { openEmbeddedServices, type Services } from "../service/index.js";
import { ContextClient } from "./context-client.js";
import { respond, type DeleteResult, type GcResult, type SessionListResult, type SessionResult } from "./results.js";
import { Session } from "./session.js";

export interface CtxSyncOptions {
  /** Directory of the embedded store; default $CTXSYNC_HOME, else ~/.ctxsync. */
  home?: string;
  /** Time source; tests inject a fake one. */
  clock?: Clock;
  /**
   * How long `gc()` keeps a context's history: generations older than this (except the one that was head
   * then) can no longer be restored. Default 7 days.
   */
  retentionMs?: number;
  /**
   * How long `gc()` leaves a blob nothing references: an upload stores its blobs before it commits them,
   * so this must outlast the longest upload. Default 24 hours.
   */
  minBlobAgeMs?: number;
}

export interface CreateSessionParams {
  contextSync?: ContextSync[];
  /** Local directory holding the session's filesystem (session path /x is root/x). Default "/". */
  root?: string;
  labels?: Record<string, string>;
}

/**
 * The ctxsync client. `new CtxSync()` opens the embedded store (SQLite + a blob directory); sessions'
 * filesystems are local directories and their transfers run in this process.
 * Methods return the reference's result objects; programming errors (an invalid policy, `contextId`
 * without `path`) throw.
 */
export class CtxSync {
  private readonly ready: Promise<Services>;
  readonly context: ContextClient;

  constructor(options: CtxSyncOptions = {}) {
    // The store opens in the background so the constructor stays synchronous, as in the reference;
    // every method awaits it, so an open failure surfaces on first use.
    this.ready = openEmbeddedServices(options);
    this.ready.catch(() => undefined);
    const contexts = this.ready.then((svc) => svc.contexts);
    contexts.catch(() => undefined); // the same failure, surfacing on first use of client.context
    this.context = new ContextClient(contexts);
  }

  /** Creates a session, mounts its contexts and waits for the initial downloads that did not opt out. */
  async create(params: CreateSessionParams = {}): Promise<SessionResult> {
    const svc = await this.ready;
    return respond<SessionResult>({}, async () => {
      const { session } = await svc.sessions.create(params);
      return { session: new Session(svc.sessions, session) };
    });
  }

  /** The session with this id (also one made by another client on the same store). */
  async get(sessionId: string): Promise<SessionResult> {
    const svc = await this.ready;
    return respond<SessionResult>({}, async () => ({ session: new Session(svc.sessions, await svc.sessions.get(sessionId)) }));
  }

  /** Ids of the running sessions. */
  async list(): Promise<SessionListResult> {
    const svc = await this.ready;
    return respond<SessionListResult>({ sessionIds: [] }, async () => {
      const running = (await svc.sessions.list()).filter((s) => s.status === "running");
      return { sessionIds: running.map((s) => s.id), totalCount: running.length };
    });
  }

  /**
   * Collects garbage in the store: deletes files expired under their recycle policy, prunes history older
   * than `retentionMs`, and deletes blobs nothing references any more (once older than `minBlobAgeMs`).
   * Safe while sessions sync. Returns what it removed and how many blobs it kept.
   */
  async gc(): Promise<GcResult> {
    const svc = await this.ready;
    const none = { expiredFiles: 0, prunedVersions: 0, prunedGenerations: 0, deletedBlobs: 0, keptBlobs: 0 };
    return respond<GcResult>(none, async () => svc.gc());
  }

  /** Same as `session.delete(syncContext)`. */
  delete(session: Session, syncContext = false): Promise<DeleteResult> {
    return session.delete(syncContext);
  }

  /** Closes the store. Sessions stay as they are and can be picked up by a later client. */
  async close(): Promise<void> {
    await (await this.ready).close();
  }
}
