/**
 * Rows of the PostgreSQL schema (postgres-migrations.ts) and their records: one place that knows both shapes.
 * pg returns BIGINT (int8) as a string, since it may exceed 2^53; every value we store came from a JS
 * number, so each BIGINT column is turned back into one here, column by column (the global type parsers
 * stay untouched for other users of pg in the process). INTEGER, DOUBLE PRECISION and BOOLEAN arrive as
 * JS numbers and booleans.
 */
import type {
  ApiKeyRecord,
  BaseEntry,
  ContextRecord,
  ContextState,
  FileRecord,
  FileType,
  GenerationRecord,
  MountRecord,
  SessionAgent,
  SessionRecord,
  SessionStatus,
  TaskRecord,
  TaskType,
} from "../meta-store.js";

/** A BIGINT as pg returns it. */
type Int8 = string;

export interface ContextRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Int8;
  last_used_at: Int8;
  state: string;
  head: number;
}

export interface FileRow {
  key: string;
  gen_from: number;
  type: string;
  digest: string | null;
  size: Int8;
  mode: number;
  mtime_ms: number;
  link_target: string | null;
  written_at: Int8;
  expires_at: Int8 | null;
}

export type BaseRow = Omit<FileRow, "gen_from" | "written_at" | "expires_at">;

export interface GenerationRow {
  context_id: string;
  generation: number;
  time: Int8;
  session_id: string | null;
  added: number;
  changed: number;
  removed: number;
}

export interface TaskRow {
  id: string;
  session_id: string;
  context_id: string;
  path: string;
  task_type: string;
  status: string;
  start_time: Int8 | null;
  finish_time: Int8 | null;
  error_message: string;
  files_done: Int8;
  files_total: Int8;
  bytes_done: Int8;
  bytes_total: Int8;
  created_at: Int8;
}

export interface SessionRow {
  id: string;
  tenant_id: string;
  status: string;
  root: string;
  labels: string;
  created_at: Int8;
  agent: string;
  last_heartbeat: Int8 | null;
}

export interface MountRow {
  session_id: string;
  path: string;
  context_id: string;
  policy: string;
  wait_for_completion: boolean;
  bind_time: Int8;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  hash: string;
  is_admin: boolean;
  created_at: Int8;
  revoked_at: Int8 | null;
}

/** Column lists of the selects that read the rows above (FILE_COLUMNS and API_KEY_SELECT: sql-shared.ts). */
export const CONTEXT_COLUMNS = "id, tenant_id, name, created_at, last_used_at, state, head";
export const GENERATION_COLUMNS = "context_id, generation, time, session_id, added, changed, removed";
/** Not token_hash: the store never returns it. */
export const SESSION_COLUMNS = "id, tenant_id, status, root, labels, created_at, agent, last_heartbeat";
export const TASK_COLUMNS_SQL =
  "id, session_id, context_id, path, task_type, status, start_time, finish_time, error_message, files_done, files_total, bytes_done, bytes_total, created_at";

/** A BIGINT column's value as a number. */
export function int8(v: Int8): number {
  return Number(v);
}

function int8OrNull(v: Int8 | null): number | null {
  return v === null ? null : Number(v);
}

export function toContext(r: ContextRow): ContextRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    createdAtMs: int8(r.created_at),
    lastUsedAtMs: int8(r.last_used_at),
    state: r.state as ContextState,
    headGeneration: r.head,
  };
}

export function toGeneration(g: GenerationRow): GenerationRecord {
  return {
    contextId: g.context_id,
    generation: g.generation,
    timeMs: int8(g.time),
    sessionId: g.session_id,
    added: g.added,
    changed: g.changed,
    removed: g.removed,
  };
}

export function toFile(r: FileRow): FileRecord {
  return {
    ...toBaseEntry(r),
    generation: r.gen_from,
    writtenAtMs: int8(r.written_at),
    expiresAtMs: int8OrNull(r.expires_at),
  };
}

export function toBaseEntry(r: BaseRow): BaseEntry {
  return {
    key: r.key,
    type: r.type as FileType,
    digest: r.digest,
    sizeBytes: int8(r.size),
    mode: r.mode,
    mtimeMs: r.mtime_ms,
    linkTarget: r.link_target,
  };
}

export function toSession(r: SessionRow): SessionRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    status: r.status as SessionStatus,
    root: r.root,
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAtMs: int8(r.created_at),
    agent: r.agent as SessionAgent,
    lastHeartbeatMs: int8OrNull(r.last_heartbeat),
  };
}

export function toMount(r: MountRow): MountRecord {
  return {
    sessionId: r.session_id,
    contextId: r.context_id,
    path: r.path,
    policyJson: r.policy,
    waitForCompletion: r.wait_for_completion,
    bindTimeMs: int8(r.bind_time),
  };
}

export function toApiKey(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    tenantName: r.tenant_name,
    hash: r.hash,
    isAdmin: r.is_admin,
    createdAtMs: int8(r.created_at),
    revokedAtMs: int8OrNull(r.revoked_at),
  };
}

export function toTask(r: TaskRow): TaskRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    contextId: r.context_id,
    path: r.path,
    taskType: r.task_type as TaskType,
    status: r.status as TaskRecord["status"],
    startTimeMs: int8OrNull(r.start_time),
    finishTimeMs: int8OrNull(r.finish_time),
    errorMessage: r.error_message,
    filesDone: int8(r.files_done),
    filesTotal: int8(r.files_total),
    bytesDone: int8(r.bytes_done),
    bytesTotal: int8(r.bytes_total),
    createdAtMs: int8(r.created_at),
  };
}
