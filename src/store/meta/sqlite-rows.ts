/** Rows of the SQLite schema (sqlite-migrations.ts) and their records: one place that knows both shapes. */
import type {
  ApiKeyRecord,
  ContextRecord,
  ContextState,
  FileRecord,
  FileType,
  GenerationRecord,
  SessionAgent,
  SessionRecord,
  SessionStatus,
  TaskRecord,
  TaskType,
} from "../meta-store.js";

export interface ContextRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
  last_used_at: number;
  state: string;
  head: number;
}

export interface FileRow {
  key: string;
  gen_from: number;
  type: string;
  digest: string | null;
  size: number;
  mode: number;
  mtime_ms: number;
  link_target: string | null;
  written_at: number;
  expires_at: number | null;
}

export interface GenerationRow {
  context_id: string;
  generation: number;
  time: number;
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
  start_time: number | null;
  finish_time: number | null;
  error_message: string;
  files_done: number;
  files_total: number;
  bytes_done: number;
  bytes_total: number;
  created_at: number;
}

export interface SessionRow {
  id: string;
  tenant_id: string;
  status: string;
  root: string;
  labels: string;
  created_at: number;
  agent: string;
  last_heartbeat: number | null;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  hash: string;
  is_admin: number;
  created_at: number;
  revoked_at: number | null;
}

export function toContext(r: ContextRow): ContextRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    createdAtMs: r.created_at,
    lastUsedAtMs: r.last_used_at,
    state: r.state as ContextState,
    headGeneration: r.head,
  };
}

export function toGeneration(g: GenerationRow): GenerationRecord {
  return {
    contextId: g.context_id,
    generation: g.generation,
    timeMs: g.time,
    sessionId: g.session_id,
    added: g.added,
    changed: g.changed,
    removed: g.removed,
  };
}

export function toFile(r: FileRow): FileRecord {
  return {
    key: r.key,
    type: r.type as FileType,
    digest: r.digest,
    sizeBytes: r.size,
    mode: r.mode,
    mtimeMs: r.mtime_ms,
    linkTarget: r.link_target,
    generation: r.gen_from,
    writtenAtMs: r.written_at,
    expiresAtMs: r.expires_at,
  };
}

export function toSession(r: SessionRow): SessionRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    status: r.status as SessionStatus,
    root: r.root,
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAtMs: r.created_at,
    agent: r.agent as SessionAgent,
    lastHeartbeatMs: r.last_heartbeat,
  };
}

export function toApiKey(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    tenantName: r.tenant_name,
    hash: r.hash,
    isAdmin: r.is_admin === 1,
    createdAtMs: r.created_at,
    revokedAtMs: r.revoked_at,
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
    startTimeMs: r.start_time,
    finishTimeMs: r.finish_time,
    errorMessage: r.error_message,
    filesDone: r.files_done,
    filesTotal: r.files_total,
    bytesDone: r.bytes_done,
    bytesTotal: r.bytes_total,
    createdAtMs: r.created_at,
  };
}
