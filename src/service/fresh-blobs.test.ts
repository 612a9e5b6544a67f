import { describe, expect, it } from "vitest";
import { FreshBlobs, freshWindowMs } from "./fresh-blobs.js";

const d = (n: number) => n.toString(16).padStart(64, "0");
const MINUTE = 60_000;

describe("FreshBlobs", () => {
  it("counts a blob as fresh for the window after it was noted, then stale", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.note([d(1), d(2)], 1_000_000);
    expect(fresh.staleOf([d(1), d(2), d(3)], 1_000_000 + 10 * MINUTE)).toEqual([d(3)]);
    expect(fresh.staleOf([d(1), d(2), d(3)], 1_000_000 + 10 * MINUTE + 1)).toEqual([d(1), d(2), d(3)]);
    expect(fresh.size).toBe(0);
  });

  it("keeps the later time when a digest is noted again, even from a request that started earlier", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.note([d(1)], 0);
    fresh.note([d(1)], 5 * MINUTE);
    fresh.note([d(1)], 2 * MINUTE);
    expect(fresh.staleOf([d(1)], 14 * MINUTE)).toEqual([]);
    expect(fresh.staleOf([d(1)], 16 * MINUTE)).toEqual([d(1)]);
  });

  it("forgets the oldest notes beyond its bound: those blobs are refreshed again, nothing is lost", () => {
    const fresh = new FreshBlobs(10 * MINUTE, 3);
    fresh.note([d(1), d(2), d(3)], 0);
    fresh.note([d(1)], 1); // noted again: now the newest
    fresh.note([d(4)], 2);
    expect(fresh.size).toBe(3);
    expect(fresh.staleOf([d(1), d(2), d(3), d(4)], 3)).toEqual([d(2)]);
  });

  it("with no window (no grace period) notes nothing: every blob is refreshed at commit", () => {
    const fresh = new FreshBlobs(freshWindowMs(0));
    fresh.note([d(1)], 0);
    expect(fresh.staleOf([d(1)], 0)).toEqual([d(1)]);
    expect(fresh.size).toBe(0);
  });

  it("takes a quarter of the grace period as its window, at most 15 minutes", () => {
    expect(freshWindowMs(24 * 60 * MINUTE)).toBe(15 * MINUTE);
    expect(freshWindowMs(20 * MINUTE)).toBe(5 * MINUTE);
    expect(freshWindowMs(1)).toBe(0);
  });
});
