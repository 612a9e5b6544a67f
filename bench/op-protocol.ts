/**
 * What bench/run.ts and its child bench/ctxsync-op.ts say to each other: the request passed as the
 * child's one argument (JSON) and the result line the child prints.
 */

/** Fields of every request. */
interface OpCommon {
  /** Store directory (CtxSync `home`). */
  home: string;
  /** When set, a V8 CPU profile of the timed operation alone is written to this file. */
  cpuProfile?: string;
  /** When set (with `apiKey`), talk to this ctxsync server instead of the embedded store in `home`. */
  endpoint?: string;
  apiKey?: string;
  /** Mount with uploadMode ARCHIVE (one .tar.gz of the mount) instead of FILE. */
  archive?: boolean;
}

/** What the parent asks for. */
export type OpRequest = OpCommon &
  (
    /** Open the store and stop: the RSS floor of a ctxsync process. */
    | { op: "baseline" }
    /** Create context and session (not timed), then time the session's first upload. */
    | { op: "upload-first"; root: string; mountPath: string; contextName: string }
    /** Time another upload of an existing session. */
    | { op: "upload"; sessionId: string }
    /** Time creating a new session whose mount downloads the context. */
    | { op: "download"; root: string; mountPath: string; contextId: string }
  );

/** What the child reports. */
export interface OpResult {
  seconds: number;
  /** User + system CPU time of the child during the operation (not of processes it starts, such as `sync`). */
  cpuSeconds: number;
  /** The system (kernel) part of `cpuSeconds`. */
  systemSeconds: number;
  /**
   * Minor page faults of the child during the operation: memory it touched for the first time. Where a
   * VM's host backs guest memory lazily, these are what a "slow" run pays for (see docs/benchmarks.md).
   */
  minorFaults: number;
  /** process.resourceUsage().maxRSS: peak resident set of the child, KiB. */
  maxRssKiB: number;
  contextId?: string;
  sessionId?: string;
  /** Files and bytes the task moved, from the task's progress totals. */
  filesMoved?: number;
  bytesMoved?: number;
}

/** Marks the result line so stray output from the code under test cannot be mistaken for it. */
export const RESULT_PREFIX = "BENCH_RESULT ";
