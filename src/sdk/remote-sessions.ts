import path from "node:path";
import type { z } from "@hono/zod-openapi";
import { RemoteApiError, type AgentLog, type ApiClient } from "../agent/index.js";
import type { BindingList, ContextSyncWire, CreatedSession, ReleaseResult, SessionList, SessionView as SessionWire, TaskList, TaskView } from "../api/index.js";
import { apiPaths, MAX_MOUNTS } from "../api/index.js";
import { CtxSyncError, describeError, InvalidParameterError, SyncTimeoutError } from "../errors/index.js";
import { checkLabels } from "../service/input-checks.js";
import { normalizeSessionPath, resolveSyncPolicy, type ContextSync } from "../policy/index.js";
import type { CreateSessionRequest, PollOptions, SessionBackend, SessionView, StartedTasks, TaskState, TasksOutcome } from "./backend.js";
import { describeFailedTasks } from "./context-status-data.js";
import { InProcessAgent } from "./in-process-agent.js";
import { CREATE_POLL, plainSleep, pollUntil, type Sleeper } from "./poll-tasks.js";

type Task = z.infer<typeof TaskView>;

/** After a release's connection dropped, how often the session's status is read until it is released. */
const RELEASE_POLL_MS = 2000;
/** How long a release whose answer was lost waits for a server that does not answer before it gives up. */
const RELEASE_UNREACHABLE_MS = 120_000;
/** DELETEs sent for one release at most: each lost on the way means the next would likely be too. */
const MAX_RELEASE_ATTEMPTS = 5;
/**
 * How long a release whose answer was lost waits for a session that stays `releasing`: twice the
 * server's default release timeout, which a server that restarted meanwhile no longer enforces.
 */
const RELEASE_WAIT_MAX_MS = 2 * 3_600_000;
/**
 * After a release, how long the agent may take to notice by itself that its session ended: its long
 * poll answers at once for a released session, and a poll that ends cleanly is kinder to the server
 * than one cut off.
 */
const AGENT_EXIT_GRACE_MS = 2000;

/**
 * Sessions over the HTTP API (`/v1/sessions…`, API key). The server runs no transfers: an agent does.
 * `create({ root })` starts one in this process (InProcessAgent) and waits for the initial downloads;
 * `create({ agent: "external" })` returns the session token for `ctxsync agent` in a sandbox. Waits on
 * tasks poll the tasks route with the reference's backoff, woken early by this process's agent.
 */
export class RemoteSessions implements SessionBackend {
  private readonly agents = new Map<string, { agent: InProcessAgent; root: string }>();

  constructor(
    private readonly api: ApiClient,
    private readonly endpoint: string,
    private readonly agentLog: AgentLog,
  ) {}

  async create(req: CreateSessionRequest): Promise<SessionView> {
    const root = req.agent === "local" ? checkRoot(req.root) : "/";
    const contextSync = req.contextSync.map(toWire);
    const created = await this.api.json<z.infer<typeof CreatedSession>>("POST", apiPaths.sessions, {
      json: { contextSync, labels: checkLabels(req.labels) },
    });
    if (req.agent === "external") return { ...toView(created.session, root), sessionToken: created.sessionToken };

    const agent = new InProcessAgent({ endpoint: this.endpoint, sessionToken: created.sessionToken, root, log: this.agentLog });
    this.agents.set(created.session.id, { agent, root });
    void agent.exited.then(() => this.agents.delete(created.session.id));
    // A session whose agent cannot start is left to the server, which marks it lost: releasing it here
    // would wait for uploads that no agent will run.
    await agent.ready;
    await this.waitForInitialDownloads(created.session.id, req.contextSync, agent);
    return toView(created.session, root);
  }

  async get(sessionId: string): Promise<SessionView> {
    const s = await this.api.json<z.infer<typeof SessionWire>>("GET", apiPaths.session(sessionId));
    return toView(s, this.agents.get(sessionId)?.root ?? "/");
  }

  async list(): Promise<SessionView[]> {
    const { sessions } = await this.api.json<z.infer<typeof SessionList>>("GET", apiPaths.sessions);
    return sessions.map((s) => toView(s, this.agents.get(s.id)?.root ?? "/"));
  }

  async sync(sessionId: string, target: { contextId?: string; path?: string; mode?: "upload" | "download" }): Promise<StartedTasks> {
    const { tasks } = await this.api.json<z.infer<typeof TaskList>>("POST", apiPaths.sessionSync(sessionId), { json: target });
    return this.started(sessionId, tasks);
  }

  async info(sessionId: string, filter: { contextId?: string; path?: string; taskType?: "upload" | "download" }): Promise<TaskState[]> {
    return (await this.tasks(sessionId, filter)).map(toTaskState);
  }

  async bind(sessionId: string, contextSyncs: readonly ContextSync[], _waitForCompletion: boolean): Promise<StartedTasks> {
    const { tasks } = await this.api.json<z.infer<typeof TaskList>>("POST", apiPaths.sessionBindings(sessionId), {
      json: { contextSync: contextSyncs.map(toWire) },
    });
    return this.started(sessionId, tasks);
  }

