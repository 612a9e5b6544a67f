import type { z } from "@hono/zod-openapi";
import type { AgentTask, TaskFinishBody, TaskProgressBody } from "../api/index.js";
import { apiPaths } from "../api/index.js";
import { describeError } from "../errors/index.js";
import { downloadMount, MountLayout, summarizeProblems, systemClock, uploadMount, type Progress } from "../engine/index.js";
import { normalizeRelativePolicyPath, normalizeSessionPath, SyncPolicy } from "../policy/index.js";
import type { ApiClient } from "./api-client.js";
import { abortableSleep } from "./abortable-sleep.js";
import type { AgentLog } from "./agent-log.js";
import type { RemoteBlobStore } from "./remote-blob-store.js";
import { RemoteApiError } from "./remote-api-error.js";
import type { AgentMetaStore } from "./remote-meta-store.js";

export type AgentTaskView = z.infer<typeof AgentTask>;
export type TaskOutcome = z.infer<typeof TaskFinishBody>["status"];

/** What a task runs with: the session's stores over HTTP and where its filesystem is. */
export interface AgentTaskContext {
  api: ApiClient;
  meta: AgentMetaStore;
  blobs: RemoteBlobStore;
  sessionId: string;
  /** Local directory holding the session's filesystem. */
  root: string;
  signal: AbortSignal;
  log: AgentLog;
  /** Ends of tasks the server could not be told of yet; the poll loop sends them again. */
  unreported: UnreportedFinishes;
}

/** Progress is sent at most this often: the server writes each report, and a person reads it by eye. */
const PROGRESS_INTERVAL_MS = 1000;
/** Attempts to report a task's end at once; after them the report waits for the server to answer polls again. */
const FINISH_ATTEMPTS = 4;
/** Deadline of one report: its own, not the agent's signal, so a stopping agent still says how its tasks ended. */
const FINISH_TIMEOUT_MS = 15_000;

/**
 * How long a task the server broke off (unreachable, or answering 502/503/504: a restart, an outage of
 * its store) is run again: a restart with ample margin. Running it again is safe: an upload finds the blobs it sent
 * stored and commits against the head; a download skips the files it placed.
 */
const TASK_RETRY_MS = 10 * 60_000;
/** Waits between the runs of a broken-off task grow from 1 s to this. */
const MAX_TASK_RETRY_DELAY_MS = 15_000;

/**
 * Runs one upload or download task with the engine, reporting progress, then reports Success, or Failed
 * with an errorMessage that says why (per-file problems summarised, or the error that stopped it). A task
 * the server broke off is run again once it answers (TASK_RETRY_MS), so a server restart during a
 * release's upload does not release the session without its data.
 * Never rejects: every failure ends up on the task. Returns the status reported.
 */
export async function runAgentTask(ctx: AgentTaskContext, task: AgentTaskView): Promise<TaskOutcome> {
  const progress = new ProgressReporter(ctx, task.id);
  const deadline = Date.now() + TASK_RETRY_MS;
  let status: TaskOutcome;
  let errorMessage = "";
  for (let attempt = 1; ; attempt++) {
    try {
      const problems = await runEngine(ctx, task, progress);
      status = problems.length === 0 ? "Success" : "Failed";
      if (problems.length > 0) errorMessage = summarizeProblems(problems);
      break;
    } catch (err) {
      const delayMs = Math.min(MAX_TASK_RETRY_DELAY_MS, 1000 * 2 ** (attempt - 1));
      if (!ctx.signal.aborted && isServerOutage(err) && Date.now() + delayMs < deadline) {
        ctx.log("warn", `${task.taskType} of ${task.mount.path} broke off (${describeError(err)}); running it again in ${Math.round(delayMs / 1000)} s`);
        await abortableSleep(delayMs, ctx.signal);
        if (!ctx.signal.aborted) continue;
      }
      status = "Failed";
      errorMessage = ctx.signal.aborted ? `The agent stopped during the ${task.taskType}: ${describeError(err)}` : describeError(err);
      break;
    }
  }
  await progress.close();
  await reportFinish(ctx, task, { status, errorMessage });
  ctx.log("info", `${task.taskType} of ${task.mount.path}: ${status}${errorMessage ? ` (${errorMessage})` : ""}`);
  return status;
}

/** One run of the task's transfer; the per-file problems it met. */
async function runEngine(ctx: AgentTaskContext, task: AgentTaskView, progress: ProgressReporter) {
  const layout = new MountLayout(ctx.root, {
    contextId: task.mount.contextId,
    path: normalizeSessionPath(task.mount.path),
    namespace: normalizeSessionPath(task.mount.namespace),
    policy: SyncPolicy.fromJSON(task.mount.policy),
    ...(task.mount.scope ? { scope: normalizeRelativePolicyPath(task.mount.scope, "task scope") } : {}),
  });
  const deps = { meta: ctx.meta, blobs: ctx.blobs, clock: systemClock };
  const onProgress = (p: Progress) => progress.report(p);
  const args = { tenantId: "", sessionId: ctx.sessionId, layout, onProgress };
  const { problems } = task.taskType === "upload" ? await uploadMount(deps, args) : await downloadMount(deps, args);
  return problems;
}

