/** The shared SQL rows (sql-rows.ts) as better-sqlite3 returns them: INTEGER as numbers, booleans as 0/1. */
import * as rows from "./sql-rows.js";

export type ContextRow = rows.ContextRow<number>;
export type FileRow = rows.FileRow<number>;
export type BaseRow = rows.BaseRow<number>;
export type GenerationRow = rows.GenerationRow<number>;
export type TaskRow = rows.TaskRow<number>;
export type SessionRow = rows.SessionRow<number>;
export type MountRow = rows.MountRow<number, number>;
export type ApiKeyRow = rows.ApiKeyRow<number, number>;

export const { toApiKey, toBaseEntry, toContext, toFile, toGeneration, toMount, toSession, toTask } = rows.rowConverters<number, number>({
  int: (v) => v,
  bool: (v) => v === 1,
});
