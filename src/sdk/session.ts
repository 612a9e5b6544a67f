import { InvalidParameterError } from "../errors/index.js";
import type { ContextSync } from "../policy/index.js";
import type { SessionService, SyncMode } from "../service/index.js";
import type { SessionRecord, SessionStatus, TaskType } from "../store/index.js";
import { toContextStatusData } from "./context-status-data.js";
import {
  respond,
  type ContextInfoResult,
  type ContextSyncResult,
  type DeleteResult,
  type OperationResult,
} from "./results.js";

/** A binding of a context to a session path, as `listBindings()` returns it. */
export interface ContextBinding {
  contextId: string;
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
    private readonly sessions: SessionService,
    private readonly record: SessionRecord,
  ) {
    this.context = new SessionContextManager(sessions, record.id);
  }

  get sessionId(): string {
    return this.record.id;
  }
  get root(): string {
    return this.record.root;
  }
  get labels(): Record<string, string> {
    return { ...this.record.labels };
  }
  /** Status when this object was made; `client.get(id)` reads it afresh. */
  get status(): SessionStatus {
    return this.record.status;
  }

  /**
   * Releases the session. Uploads first — every mount with `syncContext`, else the `autoUpload` ones — and
   * returns after those uploads are terminal. A failed upload makes the result fail (with the task's
   * error), but the session is released either way.
   */
  async delete(syncContext = false): Promise<DeleteResult> {
    return respond<DeleteResult>({}, async () => {
      const { uploadsSucceeded, tasks } = await this.sessions.release(this.record.id, syncContext);
      if (uploadsSucceeded) return {};
      const failed = (await this.sessions.info(this.record.id)).filter(
        (t) => t.status === "Failed" && tasks.some((s) => s.id === t.id),
      );
      return {
        success: false,
        errorMessage: `Session released, but the upload failed: ${failed.map((t) => `${t.path}: ${t.errorMessage}`).join("; ")}`,
      };
    });
  }
}

/** `session.context`: sync and status of the session's mounts. */
export class SessionContextManager {
  constructor(
    private readonly sessions: SessionService,
    private readonly sessionId: string,
  ) {}

  /** Latest task of every mount and type. */
  info(): Promise<ContextInfoResult> {
    return this.infoWithParams();
  }

  /** Latest tasks, filtered by context, path and type. */
  infoWithParams(contextId?: string, path?: string, taskType?: TaskType): Promise<ContextInfoResult> {
    return respond<ContextInfoResult>({ contextStatusData: [] }, async () => {
      const tasks = await this.sessions.info(this.sessionId, { contextId, path, taskType });
      return { contextStatusData: tasks.map(toContextStatusData) };
    });
  }

  /**
   * Uploads (default) or downloads. Without `contextId` and `path`, every mount; with both, that mount,
   * or an ad-hoc sync of that path when it is not mounted. Without `callback`, returns when the tasks are
   * terminal with `success` true only if all succeeded; with one, returns once the tasks are accepted and
   * calls `callback(success)` once at the end. `maxRetries`/`retryInterval` are accepted for source
   * compatibility: the embedded client waits on the tasks directly and never polls.
   */
  async sync(
    contextId?: string,
    path?: string,
    mode?: SyncMode,
    callback?: (success: boolean) => void,
    _maxRetries?: number,
    _retryInterval?: number,
  ): Promise<ContextSyncResult> {
    const id = blankToUndefined(contextId);
    const p = blankToUndefined(path);
    if ((id === undefined) !== (p === undefined)) {
      throw new InvalidParameterError(
        "contextId and path must be provided together or both omitted. If you want to sync a specific context, both contextId and path are required. If you want to sync all contexts, omit both parameters.",
      );
    }
    let handleDone: Promise<boolean> | undefined;
    const accepted = await respond<ContextSyncResult>({}, async () => {
      const handle = await this.sessions.sync(this.sessionId, { contextId: id, path: p, mode });
      handleDone = handle.done;
      if (callback) return {};
      if (await handle.done) return {};
      const failed = (await this.sessions.info(this.sessionId)).filter(
        (t) => t.status === "Failed" && handle.tasks.some((s) => s.id === t.id),
      );
      return { success: false, errorMessage: failed.map((t) => `${t.path}: ${t.errorMessage}`).join("; ") };
    });
    if (callback) {
      if (handleDone) void handleDone.then(callback);
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
    return respond<OperationResult>({}, async () => {
      const started = await this.sessions.bind(this.sessionId, list, waitForCompletion);
      if (waitForCompletion) {
        const statuses = await Promise.all(started.map((t) => t.done));
        if (statuses.some((s) => s !== "Success")) return { data: false, success: false, errorMessage: "A bound context failed to download; see info()." };
      }
      return { data: true };
    });
  }

  /** The session's mounts. */
  async listBindings(): Promise<OperationResult & { bindings: ContextBinding[] }> {
    return respond<OperationResult & { bindings: ContextBinding[] }>({ bindings: [] }, async () => {
      const mounts = await this.sessions.listMounts(this.sessionId);
      return {
        bindings: mounts.map((m) => ({
          contextId: m.contextId,
          path: m.path,
          policy: m.policyJson,
          bindTime: Math.floor(m.bindTimeMs / 1000),
        })),
      };
    });
  }
}

function blankToUndefined(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s;
}
