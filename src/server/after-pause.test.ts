import { afterEach, describe, expect, it, vi } from "vitest";
import { afterPause } from "./after-pause.js";

describe("afterPause", () => {
  afterEach(() => vi.useRealTimers());

  it("resolves once the pause is over", async () => {
    vi.useFakeTimers();
    let done = false;
    const p = afterPause(1000, new AbortController().signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it("resolves at once when the server stops during the pause, or had stopped already", async () => {
    const stopping = new AbortController();
    const waiting = afterPause(3_600_000, stopping.signal);
    stopping.abort();
    await waiting;
    await afterPause(3_600_000, stopping.signal);
  });
});
