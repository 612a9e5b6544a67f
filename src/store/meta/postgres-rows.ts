/**
 * The shared SQL rows (sql-rows.ts) as pg returns them, and the column lists the PostgreSQL store selects.
 * pg returns BIGINT (int8) as a string, since it may exceed 2^53; every value we store came from a JS
 * number, so each BIGINT column is turned back into one in the converters (the global type parsers stay
 * untouched for other users of pg in the process). INTEGER, DOUBLE PRECISION and BOOLEAN arrive as JS
 * numbers and booleans.
 */
import * as rows from "./sql-rows.js";

/** A BIGINT as pg returns it. */
type Int8 = string;

export type ContextRow = rows.ContextRow<Int8>;
export type FileRow = rows.FileRow<Int8>;
export type BaseRow = rows.BaseRow<Int8>;
export type GenerationRow = rows.GenerationRow<Int8>;
export type TaskRow = rows.TaskRow<Int8>;
export type SessionRow = rows.SessionRow<Int8>;
export type MountRow = rows.MountRow<Int8, boolean>;
export type ApiKeyRow = rows.ApiKeyRow<Int8, boolean>;

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

export const { toApiKey, toBaseEntry, toContext, toFile, toGeneration, toMount, toSession, toTask } = rows.rowConverters<Int8, boolean>({
  int: int8,
  bool: (v) => v,
});