  async listBindings(sessionId: string) {
    const { bindings } = await this.api.json<z.infer<typeof BindingList>>("GET", apiPaths.sessionBindings(sessionId));
    return bindings.map((b) => ({ contextId: b.contextId, contextName: b.contextName, path: b.path, policy: b.policy, bindTime: b.bindTime }));
  }

  /**
   * DELETE, which the server answers once the agent finished the release uploads; then this process's
   * agent stops. A server that cannot be reached at all fails the call (nothing was released). A
   * connection that drops meanwhile (a proxy's idle timeout, fetch's 5-minute header timeout), or a
   * server that stops while it waits (503 ServerStopping), does not stop the release: the session is
   * then read until it is released; one found still running (the DELETE never arrived) or lost (its
   * agent went silent) is released again, and that answer counts. The failure message is the server's:
   * `path: errorMessage; …` of the failed uploads, as the embedded client words it.
   */
  async release(sessionId: string, syncContext: boolean): Promise<{ uploadsSucceeded: boolean; errorMessage?: string }> {
    // A release that fails leaves this process's agent running: the release may still finish on the
    // server (it needs the agent for that), or a later delete() retries it. close() stops it.
    const outcome = await this.releaseOnServer(sessionId, syncContext);
    await this.stopAgent(sessionId, AGENT_EXIT_GRACE_MS);
    return outcome;
  }

  private async releaseOnServer(sessionId: string, syncContext: boolean): Promise<{ uploadsSucceeded: boolean; errorMessage?: string }> {
    let unreachableSince: number | undefined;
    const waitUntil = Date.now() + RELEASE_WAIT_MAX_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.api.json<z.infer<typeof ReleaseResult>>("DELETE", apiPaths.session(sessionId), { query: { syncContext: String(syncContext) } });
        return r.uploadsSucceeded ? { uploadsSucceeded: true } : { uploadsSucceeded: false, errorMessage: r.errorMessage };
      } catch (err) {
        if (!(err instanceof RemoteApiError)) throw err;
        // Refused on the first try: no server saw it, nothing was released; say so at once.
        if (attempt === 1 && neverSent(err)) throw err;
        // A dropped answer, or a server or proxy saying "not now" (502–504: ServerStopping, a store
        // that failed after the session turned releasing), may leave the release going on without us;
        // anything else is the server's final word.
        const goesOn = err.httpStatus === 0 || err.httpStatus === 502 || err.httpStatus === 503 || err.httpStatus === 504;
        if (!goesOn || attempt >= MAX_RELEASE_ATTEMPTS) throw err;
      }
      // The release may go on without us: read the session until it ends, or needs asking again.
      for (;;) {
        await plainSleep(RELEASE_POLL_MS);
        if (Date.now() > waitUntil) {
          throw new RemoteApiError(
            "StoreUnavailable",
            `Session ${sessionId} is still releasing after ${RELEASE_WAIT_MAX_MS / 3_600_000} h: its agent has not finished the release upload. Check the agent in the sandbox, then call delete() again to wait for it.`,
            "",
            0,
          );
        }
        let status: string;
        try {
          status = (await this.api.json<z.infer<typeof SessionWire>>("GET", apiPaths.session(sessionId))).status;
          unreachableSince = undefined;
        } catch (err) {
          if (!(err instanceof RemoteApiError && (err.httpStatus === 0 || err.httpStatus >= 500))) throw err;
          unreachableSince ??= Date.now();
          if (Date.now() - unreachableSince > RELEASE_UNREACHABLE_MS) {
            throw new RemoteApiError(
              err.code,
              `Lost the server while it released session ${sessionId}, and it has not answered for ${RELEASE_UNREACHABLE_MS / 1000} s; the release may still finish there. Call delete() again once the server is back. Last error: ${err.message}`,
              err.requestId,
              err.httpStatus,
              { cause: err },
            );
          }
          continue;
        }
        if (status === "releasing") continue;
        if (status === "released") {
          // The answer was lost: the session's latest uploads are the release's.
          const failed = describeFailedTasks(await this.tasks(sessionId, { taskType: "upload" }));
          return failed === "" ? { uploadsSucceeded: true } : { uploadsSucceeded: false, errorMessage: failed };
        }
        break; // running (the DELETE never arrived) or lost (the agent went silent): release again
      }
    }
  }

  /** Stops every agent this process runs; their sessions stay on the server (and become lost). */
  async close(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((id) => this.stopAgent(id)));
  }

  /** Stops a session's agent, after letting it see for `graceMs` that its session ended (its poll says so). */
  private async stopAgent(sessionId: string, graceMs = 0): Promise<void> {
    const entry = this.agents.get(sessionId);
    if (!entry) return;
    this.agents.delete(sessionId);
    if (graceMs > 0) await Promise.race([entry.agent.exited, plainSleep(graceMs)]);
    await entry.agent.stop();
  }

  private tasks(sessionId: string, filter: { contextId?: string; path?: string; taskType?: "upload" | "download"; taskIds?: string } = {}): Promise<Task[]> {
    return this.api.json<z.infer<typeof TaskList>>("GET", apiPaths.sessionTasks(sessionId), { query: filter }).then((l) => l.tasks);
  }

  private sleeper(sessionId: string): Sleeper {
    const entry = this.agents.get(sessionId);
    return entry ? entry.agent.events.sleep : plainSleep;
  }

  private started(sessionId: string, tasks: readonly Task[]): StartedTasks {
    return { taskIds: tasks.map((t) => t.id), wait: (poll) => this.waitForTasks(sessionId, tasks, poll) };
  }

  /** Polls the tasks in `started`, by id, until every one is terminal. */
  private async waitForTasks(sessionId: string, started: readonly Task[], poll: PollOptions): Promise<TasksOutcome> {
    if (started.length === 0) return { ok: true };
    try {
      const outcome = await pollUntil(
        async () => {
          const ended: Task[] = [];
          // The query takes MAX_MOUNTS ids at a time; a session bound more often has more tasks.
          for (let i = 0; i < started.length; i += MAX_MOUNTS) {
            const ids = started.slice(i, i + MAX_MOUNTS).map((t) => t.id);
            ended.push(...(await this.tasks(sessionId, { taskIds: ids.join(",") })));
          }
          if (ended.length < started.length || !ended.every(isTerminal)) return undefined;
          return ended.every((t) => t.status === "Success") ? { ok: true } : { ok: false, errorMessage: describeFailedTasks(ended) };
        },
        poll,
        this.sleeper(sessionId),
      );
      return outcome ?? { ok: false, errorMessage: new SyncTimeoutError(poll.maxRetries).message, timedOutAfter: poll.maxRetries };
    } catch (err) {
      // Reading the tasks failed, not the tasks: the result carries that error as it is.
      if (err instanceof CtxSyncError) return { ok: false, errorMessage: err.message, error: err };
      return { ok: false, errorMessage: describeError(err) };
    }
  }

  /**
   * Waits, as the reference's create() does, until every mount that downloads and did not opt out
   * (`withBetaWaitForCompletion(false)`) has a terminal download task; failures and running out of rounds
   * are the tasks' to report (`info()`), not create()'s. Stops waiting if the agent stops.
   */
  private async waitForInitialDownloads(sessionId: string, contextSyncs: readonly ContextSync[], agent: InProcessAgent): Promise<void> {
    const waited = contextSyncs
      .filter((cs) => cs.betaWaitForCompletion !== false && resolveSyncPolicy(cs.policy).downloadPolicy.autoDownload)
      .map((cs) => ({ contextId: cs.contextId, path: normalizeSessionPath(cs.path) }));
    if (waited.length === 0) return;
    await pollUntil(
      async () => {
        if (agent.hasStopped) return true;
        const tasks = await this.tasks(sessionId, { taskType: "download" });
        const done = waited.every((w) => tasks.some((t) => t.contextId === w.contextId && t.path === w.path && isTerminal(t)));
        return done ? true : undefined;
      },
      CREATE_POLL,
      agent.events.sleep,
    );
  }
}

