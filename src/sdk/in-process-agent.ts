import { runAgent, type AgentExit, type AgentLog } from "../agent/index.js";
import { TaskEvents } from "./task-events.js";

/**
 * The agent of a remote session whose filesystem is in this process (`client.create({ root })` on a
 * remote client): runAgent with the session token, until the session is released or `stop()`.
 * `events` wakes waits on the session's tasks whenever the agent ends one, or stops.
 */
export class InProcessAgent {
  readonly events = new TaskEvents();
  /** Settles once the agent has read its session: resolves, or rejects with why it could not start. */
  readonly ready: Promise<void>;
  /** Settles when the agent has stopped; never rejects (a failure to start is `ready`'s to report). */
  readonly exited: Promise<AgentExit | undefined>;
  private readonly controller = new AbortController();
  private stopped = false;

  constructor(opts: { endpoint: string; sessionToken: string; root: string; log: AgentLog }) {
    let markReady!: () => void;
    let failReady!: (err: unknown) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined); // reported by whoever awaits ready
    const run = runAgent({
      endpoint: opts.endpoint,
      sessionToken: opts.sessionToken,
      root: opts.root,
      signal: this.controller.signal,
      onLog: opts.log,
      onReady: () => markReady(),
      onTaskFinished: () => this.events.notify(),
    });
    this.exited = run.then(
      (exit) => exit,
      (err: unknown) => {
        failReady(err);
        if (!this.stopped) opts.log("error", `the agent stopped: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      },
    );
    void this.exited.then(() => {
      this.stopped = true;
      failReady(new Error("The agent stopped before it had read its session."));
      this.events.notify();
    });
  }

  /** True once the agent has stopped (session ended, or stop()). */
  get hasStopped(): boolean {
    return this.stopped;
  }

  /** Stops the agent and resolves when it has: polls are cut off, transfers in flight fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    await this.exited;
  }
}
