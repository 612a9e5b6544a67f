import { RemoteApiError } from "../agent/index.js";
import type { PollOptions } from "./backend.js";

/** `session.context.sync()` polling, as the reference v0.19: 150 rounds from 500 ms. */
export const SYNC_POLL: PollOptions = { maxRetries: 150, retryIntervalMs: 500 };
/** Waiting for a new session's initial downloads, as the reference's create(): 50 rounds from 500 ms. */
export const CREATE_POLL: PollOptions = { maxRetries: 50, retryIntervalMs: 500 };
/** Each wait is 1.1 times the previous one, up to 5 s (the reference's backoff). */
const GROWTH = 1.1;
const MAX_INTERVAL_MS = 5000;

/**
 * Sleeps `ms`, or less when something worth looking at happened (a task of this process's agent ended);
 * resolves true when woken early.
 */
export type Sleeper = (ms: number) => Promise<boolean>;

export const plainSleep: Sleeper = (ms) => new Promise((resolve) => setTimeout(() => resolve(false), ms));

/**
 * Calls `round` until it returns a value, at most `poll.maxRetries` times, sleeping between rounds with
 * the reference's backoff; returns undefined when the rounds ran out. A round woken early by `sleep`
 * neither counts nor grows the interval (an in-process agent wakes waits as its tasks end, so waits
 * return at once without polling faster). A round that fails because the server could not be reached or
 * answered 5xx counts and is retried, as the reference retries errors in a round; other errors reject.
 */
export async function pollUntil<T>(round: () => Promise<T | undefined>, poll: PollOptions, sleep: Sleeper = plainSleep): Promise<T | undefined> {
  let interval = poll.retryIntervalMs;
  let counted = 0;
  let woken = false;
  for (;;) {
    try {
      const result = await round();
      if (result !== undefined) return result;
    } catch (err) {
      if (!isTransient(err)) throw err;
    }
    if (!woken) counted++;
    if (counted >= poll.maxRetries) return undefined;
    woken = await sleep(interval);
    if (!woken) interval = Math.min(MAX_INTERVAL_MS, interval * GROWTH);
  }
}

function isTransient(err: unknown): boolean {
  return err instanceof RemoteApiError && (err.httpStatus === 0 || err.httpStatus >= 500);
}