/**
 * The server could not be reached, or said it cannot serve now (502, 503, 504: restarting, its store
 * down): it may answer again. A refusal (4xx) or an internal error (500, 501) would only come again.
 */
function isServerOutage(err: unknown): boolean {
  return err instanceof RemoteApiError && [0, 502, 503, 504].includes(err.httpStatus);
}

type FinishBody = z.input<typeof TaskFinishBody>;

/**
 * Reports a task's end, retrying a few times; if the server stays out of reach, the report waits in
 * `ctx.unreported` for the poll loop, so the task does not stay Running on the server for good. A
 * stopping agent tries once.
 */
async function reportFinish(ctx: AgentTaskContext, task: AgentTaskView, body: FinishBody): Promise<void> {
  const label = `task ${task.id} (${task.taskType} of ${task.mount.path})`;
  const attempts = ctx.signal.aborted ? 1 : FINISH_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    const err = await sendFinish(ctx.api, task.id, body);
    if (err === null) return;
    if (!isUnreachable(err)) {
      ctx.log("warn", `could not report the end of ${label}: ${describeError(err)}`);
      return;
    }
    if (attempt >= attempts) {
      ctx.log("warn", `could not report the end of ${label} yet (${describeError(err)}); will again once the server answers`);
      ctx.unreported.add(task.id, label, body);
      return;
    }
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
}

async function sendFinish(api: ApiClient, taskId: string, body: FinishBody): Promise<unknown> {
  try {
    await api.json("POST", apiPaths.agentTaskFinish(taskId), { json: body, signal: AbortSignal.timeout(FINISH_TIMEOUT_MS) });
    return null;
  } catch (err) {
    return err;
  }
}

/** Unreachable or failing (5xx): worth trying again later. A 4xx refusal will not change. */
function isUnreachable(err: unknown): boolean {
  const status = (err as { httpStatus?: number }).httpStatus ?? 0;
  return status === 0 || status >= 500;
}

/** Task ends the agent could not report yet, sent again each time a poll succeeds (UnreportedFinishes.send). */
export class UnreportedFinishes {
  private readonly waiting = new Map<string, { label: string; body: FinishBody; sinceMs: number }>();

  add(taskId: string, label: string, body: FinishBody): void {
    this.waiting.set(taskId, { label, body, sinceMs: Date.now() });
  }

  get size(): number {
    return this.waiting.size;
  }

  /** True while some report has waited less than `ms`: the poll loop then polls briefly, so it goes soon. */
  anyNewerThan(ms: number): boolean {
    const now = Date.now();
    for (const w of this.waiting.values()) if (now - w.sinceMs < ms) return true;
    return false;
  }

  /** Tries each waiting report once; keeps those the server could not be reached for. */
  async send(api: ApiClient, log: AgentLog): Promise<void> {
    for (const [taskId, { label, body }] of this.waiting) {
      const err = await sendFinish(api, taskId, body);
      if (err !== null && isUnreachable(err)) continue;
      this.waiting.delete(taskId);
      if (err === null) log("info", `reported the end of ${label}: ${body.status}`);
      else log("warn", `could not report the end of ${label}: ${describeError(err)}`);
    }
  }
}

/** Sends the newest progress at most once a second, one request at a time; `close` sends the final state. */
class ProgressReporter {
  private latest: Progress | undefined;
  private sent: Progress | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSentMs = 0;

  constructor(
    private readonly ctx: AgentTaskContext,
    private readonly taskId: string,
  ) {}

  report(p: Progress): void {
    this.latest = { ...p };
    if (this.timer || this.inFlight) return;
    const wait = Math.max(0, this.lastSentMs + PROGRESS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.send().finally(() => (this.inFlight = undefined));
    }, wait);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.send();
  }

  private async send(): Promise<void> {
    const p = this.latest;
    if (!p || (this.sent && sameProgress(p, this.sent))) return;
    this.lastSentMs = Date.now();
    const body: z.input<typeof TaskProgressBody> = p;
    try {
      await this.ctx.api.json("POST", apiPaths.agentTaskProgress(this.taskId), { json: body, signal: AbortSignal.timeout(15_000) });
      this.sent = p;
    } catch (err) {
      // Progress is advisory: a lost report is replaced by the next one, and the task's end is reported apart.
      this.ctx.log("debug", `progress report for task ${this.taskId} failed: ${describeError(err)}`);
    }
  }
}

function sameProgress(a: Progress, b: Progress): boolean {
  return a.filesDone === b.filesDone && a.filesTotal === b.filesTotal && a.bytesDone === b.bytesDone && a.bytesTotal === b.bytesTotal;
}
