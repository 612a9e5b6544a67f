import { collectGarbage, type Clock, type GcOptions } from "../engine/index.js";
import { ContextService, detectLostSessions, type Stores } from "../service/index.js";
import type { Logger } from "./app-deps.js";
import type { ServerOptions } from "./server-options.js";

/**
 * The server's background work: garbage collection on a schedule (first run delayed), lost-session
 * detection every few seconds, and clears (started by requests, or resumed at start for contexts a
 * stopped server left `clearing`). A scheduled job never overlaps itself. `stop()` cancels the schedule
 * and waits for whatever is running, so the store can be closed after it.
 */
export class ServerJobs {
  /** The pending timer of each scheduled job. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly deps: { stores: Stores; clock: Clock; options: ServerOptions; gc: GcOptions; log: Logger },
  ) {}

  /** Schedules the periodic jobs and resumes unfinished clears. */
  start(): void {
    const { options } = this.deps;
    this.every("lost-session check", options.lostCheckIntervalMs, options.lostCheckIntervalMs, async () => {
      const lost = await detectLostSessions({ meta: this.deps.stores.meta, clock: this.deps.clock }, options.external);
      for (const id of lost) this.deps.log.info(`session ${id} lost: its agent stopped sending heartbeats or never connected`);
    });
    this.every("garbage collection", options.gcFirstDelayMs, options.gcIntervalMs, async () => {
      const s = await collectGarbage({ ...this.deps.stores, clock: this.deps.clock }, this.deps.gc);
      this.deps.log.info(
        `gc: ${s.expiredFiles} expired files, ${s.prunedVersions} pruned versions, ${s.prunedGenerations} pruned generations, ${s.deletedBlobs} blobs deleted, ${s.keptBlobs} kept`,
      );
    });
    this.background("resuming clears", this.resumeClears());
  }

  /** Tracks background work: stop() waits for it; a failure is logged, never thrown. */
  background(what: string, work: Promise<unknown>): void {
    const tracked = work.then(
      () => undefined,
      (err: unknown) => this.deps.log.error(`${what} failed`, err),
    );
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
  }

  /** Cancels the schedule and waits for running jobs and background work. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private every(what: string, firstDelayMs: number, intervalMs: number, job: () => Promise<void>): void {
    const run = () => {
      if (this.stopped) return;
      const p = job();
      this.background(what, p);
      // The next run is scheduled after this one ends, so a slow run never overlaps the next.
      void p.catch(() => undefined).finally(() => {
        if (!this.stopped) this.timers.set(what, setTimeout(run, intervalMs).unref());
      });
    };
    this.timers.set(what, setTimeout(run, firstDelayMs).unref());
  }

  private async resumeClears(): Promise<void> {
    for (const ctx of await this.deps.stores.meta.listContextsInState("clearing")) {
      if (this.stopped) return;
      this.deps.log.info(`resuming the clear of context ${ctx.id}`);
      await new ContextService(this.deps.stores, ctx.tenantId, this.deps.clock).runClear(ctx.id);
    }
  }
}
