import { describeError } from "../errors/index.js";
import { summarizeProblems, type Clock, type Problem, type Progress } from "../engine/index.js";
import type { MetaStore, TaskRecord, TaskStatus, TaskType } from "../store/index.js";
import { queueTask } from "./queue-task.js";

/** A task whose record exists (status Pending) and whose work may still be queued. */
export interface StartedTask {
  record: TaskRecord;
  /** Resolves with the final status; never rejects (failures are recorded on the task). */
  done: Promise<TaskStatus>;
}

/** The work of a task: given a progress sink, returns the per-file problems it met. Throws to fail it whole. */
export type TaskWork = (onProgress: (p: Progress) => void) => Promise<{ problems: Problem[] }>;

/**
 * Records a task as Pending at once (so `info()` shows it), then runs `work` through `schedule` and
 * records Running, progress, and finally Success or Failed with an errorMessage that says why.
 */
export async function startTask(
  deps: { meta: Pick<MetaStore, "createTask" | "updateTask">; clock: Clock },
  fields: { sessionId: string; contextId: string; path: string; taskType: TaskType },
  schedule: (run: () => Promise<TaskStatus>) => Promise<TaskStatus>,
  work: TaskWork,
): Promise<StartedTask> {
  const record = await queueTask(deps, fields);

  const run = async (): Promise<TaskStatus> => {
    await deps.meta.updateTask(record.id, { status: "Running", startTimeMs: deps.clock.now() });
    let status: TaskStatus;
    let errorMessage = "";
    let progressWrites = Promise.resolve();
    try {
      const { problems } = await work((p) => {
        // Progress writes are chained so they land in order and none is left dangling.
        progressWrites = progressWrites.then(() => deps.meta.updateTask(record.id, { ...p }));
      });
      await progressWrites;
      status = problems.length === 0 ? "Success" : "Failed";
      if (problems.length > 0) errorMessage = summarizeProblems(problems);
    } catch (err) {
      await progressWrites.catch(() => undefined); // the task already fails with `err`, the more useful error
      status = "Failed";
      errorMessage = describeError(err);
    }
    await deps.meta.updateTask(record.id, { status, errorMessage, finishTimeMs: deps.clock.now() });
    return status;
  };
  return { record, done: schedule(run) };
}
