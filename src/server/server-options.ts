import { InvalidParameterError } from "../errors/index.js";
import { externalSessionOptionsWithDefaults, type ExternalSessionOptions } from "../service/index.js";

const MIB = 1 << 20;

/** Limits and timings of the server. Every field has a default (serverOptionsWithDefaults). */
export interface ServerOptions {
  /** Largest JSON request body of the client API; more is 413 PayloadTooLarge, nothing stored. */
  maxJsonBodyBytes: number;
  /** Largest JSON body of /v1/agent routes: a commit lists every changed file of a mount. */
  maxAgentJsonBodyBytes: number;
  /** Largest file a signed PUT URL or an agent blob PUT takes; more is 413, nothing stored. */
  maxFileBytes: number;
  /** Lifetime of a signed URL when the request names none. */
  defaultUrlExpirySeconds: number;
  /** Origin put into signed URLs (`https://ctxsync.example.com`); default: the origin the request came to. */
  publicUrl: string | undefined;
  /** Timing of external sessions: heartbeat timeout, release timeout, poll interval. */
  external: ExternalSessionOptions;
  /** How often garbage collection runs. */
  gcIntervalMs: number;
  /** Delay before the first collection after start. */
  gcFirstDelayMs: number;
  /** How often silent agents are looked for (their sessions become lost). */
  lostCheckIntervalMs: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** ServerOptions with every missing field at its default; rejects non-positive numbers and timers Node cannot hold. */
export function serverOptionsWithDefaults(
  opts: Partial<Omit<ServerOptions, "external">> & { external?: Partial<ExternalSessionOptions> } = {},
): ServerOptions {
  const resolved = {
    // 1 MiB holds any legitimate client request (a session with 64 mounts and their policies is ~100 KiB)
    // and bounds what an unauthenticated-looking flood can make the server buffer.
    maxJsonBodyBytes: opts.maxJsonBodyBytes ?? MIB,
    // A commit entry is ~250 bytes, so 64 MiB carries ~250k changed files in one atomic commit.
    maxAgentJsonBodyBytes: opts.maxAgentJsonBodyBytes ?? 64 * MIB,
    // 5 GiB: the largest single PUT S3-compatible stores take, so the limit holds whichever store backs us.
    maxFileBytes: opts.maxFileBytes ?? 5 * 1024 * MIB,
    // One hour, the reference's default URL lifetime.
    defaultUrlExpirySeconds: opts.defaultUrlExpirySeconds ?? 3600,
    // Hourly: expired files must disappear promptly from storage, and a collection is cheap when little changed.
    gcIntervalMs: opts.gcIntervalMs ?? 3_600_000,
    // Five minutes, or the interval when that is shorter: a start (or a crash loop) is not slowed by a
    // collection, yet one runs soon after, and never later than the interval asked for.
    gcFirstDelayMs: opts.gcFirstDelayMs ?? Math.min(300_000, opts.gcIntervalMs ?? 3_600_000),
    // Five seconds: a dead agent is noticed within ~heartbeat timeout + 5 s; the check is one indexed query.
    lostCheckIntervalMs: opts.lostCheckIntervalMs ?? 5000,
  };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0) throw new InvalidParameterError(`${field} must be a positive number; got ${value}.`);
  }
  // Node's timers take at most 2^31 - 1 ms (24.8 days); a longer delay fires after 1 ms, over and over.
  for (const field of ["gcIntervalMs", "gcFirstDelayMs", "lostCheckIntervalMs"] as const) {
    if (resolved[field] > MAX_TIMER_MS) {
      throw new InvalidParameterError(`${field} must be at most ${MAX_TIMER_MS} ms (24.8 days, the longest timer Node.js keeps); got ${resolved[field]}.`);
    }
  }
  if (opts.publicUrl !== undefined && !/^https?:\/\/[^/?#]+\/?$/.test(opts.publicUrl)) {
    throw new InvalidParameterError(`publicUrl must be an origin such as https://ctxsync.example.com; got ${opts.publicUrl}.`);
  }
  return { ...resolved, publicUrl: opts.publicUrl, external: externalSessionOptionsWithDefaults(opts.external) };
}
