import type { Clock } from "../engine/index.js";
import { newId, type MetaStore, type TaskRecord, type TaskType } from "../store/index.js";
import { taskBellOf } from "./task-bell.js";

/** Records a new Pending task: the first state of every task, run in process or by an agent. */
export async function queueTask(
  deps: { meta: Pick<MetaStore, "createTask">; clock: Clock },
  fields: { sessionId: string; contextId: string; path: string; taskType: TaskType },
): Promise<TaskRecord> {
  const now = deps.clock.now();
  const record: TaskRecord = {
    id: newId("task", now),
    ...fields,
    status: "Pending",
    startTimeMs: null,
    finishTimeMs: null,
    errorMessage: "",
    filesDone: 0,
    filesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    createdAtMs: now,
  };
  await deps.meta.createTask(record);
  taskBellOf(deps.meta).ring(fields.sessionId); // an agent's long poll
  return record;
}
