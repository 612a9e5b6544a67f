import type { CtxSyncError } from "../errors/index.js";
import type { ContextSync } from "../policy/index.js";
import type { FileEntry, GcStats } from "../service/index.js";
import type { Context } from "./context.js";
import type { ContextStatusData } from "./context-status-data.js";
import type { GenerationInfo } from "./results.js";

/**
 * The seam under the SDK: everything `CtxSync`, `ContextClient`, `Session` and `SessionContextManager`
 * do goes through it, in SDK view types (ISO-8601 times, the reference's shapes). Two implementations:
 * embedded-backend.ts (this process's services over the embedded store) and remote-backend.ts (the HTTP
 * API of a ctxsync server, with an in-process agent for sessions it creates locally). The SDK cannot
 * tell them apart, and test/scenarios runs one suite on both.
 *
 * Methods reject with CtxSyncError for anything a caller can cause or fix (the SDK turns those into
 * `{ success: false, errorMessage: "[Code] message" }`); other errors are bugs.
 */
export interface SdkBackend {
  readonly kind: "embedded" | "remote";
  readonly contexts: ContextBackend;
  readonly sessions: SessionBackend;
  /**
   * Resolves when the backend can serve; rejects with why it cannot (the embedded store failed to open).
   * Client-level calls await it before they run, so such a failure rejects them rather than failing a result.
   */
  ready(): Promise<void>;
  /** Garbage collection of the whole store; embedded only (a server collects on its own schedule). */
  gc(): Promise<GcStats>;
  /** Releases what the backend holds (the store; in-process agents). Sessions stay as they are. */
  close(): Promise<void>;
}

/** A context's clearing state, as `clearAsync` and `getClearStatus` report it. */
export interface ClearState {
  contextId: string;
  status: "clearing" | "available" | "in-use";
}

export interface ContextBackend {
  /** The context named `name`; with `create`, made when missing. */
  get(name: string, create: boolean): Promise<Context>;
  list(opts: { maxResults: number; nextToken?: string; sessionId?: string }): Promise<{ contexts: Context[]; nextToken?: string; totalCount: number }>;
  rename(contextId: string, name: string): Promise<void>;
  delete(contextId: string): Promise<void>;
  listFiles(contextId: string, parentFolderPath: string, pageNumber: number, pageSize: number): Promise<{ entries: FileEntry[]; count: number }>;
  deleteFile(contextId: string, filePath: string): Promise<void>;
  /** A URL that reads (GET) or writes (PUT) one file of the context without credentials, until `expireTime`. */
  fileUrl(contextId: string, filePath: string, method: "GET" | "PUT"): Promise<{ url: string; expireTime: number }>;
  /** Starts removing every file of the context (it keeps its id and name). */
  clearAsync(contextId: string): Promise<ClearState>;
  getClearStatus(contextId: string): Promise<ClearState>;
  /** Newest first. */
  log(contextId: string, limit?: number): Promise<GenerationInfo[]>;
  /** Returns the generation the restore committed. */
  restore(contextId: string, generation: number, path?: string): Promise<number>;
}

export type SessionStatus = "running" | "releasing" | "released" | "lost";

/** Who moves a session's files: this process (`local`), or an agent started elsewhere (`external`). */
export type SessionAgentKind = "local" | "external";

/** A session as the SDK shows it. */
export interface SessionView {
  id: string;
  status: SessionStatus;
  /** Local directory holding the session's filesystem, when this process knows it; else "/". */
  root: string;
  labels: Record<string, string>;
  /** ISO-8601. */
  createdAt: string;
  /** Only on the session `create({ agent: "external" })` just made: what its agent authenticates with. */
  sessionToken?: string;
}

export interface CreateSessionRequest {
  contextSync: readonly ContextSync[];
  root?: string;
  labels?: Record<string, string>;
  agent: SessionAgentKind;
}

/** One task of a session with its id (ContextStatusData is what users see). */
export interface TaskState extends ContextStatusData {
  taskId: string;
}

/** How long a wait on remote tasks polls: `maxRetries` rounds, from `retryIntervalMs` growing ×1.1 to 5 s. */
export interface PollOptions {
  maxRetries: number;
  retryIntervalMs: number;
}

/** How a set of tasks ended. */
export interface TasksOutcome {
  /** True when every task ended Success. */
  ok: boolean;
  /** When not ok: why, as `path: errorMessage; …` for failed tasks, or that polling gave up. */
  errorMessage?: string;
  /** Set when polling gave up after this many rounds with tasks still open (remote clients). */
  timedOutAfter?: number;
  /** Set when reading the tasks failed (remote clients): that error, not the tasks', is the outcome. */
  error?: CtxSyncError;
}

/** Tasks a sync or bind started (already recorded, so `info()` shows them), and a way to await them. */
export interface StartedTasks {
  taskIds: string[];
  /** Resolves once every task is terminal, or polling gave up (remote); never rejects. */
  wait(poll: PollOptions): Promise<TasksOutcome>;
}

export interface SessionBackend {
  /** Creates a session and, for local agents, waits for the initial downloads that did not opt out. */
  create(req: CreateSessionRequest): Promise<SessionView>;
  get(sessionId: string): Promise<SessionView>;
  list(): Promise<SessionView[]>;
  sync(sessionId: string, target: { contextId?: string; path?: string; mode?: "upload" | "download" }): Promise<StartedTasks>;
  /** Latest task per (context, path, type), filtered. */
  info(sessionId: string, filter: { contextId?: string; path?: string; taskType?: "upload" | "download" }): Promise<TaskState[]>;
  bind(sessionId: string, contextSyncs: readonly ContextSync[], waitForCompletion: boolean): Promise<StartedTasks>;
  listBindings(sessionId: string): Promise<{ contextId: string; contextName: string; path: string; policy: string; bindTime: number }[]>;
  /**
   * Uploads (every mount with `syncContext`, else the autoUpload ones), waits for those uploads, then
   * releases the session. `errorMessage` says why when they did not all succeed.
   */
  release(sessionId: string, syncContext: boolean): Promise<{ uploadsSucceeded: boolean; errorMessage?: string }>;
}
