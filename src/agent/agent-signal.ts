import { setMaxListeners } from "node:events";

/**
 * The signal an agent hands to all its requests: aborts when `outer` does, until `release`. Every
 * request in flight adds an abort listener (fetch, the download thread, sleeps) and removes it when it
 * ends, so the count is bounded by the transfers in flight, not growing; but a download has more than
 * the 10 after which Node prints a MaxListenersExceededWarning in the process that runs the agent (an
 * SDK user's, for `client.create({ root })`). Lifting the cap on a signal of the agent's own leaves the
 * caller's alone; `release` takes the one listener it put on the caller's signal off again, so a
 * signal shared by many agents does not collect them.
 */
export function agentSignal(outer?: AbortSignal): { signal: AbortSignal; release(): void } {
  const own = new AbortController();
  setMaxListeners(0, own.signal);
  const forward = () => own.abort(outer!.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener("abort", forward, { once: true });
  return { signal: own.signal, release: () => outer?.removeEventListener("abort", forward) };
}
