import type { z } from "@hono/zod-openapi";
import type { ContextView, GenerationView, SessionView, TaskView } from "../api/index.js";
import type { ContextRecord, GenerationRecord, SessionRecord, TaskRecord } from "../store/index.js";

/** Store records in their wire shapes (src/api/schemas.ts): ISO times for records, Unix seconds for tasks. */

export function contextView(c: ContextRecord): z.infer<typeof ContextView> {
  return {
    id: c.id,
    name: c.name,
    createdAt: new Date(c.createdAtMs).toISOString(),
    lastUsedAt: new Date(c.lastUsedAtMs).toISOString(),
    state: c.state,
  };
}

export function sessionView(s: SessionRecord): z.infer<typeof SessionView> {
  return { id: s.id, status: s.status, createdAt: new Date(s.createdAtMs).toISOString(), labels: s.labels };
}

export function taskView(t: TaskRecord): z.infer<typeof TaskView> {
  return {
    id: t.id,
    contextId: t.contextId,
    path: t.path,
    taskType: t.taskType,
    status: t.status,
    errorMessage: t.errorMessage,
    startTime: unixSeconds(t.startTimeMs),
    finishTime: unixSeconds(t.finishTimeMs),
    filesDone: t.filesDone,
    filesTotal: t.filesTotal,
    bytesDone: t.bytesDone,
    bytesTotal: t.bytesTotal,
  };
}

export function generationView(g: GenerationRecord): z.infer<typeof GenerationView> {
  return {
    generation: g.generation,
    time: new Date(g.timeMs).toISOString(),
    sessionId: g.sessionId,
    added: g.added,
    changed: g.changed,
    removed: g.removed,
  };
}

/** Unix seconds of a time in ms; 0 for "not yet", as the reference reports tasks. */
export function unixSeconds(ms: number | null): number {
  return ms === null ? 0 : Math.floor(ms / 1000);
}
