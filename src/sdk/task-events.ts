import type { Sleeper } from "./poll-tasks.js";

/**
 * Wakes waits when an in-process agent ends a task (or stops), so a wait on that session's tasks looks
 * again at once instead of at its next poll.
 */
export class TaskEvents {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Sleeps `ms` or until the next notify(); true when woken by it. */
  readonly sleep: Sleeper = (ms) =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, ms);
      this.waiters.add(wake);
    });
}
