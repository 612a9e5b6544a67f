import { InvalidParameterError, SyncTimeoutError, TaskFailedError, type CtxSyncError } from "../errors/index.js";
import type { ContextSync } from "../policy/index.js";
import type { SessionBackend, SessionStatus, SessionView, TasksOutcome } from "./backend.js";
import { SYNC_POLL } from "./poll-tasks.js";
import {
  respond,
  type ContextInfoResult,
  type ContextSyncResult,
  type DeleteResult,
  type OperationResult,
} from "./results.js";

export type SyncMode = "upload" | "download";

/** A binding of a context to a session path, as `listBindings()` returns it. */
export interface ContextBinding {
  contextId: string;
  /** The context's name; "" when the context was deleted after it was mounted. */
  contextName: string;
  path: string;
  /** The mount's policy as wire JSON. */
  policy: string;
  /** Unix seconds. */
  bindTime: number;
}

/** A session: an environment whose filesystem (under `root`) has contexts mounted in it. */
export class Session {
  readonly context: SessionContextManager;

  constructor(
    private readonly sessions: SessionBackend,
    private readonly view: SessionView,
  ) {
    this.context = new SessionContextManager(sessions, view.id);
  }

  get sessionId(): string {
    return this.view.id;
  }
  /** Local directory of the session's filesystem when this process runs its agent; else "/". */
  get root(): string {
    return this.view.root;
  }
  get labels(): Record<string, string> {
    return { ...this.view.labels };
  }
  /** Status when this object was made; `client.get(id)` reads it afresh. */
  get status(): SessionStatus {
    return this.view.status;
  }
  /**
   * Sessions created with `agent: "external"` only, on the object create() returned: the token to start
   * their agent with (`ctxsync agent --endpoint URL --session ID --token T`). A secret: never log it.
   */
  get sessionToken(): string | undefined {
    return this.view.sessionToken;
  }

  /**
   * Releases the session. Uploads first — every mount with `syncContext`, else the `autoUpload` ones — and
   * returns after those uploads are terminal. A failed upload makes the result fail (with the task's
   * error), but the session is released either way.
   */
  async delete(syncContext = false): Promise<DeleteResult> {
    return respond<DeleteResult>({}, async () => {
      const { uploadsSucceeded, errorMessage } = await this.sessions.release(this.view.id, syncContext);
      if (uploadsSucceeded) return {};
      throw new TaskFailedError(`Session released, but the upload failed: ${errorMessage ?? ""}`);
    });
  }
}

/** `session.context`: sync and status of the session's mounts. */
export class SessionContextManager {
  constructor(
    private readonly sessions: SessionBackend,
    private readonly sessionId: string,
  ) {}

  /** Latest task of every mount and type. */
  info(): Promise<ContextInfoResult> {
    return this.infoWithParams();
  }

  /** Latest tasks, filtered by context, path and type. */
  infoWithParams(contextId?: string, path?: string, taskType?: "upload" | "download"): Promise<ContextInfoResult> {
    return respond<ContextInfoResult>({ contextStatusData: [] }, async () => {
      if (taskType !== undefined && taskType !== "upload" && taskType !== "download") {
        throw new InvalidParameterError(`Invalid taskType ${JSON.stringify(taskType)}: use "upload", "download", or leave it out.`);
      }
      // Blank filters are no filters, as in sync().
      const tasks = await this.sessions.info(this.sessionId, { contextId: blankToUndefined(contextId), path: blankToUndefined(path), taskType });
      return { contextStatusData: tasks.map(({ taskId: _taskId, ...status }) => status) };
    });
  }

  /**
   * Uploads (default) or downloads. Without `contextId` and `path`, every mount; with both, that mount,
   * or an ad-hoc sync of that path when it is not mounted. Without `callback`, returns when the tasks are
   * terminal with `success` true only if all succeeded; with one, returns once the tasks are accepted and
   * calls `callback(success)` once at the end. Remote clients poll the tasks `maxRetries` times (default
   * 150) from `retryInterval` ms (default 500), ×1.1 per round up to 5 s, as the reference does, and fail
   * with "Context sync polling timed out after N attempts" when the rounds run out; the embedded client
   * waits on its tasks directly.
   */
  async sync(
    contextId?: string,
    path?: string,
    mode?: SyncMode,
    callback?: (success: boolean) => void,
    maxRetries: number = SYNC_POLL.maxRetries,
    retryInterval: number = SYNC_POLL.retryIntervalMs,
  ): Promise<ContextSyncResult> {
    const id = blankToUndefined(contextId);
    const p = blankToUndefined(path);
    if ((id === undefined) !== (p === undefined)) {
      throw new InvalidParameterError(
        "contextId and path must be provided together or both omitted. If you want to sync a specific context, both contextId and path are required. If you want to sync all contexts, omit both parameters.",
      );
    }
    const poll = { maxRetries, retryIntervalMs: retryInterval };
    let outcome: Promise<boolean> | undefined;
    const accepted = await respond<ContextSyncResult>({}, async () => {
      if (mode !== undefined && mode !== "upload" && mode !== "download") {
        throw new InvalidParameterError(`Invalid sync mode ${JSON.stringify(mode)}: use "upload" or "download".`);
      }
      const started = await this.sessions.sync(this.sessionId, { contextId: id, path: p, mode });
      if (callback) {
        outcome = started.wait(poll).then((o) => o.ok);
        return {};
      }
      const done = await started.wait(poll);
      if (!done.ok) throw outcomeError(done);
      return {};
    });
    if (callback) {
      if (outcome) void outcome.then(callback);
      else queueMicrotask(() => callback(false));
    }
    return accepted;
  }

  /** Mounts more contexts on the running session and downloads them per policy. */
  async bind(contexts: ContextSync | readonly ContextSync[], waitForCompletion = true): Promise<OperationResult> {
    const list = Array.isArray(contexts) ? (contexts as readonly ContextSync[]) : [contexts as ContextSync];
    if (list.length === 0) {
      return respond<OperationResult>({}, async () => {
        throw new InvalidParameterError("At least one context is required");
      });
    }
    return respond<OperationResult>({ data: false }, async () => {
      const started = await this.sessions.bind(this.sessionId, list, waitForCompletion);
      if (waitForCompletion) {
        const done = await started.wait(SYNC_POLL);
        if (!done.ok) throw outcomeError(done, "A bound context failed to download (see info())");
      }
      return { data: true };
    });
  }

  /** The session's mounts. */
  async listBindings(): Promise<OperationResult & { bindings: ContextBinding[] }> {
    return respond<OperationResult & { bindings: ContextBinding[] }>({ bindings: [] }, async () => ({
      bindings: await this.sessions.listBindings(this.sessionId),
    }));
  }
}

/** The error a result carries for tasks that did not all succeed: polling gave up, or which failed and why. */
function outcomeError(outcome: TasksOutcome, what?: string): CtxSyncError {
  if (outcome.error) return outcome.error;
  if (outcome.timedOutAfter !== undefined) return new SyncTimeoutError(outcome.timedOutAfter);
  const why = outcome.errorMessage ?? "a task failed";
  return new TaskFailedError(what ? `${what}: ${why}` : why);
}

function blankToUndefined(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s;
}
