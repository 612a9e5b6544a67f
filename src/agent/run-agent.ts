import path from "node:path";
import type { z } from "@hono/zod-openapi";
import type { AgentPoll, AgentSession } from "../api/index.js";
import { AGENT_EPOCH_HEADER, AGENT_FEATURES, apiPaths } from "../api/index.js";
import { describeError } from "../errors/index.js";
import { abortableSleep } from "./abortable-sleep.js";
import type { AgentLog } from "./agent-log.js";
import { agentSignal } from "./agent-signal.js";
import { ApiClient } from "./api-client.js";
import { RemoteApiError } from "./remote-api-error.js";
import { RemoteBlobStore } from "./remote-blob-store.js";
import { RemoteMetaStore } from "./remote-meta-store.js";
import { runAgentTask, UnreportedFinishes, type AgentTaskContext, type TaskOutcome } from "./run-agent-task.js";
import { SerialQueues } from "./serial-queues.js";

export type AgentSessionView = z.infer<typeof AgentSession>;

export interface RunAgentOptions {
  /** The server, e.g. `http://127.0.0.1:8787`. */
  endpoint: string;
  /** The session's token, as `client.create(…)` returned it (`session.sessionToken`). */
  sessionToken: string;
  /** Local directory holding the session's filesystem (session path `/x` is `root/x`); default `/`. */
  root?: string;
  /** Stops the agent: no new tasks are taken and transfers in flight are cut off (their tasks fail). */
  signal?: AbortSignal;
  onLog?: AgentLog;
  /** Called after the server recorded the end of a task. */
  onTaskFinished?: (taskId: string, status: TaskOutcome) => void;
  /** Called once the agent has read its session, before the first poll. */
  onReady?: (session: AgentSessionView) => void;
  /** Long-poll duration of each task poll, in seconds; default 25 (under common 30 s proxy timeouts). */
  waitSeconds?: number;
  /** Blob transfers in flight per task; default 8 (see RemoteBlobStore). */
  concurrency?: number;
}

export type AgentExitReason = "released" | "lost" | "aborted" | "unauthorized" | "replaced";

export interface AgentExit {
  sessionId: string;
  /**
   * released / lost: the session ended; aborted: the signal; unauthorized: the server refused the token;
   * replaced: another agent attached to the session since.
   */
  reason: AgentExitReason;
}

/** Waits after a failed poll grow from 1 s to this, so a restarting server is not hammered. */
const MAX_RETRY_DELAY_MS = 15_000;
/** How long polls stay short while a task end waits to be reported (see pollLoop). */
const SHORT_POLLS_MS = 5 * 60_000;
/** How long a first attach keeps trying an unreachable server: as long as a server waits for a new agent. */
const ATTACH_RETRY_MS = 120_000;

/**
 * The agent of one session: runs where the session's filesystem is (in the SDK's process for local
 * sessions, `ctxsync agent` in a sandbox) and does the session's transfers with the engine.
 *
 * 1. Attaches to its session (`POST /v1/agent/session`), which re-offers tasks a previous agent of the
 *    session left Running; a token the server refuses rejects here.
 * 2. Long-polls `GET /v1/agent/tasks?waitSeconds=25`, which claims pending tasks and is the agent's
 *    heartbeat: a session whose agent stops polling becomes `lost`. Polling goes on while tasks run.
 * 3. Runs each task with the engine's uploadMount/downloadMount over the HTTP stores (RemoteMetaStore,
 *    RemoteBlobStore), one task per mount at a time, and reports progress and the end (runAgentTask).
 * 4. Stops when the session is released or lost, the server refuses the token, or `signal` aborts;
 *    resolves after the tasks in flight have ended. Failed polls are retried with a growing delay.
 */
export async function runAgent(opts: RunAgentOptions): Promise<AgentExit> {
  const log: AgentLog = opts.onLog ?? (() => undefined);
  const { signal, release } = agentSignal(opts.signal);
  try {
    return await runAgentOn(signal, opts, log);
  } finally {
    release();
  }
}

