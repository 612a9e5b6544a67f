/**
 * Rows of the schema both SQL stores share (sqlite-migrations.ts, postgres-migrations.ts: same tables
 * and columns) and the records they become: one place that knows both shapes. The dialects differ only
 * in what their driver returns for two column types, the parameters of every row:
 * - `I`, a BIGINT: SQLite gives a number; pg gives a string, since it may exceed 2^53;
 * - `B`, a boolean: SQLite stores 0 or 1; PostgreSQL has BOOLEAN.
 * Each store binds the converters to its driver once (sqlite-rows.ts, postgres-rows.ts).
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

export interface ContextRow<I> {
  id: string;
  tenant_id: string;
  name: string;
  created_at: I;
  last_used_at: I;
  state: string;
  head: number;
}

export interface FileRow<I> {
  key: string;
  gen_from: number;
  type: string;
  digest: string | null;
  size: I;
  mode: number;
  mtime_ms: number;
  link_target: string | null;
  written_at: I;
  expires_at: I | null;
}

export type BaseRow<I> = Omit<FileRow<I>, "gen_from" | "written_at" | "expires_at">;

export interface GenerationRow<I> {
  context_id: string;
  generation: number;
  time: I;
  session_id: string | null;
  added: number;
  changed: number;
  removed: number;
}

export interface TaskRow<I> {
  id: string;
  session_id: string;
  context_id: string;
  path: string;
  task_type: string;
  status: string;
  start_time: I | null;
  finish_time: I | null;
  error_message: string;
  files_done: I;
  files_total: I;
  bytes_done: I;
  bytes_total: I;
  created_at: I;
}

export interface SessionRow<I> {
  id: string;
  tenant_id: string;
  status: string;
  root: string;
  labels: string;
  created_at: I;
  agent: string;
  last_heartbeat: I | null;
}

export interface MountRow<I, B> {
  session_id: string;
  path: string;
  context_id: string;
  policy: string;
  wait_for_completion: B;
  bind_time: I;
}

export interface ApiKeyRow<I, B> {
  id: string;
  tenant_id: string;
  tenant_name: string;
  hash: string;
  is_admin: B;
  created_at: I;
  revoked_at: I | null;
}

/** How a driver's BIGINT and boolean values become numbers and booleans. */
export interface ColumnTypes<I, B> {
  int(v: I): number;
  bool(v: B): boolean;
}

/** The row → record converters for a driver's column types. */
export function rowConverters<I, B>(t: ColumnTypes<I, B>) {
  const intOrNull = (v: I | null): number | null => (v === null ? null : t.int(v));
  const toBaseEntry = (r: BaseRow<I>): BaseEntry => ({
    key: r.key,
    type: r.type as FileType,
    digest: r.digest,
    sizeBytes: t.int(r.size),
    mode: r.mode,
    mtimeMs: r.mtime_ms,
    linkTarget: r.link_target,
  });
  return {
    toBaseEntry,
    toContext: (r: ContextRow<I>): ContextRecord => ({
      id: r.id,
      tenantId: r.tenant_id,
      name: r.name,
      createdAtMs: t.int(r.created_at),
      lastUsedAtMs: t.int(r.last_used_at),
      state: r.state as ContextState,
      headGeneration: r.head,
    }),
    toGeneration: (g: GenerationRow<I>): GenerationRecord => ({
      contextId: g.context_id,
      generation: g.generation,
      timeMs: t.int(g.time),
      sessionId: g.session_id,
      added: g.added,
      changed: g.changed,
      removed: g.removed,
    }),
    // Written out, not a spread of toBaseEntry: listings convert tens of thousands of these at a time.
    toFile: (r: FileRow<I>): FileRecord => ({
      key: r.key,
      type: r.type as FileType,
      digest: r.digest,
      sizeBytes: t.int(r.size),
      mode: r.mode,
      mtimeMs: r.mtime_ms,
      linkTarget: r.link_target,
      generation: r.gen_from,
      writtenAtMs: t.int(r.written_at),
      expiresAtMs: intOrNull(r.expires_at),
    }),
    toSession: (r: SessionRow<I>): SessionRecord => ({
      id: r.id,
      tenantId: r.tenant_id,
      status: r.status as SessionStatus,
      root: r.root,
      labels: JSON.parse(r.labels) as Record<string, string>,
      createdAtMs: t.int(r.created_at),
      agent: r.agent as SessionAgent,
      lastHeartbeatMs: intOrNull(r.last_heartbeat),
    }),
    toMount: (r: MountRow<I, B>): MountRecord => ({
      sessionId: r.session_id,
      contextId: r.context_id,
      path: r.path,
      policyJson: r.policy,
      waitForCompletion: t.bool(r.wait_for_completion),
      bindTimeMs: t.int(r.bind_time),
    }),
    toApiKey: (r: ApiKeyRow<I, B>): ApiKeyRecord => ({
      id: r.id,
      tenantId: r.tenant_id,
      tenantName: r.tenant_name,
      hash: r.hash,
      isAdmin: t.bool(r.is_admin),
      createdAtMs: t.int(r.created_at),
      revokedAtMs: intOrNull(r.revoked_at),
    }),
    toTask: (r: TaskRow<I>): TaskRecord => ({
      id: r.id,
      sessionId: r.session_id,
      contextId: r.context_id,
      path: r.path,
      taskType: r.task_type as TaskType,
      status: r.status as TaskRecord["status"],
      startTimeMs: intOrNull(r.start_time),
      finishTimeMs: intOrNull(r.finish_time),
      errorMessage: r.error_message,
      filesDone: t.int(r.files_done),
      filesTotal: t.int(r.files_total),
      bytesDone: t.int(r.bytes_done),
      bytesTotal: t.int(r.bytes_total),
      createdAtMs: t.int(r.created_at),
    }),
  };
}
