import { InvalidParameterError } from "../../errors/index.js";
import type { TaskUpdate } from "../meta-store.js";

/*
 * What the SQLite and PostgreSQL stores say alike: their schemas share table and column names (see
 * postgres-migrations.ts), so these pieces are written once. Placeholders differ (? against $n), so
 * statements with parameters stay in each store.
 */

export const API_KEY_SELECT =
  "SELECT k.id, k.tenant_id, t.name AS tenant_name, k.hash, k.is_admin, k.created_at, k.revoked_at FROM api_keys k JOIN tenants t ON t.id = k.tenant_id";

/** Columns of a file version as both stores read it. */
export const FILE_COLUMNS = "key, gen_from, type, digest, size, mode, mtime_ms, link_target, written_at, expires_at";

/** Task fields and their columns; updateTask and updateTaskIf write only these. */
const TASK_UPDATE_COLUMNS: Record<keyof TaskUpdate, string> = {
  status: "status",
  startTimeMs: "start_time",
  finishTimeMs: "finish_time",
  errorMessage: "error_message",
  filesDone: "files_done",
  filesTotal: "files_total",
  bytesDone: "bytes_done",
  bytesTotal: "bytes_total",
};

/**
 * The columns and values a task update sets, in order; undefined fields are left out, not NULLed. Each
 * store writes the placeholders of its own dialect.
 */
export function taskUpdateColumns(update: TaskUpdate): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [field, value] of Object.entries(update)) {
    if (value === undefined) continue;
    const column = TASK_UPDATE_COLUMNS[field as keyof TaskUpdate];
    if (!column) throw new InvalidParameterError(`Unknown task field ${field}.`);
    columns.push(column);
    values.push(value);
  }
  return { columns, values };
}

/** The nextToken of a page of contexts that ended at `lastId`. */
export function encodePageToken(lastId: string): string {
  return Buffer.from(lastId, "utf8").toString("base64url");
}

/** The context id a nextToken carries; InvalidParameterError for anything no list() returned. */
export function decodePageToken(token: string): string {
  const id = Buffer.from(token, "base64url").toString("utf8");
  if (!/^ctx-[0-9A-Z]{26}$/.test(id)) {
    throw new InvalidParameterError(`Invalid nextToken ${JSON.stringify(token)}: pass the nextToken of a previous list() result.`);
  }
  return id;
}

/**
 * For a row `m` of blob_deletion_marks: true when it is its digest's latest mark and says `deleting` (a
 * store is deleting the blob now). Both dialects: no parameters.
 */
export const LATEST_IS_DELETING =
  "m.state = 'deleting' AND m.change = (SELECT MAX(l.change) FROM blob_deletion_marks l WHERE l.digest = m.digest)";
