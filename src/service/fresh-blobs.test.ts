import { describe, expect, it } from "vitest";
import { FreshBlobs, freshWindowMs } from "./fresh-blobs.js";

const d = (n: number) => n.toString(16).padStart(64, "0");
const MINUTE = 60_000;
const sized = (...digests: string[]) => digests.map((digest) => ({ digest, sizeBytes: 7 }));

describe("FreshBlobs", () => {
  it("counts a blob seen absent and then stored as fresh for the window after it was seen absent", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.sawAbsent([d(1), d(2)], 1_000_000);
    fresh.stored(sized(d(1), d(2)), "s1");
    expect(fresh.staleOf([d(1), d(2), d(3)], 1_000_000 + 10 * MINUTE)).toEqual([d(3)]);
    expect(fresh.staleOf([d(1), d(2), d(3)], 1_000_000 + 10 * MINUTE + 1)).toEqual([d(1), d(2), d(3)]);
    expect(fresh.size).toBe(0);
  });

  it("does not count a blob only seen absent, or stored without being seen absent (it may have existed: touched)", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.sawAbsent([d(1)], 0);
    fresh.stored(sized(d(2)), "s1");
    expect(fresh.staleOf([d(1), d(2)], 1)).toEqual([d(1), d(2)]);
  });

  it("counts a blob written anew (an unnamed upload) as fresh for the window after its write began, with no absence seen", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.written(sized(d(1), d(2)), 5 * MINUTE, "s1");
    expect(fresh.staleOf([d(1), d(2), d(3)], 15 * MINUTE)).toEqual([d(3)]);
    expect(fresh.staleOf([d(1), d(2)], 15 * MINUTE + 1)).toEqual([d(1), d(2)]);
    expect(new FreshBlobs(freshWindowMs(0)).size).toBe(0);
    const none = new FreshBlobs(freshWindowMs(0));
    none.written(sized(d(1)), 0, "s1");
    expect(none.staleOf([d(1)], 0)).toEqual([d(1)]);
  });

  it("names the session that sent each blob it created, with its size, within the window only", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.sawAbsent([d(1), d(2)], 0);
    fresh.stored([{ digest: d(1), sizeBytes: 11 }], "s1");
    fresh.stored([{ digest: d(2), sizeBytes: 22 }], "s2");
    fresh.written([{ digest: d(3), sizeBytes: 33 }], 1, "s1");
    fresh.stored([{ digest: d(4), sizeBytes: 44 }], "s1"); // not seen absent: may have been a touch
    expect(fresh.sentBy("s1", [d(1), d(2), d(3), d(4), d(5)], 10 * MINUTE)).toEqual(new Map([[d(1), 11], [d(3), 33]]));
    expect(fresh.sentBy("s2", [d(1), d(2)], 10 * MINUTE)).toEqual(new Map([[d(2), 22]]));
    expect(fresh.sentBy("s1", [d(1), d(3)], 10 * MINUTE + 1)).toEqual(new Map([[d(3), 33]]));
    fresh.sawAbsent([d(3)], 2); // absent again: no longer counts as sent until stored again
    expect(fresh.sentBy("s1", [d(3)], 3)).toEqual(new Map());
  });

  it("checks each note's time, also one left behind a newer note that eviction stops at", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.sawAbsent([d(1)], 10 * MINUTE);
    fresh.sawAbsent([d(2)], 0); // a request that started earlier, noted later
    fresh.stored(sized(d(1), d(2)), "s1");
    expect(fresh.staleOf([d(1), d(2)], 11 * MINUTE)).toEqual([d(2)]);
  });

  it("keeps the newer note when a digest is seen absent again after it was stored", () => {
    const fresh = new FreshBlobs(10 * MINUTE);
    fresh.sawAbsent([d(1)], 0);
    fresh.stored(sized(d(1)), "s1");
    fresh.sawAbsent([d(1)], 8 * MINUTE);
    expect(fresh.staleOf([d(1)], 9 * MINUTE)).toEqual([d(1)]); // absent again: not yet stored again
    fresh.stored(sized(d(1)), "s1");
    expect(fresh.staleOf([d(1)], 17 * MINUTE)).toEqual([]);
  });

  it("forgets the oldest notes beyond its bound: those blobs are touched at commit, nothing is lost", () => {
    const fresh = new FreshBlobs(10 * MINUTE, 2);
    fresh.sawAbsent([d(1)], 0);
    fresh.stored(sized(d(1)), "s1");
    fresh.sawAbsent([d(2)], 1);
    fresh.stored(sized(d(2)), "s1");
    expect(fresh.staleOf([d(1), d(2)], 2)).toEqual([d(1)]);
    for (let i = 0; i < 5000; i++) fresh.sawAbsent([d(100 + i)], 3);
    expect(fresh.size).toBe(2);
  });

  it("with no window (no grace period) notes nothing: every blob is touched at commit", () => {
    const fresh = new FreshBlobs(freshWindowMs(0));
    fresh.sawAbsent([d(1)], 0);
    fresh.stored(sized(d(1)), "s1");
    expect(fresh.staleOf([d(1)], 0)).toEqual([d(1)]);
    expect(fresh.size).toBe(0);
  });

  it("takes a quarter of the grace period as its window, at most 15 minutes", () => {
    expect(freshWindowMs(24 * 60 * MINUTE)).toBe(15 * MINUTE);
    expect(freshWindowMs(20 * MINUTE)).toBe(5 * MINUTE);
    expect(freshWindowMs(1)).toBe(0);
  });
});
