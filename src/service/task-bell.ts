import type { MetaStore } from "../store/index.js";

/**
 * Wakes, in this process, whoever waits on a session's tasks: an agent's long poll when a task is queued
 * for it, a release or sync when the agent ends a task. Waits still look at the store every
 * pollIntervalMs, because the change may come from another process (server replicas sharing one
 * database); the bell only saves the rest of an interval when it comes from this one, which is the
 * usual case and was up to 100 ms on every sync.
 *
 * A waiter listens *before* it reads the store and waits after: a ring while it reads (an await on
 * PostgreSQL) is kept, so the wait that follows returns at once instead of sleeping through it.
 */
export class TaskBell {
  private readonly listeners = new Map<string, Set<() => void>>();

  /** Wakes every listener on `sessionId` now, and marks them rung. */
  ring(sessionId: string): void {
    const set = this.listeners.get(sessionId);
    if (!set) return;
    this.listeners.delete(sessionId);
    for (const wake of set) wake();
  }

  /**
   * Starts listening on `sessionId`. Read the store, then `wait` (returns at once if rung since the
   * listen); `close` when leaving without waiting. Either ends the listening.
   */
  listen(sessionId: string): BellListener {
    let set = this.listeners.get(sessionId);
    if (!set) this.listeners.set(sessionId, (set = new Set()));
    const listeners = set;
    let rung = false;
    let wake: (() => void) | undefined;
    const onRing = () => {
      rung = true;
      wake?.();
    };
    const close = () => {
      listeners.delete(onRing);
      if (listeners.size === 0 && this.listeners.get(sessionId) === listeners) this.listeners.delete(sessionId);
    };
    listeners.add(onRing);
    return {
      close,
      wait(ms: number, signal?: AbortSignal): Promise<void> {
        if (rung || signal?.aborted) {
          close();
          return Promise.resolve();
        }
        return new Promise((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            close();
            resolve();
          };
          wake = done;
          const timer = setTimeout(done, ms);
          signal?.addEventListener("abort", done, { once: true });
        });
      },
    };
  }
}

export interface BellListener {
  /** Resolves after `ms`, at once if the session was rung since the listen, or when `signal` aborts; never rejects. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** Stops listening without waiting. */
  close(): void;
}

const bells = new WeakMap<object, TaskBell>();

/**
 * The bell of `meta` in this process: every service over the same store shares it, without each caller
 * having to pass it along (services are made per request).
 */
export function taskBellOf(meta: Partial<MetaStore>): TaskBell {
  let bell = bells.get(meta);
  if (!bell) bells.set(meta, (bell = new TaskBell()));
  return bell;
}
