/**
 * One queue per key: functions of one key run one at a time, in call order; different keys run side by
 * side. The agent keys by mount path, so an upload and a download of one mount never interleave.
 */
export class SerialQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Queues `fn` behind the key's earlier functions. `fn` records its own failures; a rejection is dropped
   * here only so that it cannot stall the functions queued behind it.
   */
  run(key: string, fn: () => Promise<void>): void {
    const tail = (this.tails.get(key) ?? Promise.resolve()).then(fn).then(undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
  }

  /** Resolves once every queued function has finished, including ones queued while waiting. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
