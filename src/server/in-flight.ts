/**
 * Counts request handlers still running. A server's 'close' event waits for connections only, and a
 * client that hangs up mid-request (an agent ending its long poll) closes its connection while the
 * handler goes on, so a stop waits for both before it closes the stores under them.
 */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** `work`, counted until it settles. */
  track<T>(work: T | Promise<T>): T | Promise<T> {
    if (!(work instanceof Promise)) return work;
    this.count++;
    const done = () => {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
    work.then(done, done);
    return work;
  }

  /** Resolves once nothing is in flight. */
  drained(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
