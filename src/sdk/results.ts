import { randomUUID } from "node:crypto";
import { CtxSyncError, type ErrorCode } from "../errors/index.js";
import type { FileEntry, GcStats } from "../service/index.js";
import type { Context } from "./context.js";
import type { ContextStatusData } from "./context-status-data.js";
import type { Session } from "./session.js";

/** Fields every result carries, as in the reference SDK. */
export interface ApiResponse {
  success: boolean;
  /** Identifies the call in logs: the server's request id when a remote call failed, else one per call. */
  requestId: string;
  /** Set when success is false: `[Code] message`, as the reference formats API errors. */
  errorMessage?: string;
  /** Set when success is false: the stable error code. */
  errorCode?: ErrorCode;
}

export interface OperationResult extends ApiResponse {
  data?: boolean;
}
export interface ContextResult extends ApiResponse {
  contextId: string;
  context?: Context;
}
export interface ContextListResult extends ApiResponse {
  contexts: Context[];
  nextToken?: string;
  maxResults?: number;
  totalCount?: number;
}
export interface ContextFileListResult extends ApiResponse {
  entries: FileEntry[];
  count?: number;
}
/** A URL for one file of a context (`getFileUploadUrl`: PUT the bytes; `getFileDownloadUrl`: GET them). */
export interface FileUrlResult extends ApiResponse {
  /** Carries its own signature: treat it as a secret until it expires, and never log it. */
  url: string;
  /** Unix seconds after which the URL is refused. */
  expireTime: number;
}
/** The clearing state of a context: `clearing` while files are being removed, then `available`. */
export interface ClearContextResult extends ApiResponse {
  contextId: string;
  status?: string;
}
/** One generation (atomic commit) of a context, as `context.log` lists it. */
export interface GenerationInfo {
  generation: number;
  /** When it was committed, ISO-8601 (like Context.createdAt). */
  time: string;
  /** Session whose upload committed it; null for file API writes, deletes and restores. */
  sessionId: string | null;
  /** Files it added, changed and removed. */
  added: number;
  changed: number;
  removed: number;
}
export interface ContextLogResult extends ApiResponse {
  /** Newest first. */
  generations: GenerationInfo[];
}
export interface ContextRestoreResult extends ApiResponse {
  /** The generation the restore committed (the head when nothing differed); absent on failure. */
  generation?: number;
}
/** What `client.gc()` did; all zero when it failed. */
export interface GcResult extends ApiResponse, GcStats {}
export interface SessionResult extends ApiResponse {
  session?: Session;
}
export interface SessionListResult extends ApiResponse {
  sessionIds: string[];
  totalCount?: number;
}
export type DeleteResult = ApiResponse;
export interface ContextInfoResult extends ApiResponse {
  contextStatusData: ContextStatusData[];
}
export type ContextSyncResult = ApiResponse;

export function newRequestId(): string {
  return randomUUID();
}

/**
 * Runs `fn` and turns a CtxSyncError into `{ success: false, errorMessage, errorCode }` merged over
 * `empty` (the result's empty shape). Other errors are bugs or a broken store and propagate.
 */
export async function respond<T extends ApiResponse>(
  empty: Omit<T, "success" | "requestId">,
  fn: (requestId: string) => Promise<Omit<T, "success" | "requestId">>,
): Promise<T> {
  const requestId = newRequestId();
  try {
    return { success: true, requestId, ...(await fn(requestId)) } as T;
  } catch (err) {
    if (!(err instanceof CtxSyncError)) throw err;
    // A server's error carries the id its log knows the call by (agent/RemoteApiError).
    const serverRequestId = (err as { requestId?: unknown }).requestId;
    return {
      ...empty,
      success: false,
      requestId: typeof serverRequestId === "string" && serverRequestId !== "" ? serverRequestId : requestId,
      errorMessage: `[${err.code}] ${err.message}`,
      errorCode: err.code,
    } as T;
  }
}
