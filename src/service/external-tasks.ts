import { InvalidParameterError, ServerStoppingError } from "../errors/index.js";
import type { Clock } from "../engine/index.js";
import type { MetaStore, SessionRecord, SilenceCutoffs, TaskStatus } from "../store/index.js";
import { taskBellOf } from "./task-bell.js";

/** Timing of external sessions (those whose agent runs elsewhere and claims its tasks through the server). */
export interface ExternalSessionOptions {
  /** An agent that has not called in for this long is gone: its session becomes `lost`. */
  heartbeatTimeoutMs: number;
  /** An agent that has not called in at all this long after the session was created never started. */
  agentStartTimeoutMs: number;
  /** How long a release waits for the agent's uploads before failing them. */
  releaseTimeoutMs: number;
  /** How often waits on an agent's tasks look at the store again. */
  pollIntervalMs: number;
}

/** ExternalSessionOptions with every missing field at its default; rejects non-positive values. */
export function externalSessionOptionsWithDefaults(opts: Partial<ExternalSessionOptions> = {}): ExternalSessionOptions {
  const resolved: ExternalSessionOptions = {
    // An agent long-polls at least every few seconds and reports progress while it transfers; 30 s of
    // silence is several missed polls, so a network hiccup is not taken for a dead sandbox.
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 30_000,
    // The agent starts with the sandbox, after the session exists: booting a container or VM and starting
    // the agent takes far longer than a missed heartbeat, so the first call gets two minutes (or the
    // heartbeat timeout, when that is longer).
    agentStartTimeoutMs: opts.agentStartTimeoutMs ?? Math.max(120_000, opts.heartbeatTimeoutMs ?? 30_000),
    // A release waits for the final upload; an hour covers multi-gigabyte mounts on slow links. A dead
    // agent is caught sooner by the heartbeat timeout.
    releaseTimeoutMs: opts.releaseTimeoutMs ?? 3_600_000,
    // One indexed SQLite read per wait every 100 ms is negligible load and feels immediate to callers.
    pollIntervalMs: opts.pollIntervalMs ?? 100,
  };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new InvalidParameterError(`${field} must be a positive number of milliseconds; got ${value}.`);
    }
  }
  return resolved;
}

/** The errorMessage of tasks failed because their agent went silent, or (`neverConnected`) never called in. */
export function lostSessionMessage(opts: Pick<ExternalSessionOptions, "heartbeatTimeoutMs" | "agentStartTimeoutMs">, neverConnected = false): string {
  if (neverConnected) {
    return `The session's agent never connected (nothing within ${Math.round(opts.agentStartTimeoutMs / 1000)} s of the session's creation), so the session was marked lost and this task failed. Start \`ctxsync agent\` in the sandbox with the session token, then start a new session.`;
  }
  return `The session's agent stopped sending heartbeats (none for ${Math.round(opts.heartbeatTimeoutMs / 1000)} s), so the session was marked lost and this task failed. Check that the agent is running in the sandbox, then start a new session.`;
}

/** True when an external session's agent is silent past its timeout (or never called in past the start timeout). */
export function isSilent(s: Pick<SessionRecord, "lastHeartbeatMs" | "createdAtMs">, nowMs: number, opts: ExternalSessionOptions): boolean {
  const last = s.lastHeartbeatMs ?? null;
  return last === null ? nowMs - s.createdAtMs > opts.agentStartTimeoutMs : nowMs - last > opts.heartbeatTimeoutMs;
}

const isTerminal = (s: TaskStatus) => s === "Success" || s === "Failed";

/**
 * Waits until every task in `taskIds` of an external session is Success or Failed, polling the store.
 * While waiting it also notices a silent agent (and marks the session lost, which fails the tasks), so a
 * wait ends without the server's lost-session job. With `deadlineMs`, tasks still open then are failed
 * with `timeoutMessage`. When `signal` aborts (the server is stopping) the wait ends with
 * ServerStoppingError, the tasks untouched. Returns the final status of each task, in order.
 */
export async function waitForTasks(
  deps: { meta: Pick<MetaStore, "listTasks" | "getSession" | "markSessionLost" | "updateTaskIf">; clock: Clock },
  session: Pick<SessionRecord, "id" | "tenantId">,
  taskIds: readonly string[],
  opts: ExternalSessionOptions & { deadlineMs?: number; timeoutMessage?: string; signal?: AbortSignal },
): Promise<TaskStatus[]> {
  const bell = taskBellOf(deps.meta);
  for (;;) {
    if (opts.signal?.aborted) throw new ServerStoppingError(`the agent of session ${session.id} to finish its tasks`);
    // From before the reads: a task that ends while they run still cuts the wait below short.
    const listener = bell.listen(session.id);
    try {
      const byId = new Map((await deps.meta.listTasks(session.id)).map((t) => [t.id, t]));
      const statuses = taskIds.map((id) => byId.get(id)?.status ?? "Failed");
      if (statuses.every(isTerminal)) return statuses;

      const now = deps.clock.now();
      const current = await deps.meta.getSession(session.tenantId, session.id);
      if (current && isSilent(current, now, opts)) {
        await deps.meta.markSessionLost(session.id, now, lostSessionMessage(opts, (current.lastHeartbeatMs ?? null) === null), silenceCutoffs(now, opts));
        continue;
      }
      if (opts.deadlineMs !== undefined && now >= opts.deadlineMs) {
        const message = opts.timeoutMessage ?? "The agent did not finish this task in time.";
        for (const id of taskIds) {
          await deps.meta.updateTaskIf(id, ["Pending", "Running"], { status: "Failed", errorMessage: message, finishTimeMs: now });
        }
        continue;
      }
      // Rung when the agent ends a task through this process.
      await listener.wait(opts.pollIntervalMs, opts.signal);
    } finally {
      listener.close();
    }
  }
}

/**
 * Marks lost every external session whose agent has been silent for `heartbeatTimeoutMs`, or never called
 * in within `agentStartTimeoutMs` of the session's creation, failing its open tasks
 * (MetaStore.markSessionLost). Returns the ids of the sessions it marked.
 */
export async function detectLostSessions(
  deps: { meta: Pick<MetaStore, "listStaleSessions" | "markSessionLost">; clock: Clock },
  opts: Pick<ExternalSessionOptions, "heartbeatTimeoutMs" | "agentStartTimeoutMs">,
): Promise<string[]> {
  const now = deps.clock.now();
  const silence = silenceCutoffs(now, opts);
  const lost: string[] = [];
  for (const s of await deps.meta.listStaleSessions(silence.heartbeatCutoffMs, silence.startCutoffMs)) {
    const message = lostSessionMessage(opts, (s.lastHeartbeatMs ?? null) === null);
    if (await deps.meta.markSessionLost(s.id, now, message, silence)) lost.push(s.id);
  }
  return lost;
}

/** What silent means at `nowMs` (isSilent, as the store's cutoffs). */
function silenceCutoffs(nowMs: number, opts: Pick<ExternalSessionOptions, "heartbeatTimeoutMs" | "agentStartTimeoutMs">): SilenceCutoffs {
  return { heartbeatCutoffMs: nowMs - opts.heartbeatTimeoutMs, startCutoffMs: nowMs - opts.agentStartTimeoutMs };
}
