import type { TaskRecord, TaskStatus, TaskType } from "../store/index.js";

/** Status of one sync task, in the reference's shape plus progress. Times are Unix seconds (0 = not yet). */
export interface ContextStatusData {
  contextId: string;
  path: string;
  errorMessage: string;
  status: TaskStatus;
  startTime: number;
  finishTime: number;
  taskType: TaskType;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export function toContextStatusData(t: TaskRecord): ContextStatusData {
  return {
    contextId: t.contextId,
    path: t.path,
    errorMessage: t.errorMessage,
    status: t.status,
    startTime: t.startTimeMs === null ? 0 : Math.floor(t.startTimeMs / 1000),
    finishTime: t.finishTimeMs === null ? 0 : Math.floor(t.finishTimeMs / 1000),
    taskType: t.taskType,
    filesDone: t.filesDone,
    filesTotal: t.filesTotal,
    bytesDone: t.bytesDone,
    bytesTotal: t.bytesTotal,
  };
}

/** Why tasks failed, one `path: errorMessage` per failed task: `/data: 1 file failed: …; /logs: …`. */
export function describeFailedTasks(tasks: readonly Pick<ContextStatusData, "status" | "path" | "errorMessage">[]): string {
  return tasks
    .filter((t) => t.status === "Failed")
    .map((t) => `${t.path}: ${t.errorMessage}`)
    .join("; ");
}
