import type { MetaStore } from "../store/index.js";

/**
 * Wakes, in this process, whoever waits on a session's tasks: an agent's long poll when a task is queued
 * for it, a release or sync when the agent ends a task. Waits still look at the store every
 * pollIntervalMs, because the change may come from another process (server replicas sharing one
 * database); the bell only saves the rest of an interval when it comes from this one, which is the
 * usual case and was up to 100 ms on every sync.
 */
export class TaskBell {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes every wait on `sessionId` now. */
  ring(sessionId: string): void {
    const set = this.waiters.get(sessionId);
    if (!set) return;
    this.waiters.delete(sessionId);
    for (const wake of set) wake();
  }

  /** Resolves after `ms`, or sooner when `sessionId` is rung or `signal` aborts. Never rejects. */
  wait(sessionId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(sessionId);
      if (!set) this.waiters.set(sessionId, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(sessionId) === waiters) this.waiters.delete(sessionId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      waiters.add(done);
    });
  }
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
