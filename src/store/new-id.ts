import { monotonicFactory } from "ulid";

// Monotonic: ids made in the same millisecond still sort in creation order, which listings rely on.
const ulid = monotonicFactory();

/** A new sortable id with a kind prefix: `newId("ctx")` → `ctx-01J…`. */
export function newId(prefix: "tnt" | "ctx" | "sess" | "task" | "key", nowMs?: number): string {
  return `${prefix}-${ulid(nowMs)}`;
}
