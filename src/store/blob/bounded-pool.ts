/**
 * Runs async jobs with at most `maxJobs` in flight and at most `maxBytes` of their buffers held.
 * File creation on a shared disk has latency that one thread of synchronous calls cannot hide; a few
 * creations in flight on libuv's thread pool do (as rclone's parallel transfers do).
 */
export class BoundedPool {
  private readonly running = new Set<Promise<void>>();
  private heldBytes = 0;
  private firstError: unknown;

  constructor(
    private readonly maxJobs: number,
    private readonly maxBytes: number,
  ) {}

  /** Starts `job` once there is room; `onError` receives its failure (the pool itself never rejects for it). */
  async add(bytes: number, job: () => Promise<void>, onError: (err: unknown) => void): Promise<void> {
    while (this.running.size >= this.maxJobs || (this.running.size > 0 && this.heldBytes + bytes > this.maxBytes)) {
      await Promise.race(this.running);
    }
    this.heldBytes += bytes;
    const p: Promise<void> = job()
      .catch((err: unknown) => {
        this.firstError ??= err;
        onError(err);
      })
      .finally(() => {
        this.heldBytes -= bytes;
        this.running.delete(p);
      });
    this.running.add(p);
  }

  /** Waits for every job started so far. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }
}
