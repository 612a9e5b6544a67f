/**
 * Resolves after `ms`, or at once when `signal` aborts (the server stopping): work a request leaves for
 * later then runs before the server's stop() finishes waiting for its background work. The timer does
 * not keep the process alive.
 */
export function afterPause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms).unref();
    signal.addEventListener("abort", done, { once: true });
  });
}