async function runAgentOn(signal: AbortSignal, opts: RunAgentOptions, log: AgentLog): Promise<AgentExit> {
  const api = new ApiClient(opts.endpoint, opts.sessionToken);
  const session = await attach(api, signal, log);
  // From here on the server refuses this agent once another attaches (AgentReplaced): one agent per session.
  if (session.agentEpoch !== undefined) api.setHeader(AGENT_EPOCH_HEADER, String(session.agentEpoch));
  log("info", `agent for session ${session.sessionId} (${session.status}, ${session.mounts.length} mounts) on ${api.origin}`);
  opts.onReady?.(session);
  if (session.status === "released" || session.status === "lost") return { sessionId: session.sessionId, reason: session.status };

  const ctx: AgentTaskContext = {
    api,
    meta: new RemoteMetaStore(api, signal, session.features),
    blobs: new RemoteBlobStore(api, {
      signal,
      concurrency: opts.concurrency,
      maxBlobBytes: session.maxFileBytes,
      unnamedBlobs: session.features?.includes(AGENT_FEATURES.unnamedBlobs) ?? false,
      unnamedStream: session.features?.includes(AGENT_FEATURES.unnamedStream) ?? false,
    }),
    sessionId: session.sessionId,
    root: path.resolve(opts.root ?? "/"),
    signal,
    log,
    unreported: new UnreportedFinishes(),
  };
  const queues = new SerialQueues();
  const reason = await pollLoop(api, opts.waitSeconds ?? 25, signal, log, ctx.unreported, (task) =>
    queues.run(task.mount.path, async () => {
      const status = await runAgentTask(ctx, task);
      opts.onTaskFinished?.(task.id, status);
    }),
  );
  await queues.idle();
  await api.close();
  log("info", `agent for session ${session.sessionId} stopped: ${reason}`);
  return { sessionId: session.sessionId, reason };
}

async function pollLoop(
  api: ApiClient,
  waitSeconds: number,
  signal: AbortSignal,
  log: AgentLog,
  unreported: UnreportedFinishes,
  start: (task: z.infer<typeof AgentPoll>["tasks"][number]) => void,
): Promise<AgentExitReason> {
  let failures = 0;
  while (!signal.aborted) {
    let poll: z.infer<typeof AgentPoll>;
    try {
      // The server holds a poll up to waitSeconds; one that stays silent much longer is on a dead connection.
      // With task ends to report, polls wait at most a second, so the reports go soon after the server
      // answers again (not one long poll later), without a tight loop while it still refuses them; after
      // SHORT_POLLS_MS of refusals the polls are long again (each still tries the reports).
      const wait = unreported.anyNewerThan(SHORT_POLLS_MS) ? Math.min(1, waitSeconds) : waitSeconds;
      poll = await api.json("GET", apiPaths.agentTasks, { query: { waitSeconds: wait }, signal, timeoutMs: (wait + 15) * 1000 });
      failures = 0;
      // The server answers again: tell it how the tasks ended that it could not be told of before.
      if (unreported.size > 0) await unreported.send(api, log);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof RemoteApiError && (err.httpStatus === 401 || err.httpStatus === 403)) {
        log("warn", `the server refused the session token: ${err.message}`);
        return "unauthorized";
      }
      if (err instanceof RemoteApiError && err.code === "AgentReplaced") {
        log("warn", err.message);
        return "replaced";
      }
      failures++;
      const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** (failures - 1));
      log("warn", `task poll failed (${describeError(err)}); retrying in ${Math.round(delayMs / 1000)} s`);
      await abortableSleep(delayMs, signal);
      continue;
    }
    for (const task of poll.tasks) {
      log("debug", `task ${task.id}: ${task.taskType} of ${task.mount.path}`);
      start(task);
    }
    if (poll.sessionStatus === "released" || poll.sessionStatus === "lost") return poll.sessionStatus;
  }
  return "aborted";
}

/**
 * POST /v1/agent/session: attaching offers again any task an earlier agent of this session claimed and
 * never finished. A sandbox may start before the server (or its network) is up, so an unreachable server
 * or a 5xx is retried with the poll's growing delay for ATTACH_RETRY_MS; a refused token fails at once.
 */
async function attach(api: ApiClient, signal: AbortSignal, log: AgentLog): Promise<AgentSessionView> {
  const deadline = Date.now() + ATTACH_RETRY_MS;
  for (let failures = 1; ; failures++) {
    try {
      return await api.json<AgentSessionView>("POST", apiPaths.agentSession, { signal });
    } catch (err) {
      const retryable = err instanceof RemoteApiError && (err.httpStatus === 0 || err.httpStatus >= 500);
      const delayMs = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** (failures - 1));
      if (!retryable || signal.aborted || Date.now() + delayMs > deadline) throw err;
      log("warn", `could not attach to the session (${describeError(err)}); retrying in ${Math.round(delayMs / 1000)} s`);
      await abortableSleep(delayMs, signal);
    }
  }
}