function isTerminal(t: Task): boolean {
  return t.status === "Success" || t.status === "Failed";
}

function toWire(cs: ContextSync): z.input<typeof ContextSyncWire> {
  if (!cs || typeof cs.contextId !== "string" || cs.contextId === "") {
    throw new InvalidParameterError("Each contextSync needs a contextId; build it with ContextSync.new(contextId, path, policy).");
  }
  const wire: z.input<typeof ContextSyncWire> = { contextId: cs.contextId, path: cs.path, waitForCompletion: cs.betaWaitForCompletion !== false };
  // Validated here, as the embedded client does before any I/O; the server validates again.
  if (cs.policy != null) wire.policy = resolveSyncPolicy(cs.policy).toJSON() as unknown as Record<string, unknown>;
  return wire;
}

function toView(s: z.infer<typeof SessionWire>, root: string): SessionView {
  return { id: s.id, status: s.status, root, labels: { ...s.labels }, createdAt: s.createdAt };
}

function toTaskState(t: Task): TaskState {
  return {
    taskId: t.id,
    contextId: t.contextId,
    path: t.path,
    errorMessage: t.errorMessage,
    status: t.status,
    startTime: t.startTime,
    finishTime: t.finishTime,
    taskType: t.taskType,
    filesDone: t.filesDone,
    filesTotal: t.filesTotal,
    bytesDone: t.bytesDone,
    bytesTotal: t.bytesTotal,
  };
}

/** The service's root check, for the in-process agent's root. */
function checkRoot(root: string | undefined): string {
  if (root === undefined) return "/";
  if (typeof root !== "string" || root === "" || root.includes("\0")) {
    throw new InvalidParameterError("root must be a local directory path, such as /tmp/session-1.");
  }
  return path.resolve(root);
}

/** True when the request never reached a server: the connection was refused or the host not found. */
function neverSent(err: RemoteApiError): boolean {
  const code = (err.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return err.httpStatus === 0 && (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN");
}
