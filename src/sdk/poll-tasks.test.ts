import { describe, expect, it } from "vitest";
import { RemoteApiError } from "../agent/index.js";
import { pollUntil, type Sleeper } from "./poll-tasks.js";

/** A sleeper that records the waits asked for and returns at once; `wakeAt` rounds are woken early. */
function recordingSleeper(wakeAt: ReadonlySet<number> = new Set()): { sleep: Sleeper; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms) => {
      waits.push(Math.round(ms));
      return wakeAt.has(waits.length);
    },
  };
}

describe("pollUntil", () => {
  it("returns the first value a round yields, without sleeping after it", async () => {
    const s = recordingSleeper();
    let round = 0;
    expect(await pollUntil(async () => (++round === 3 ? "done" : undefined), { maxRetries: 10, retryIntervalMs: 500 }, s.sleep)).toBe("done");
    expect(s.waits).toEqual([500, 550]);
  });

  it("gives up after maxRetries rounds, waiting 1.1 times longer each time up to 5 s", async () => {
    const s = recordingSleeper();
    expect(await pollUntil(async () => undefined, { maxRetries: 30, retryIntervalMs: 3000 }, s.sleep)).toBeUndefined();
    expect(s.waits).toHaveLength(29);
    expect(s.waits.slice(0, 7)).toEqual([3000, 3300, 3630, 3993, 4392, 4832, 5000]);
  });

  it("does not count rounds woken early by the agent, nor lengthen the wait for them", async () => {
    const s = recordingSleeper(new Set([1, 2]));
    expect(await pollUntil(async () => undefined, { maxRetries: 2, retryIntervalMs: 100 }, s.sleep)).toBeUndefined();
    expect(s.waits).toEqual([100, 100, 100]);
  });

  it("retries a round the server could not answer, and rejects on other errors", async () => {
    const s = recordingSleeper();
    let round = 0;
    const flaky = async () => {
      if (++round === 1) throw new RemoteApiError("StoreUnavailable", "down", "r", 0);
      return "ok";
    };
    expect(await pollUntil(flaky, { maxRetries: 5, retryIntervalMs: 10 }, s.sleep)).toBe("ok");
    const refused = async () => {
      throw new RemoteApiError("SessionNotFound", "gone", "r", 404);
    };
    await expect(pollUntil(refused, { maxRetries: 5, retryIntervalMs: 10 }, s.sleep)).rejects.toMatchObject({ code: "SessionNotFound" });
  });
});
