import type { Clock } from "../engine/index.js";
import type { ContextSync } from "../policy/index.js";
import { openEmbeddedServices, type Services } from "../service/index.js";
import { ContextClient } from "./context-client.js";
import { respond, type DeleteResult, type SessionListResult, type SessionResult } from "./results.js";
import { Session } from "./session.js";

export interface CtxSyncOptions {
  /** Directory of the embedded store; default $CTXSYNC_HOME, else ~/.ctxsync. */
  home?: string;
  /** Time source; tests inject a fake one. */
  clock?: Clock;
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
    this.context = new ContextClient(this.ready.then((svc) => svc.contexts));
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

  /** Same as `session.delete(syncContext)`. */
  delete(session: Session, syncContext = false): Promise<DeleteResult> {
    return session.delete(syncContext);
  }

  /** Closes the store. Sessions stay as they are and can be picked up by a later client. */
  async close(): Promise<void> {
    await (await this.ready).close();
  }
}
