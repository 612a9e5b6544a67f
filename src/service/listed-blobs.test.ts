import { describe, expect, it } from "vitest";
import { ListedBlobs } from "./listed-blobs.js";

const d = (n: number) => n.toString(16).padStart(64, "0");
const MINUTE = 60_000;

describe("ListedBlobs", () => {
  it("lets the listed session, and no other, read what it was shown, for the window after the listing", () => {
    const listed = new ListedBlobs(5 * MINUTE);
    listed.listed("s1", [d(1), d(2)], 1_000_000);
    expect(listed.shownTo("s1", [d(1), d(2), d(3)], 1_000_000 + 5 * MINUTE)).toEqual(new Set([d(1), d(2)]));
    expect(listed.shownTo("s2", [d(1), d(2)], 1_000_000)).toEqual(new Set());
    expect(listed.shownTo("s1", [d(1), d(2)], 1_000_000 + 5 * MINUTE + 1)).toEqual(new Set());
    expect(listed.size).toBe(0);
  });

  it("keeps each listing of a session for its own window", () => {
    const listed = new ListedBlobs(5 * MINUTE);
    listed.listed("s1", [d(1)], 0);
    listed.listed("s1", [d(2)], 3 * MINUTE);
    expect(listed.shownTo("s1", [d(1), d(2)], 5 * MINUTE)).toEqual(new Set([d(1), d(2)]));
    expect(listed.shownTo("s1", [d(1), d(2)], 6 * MINUTE)).toEqual(new Set([d(2)]));
  });

  it("drops the oldest listings beyond its bound, and keeps no listing larger than the bound", () => {
    const listed = new ListedBlobs(5 * MINUTE, 3);
    listed.listed("s1", [d(1), d(2)], 0);
    listed.listed("s2", [d(3), d(4)], 1);
    expect(listed.size).toBe(2);
    expect(listed.shownTo("s1", [d(1)], 1)).toEqual(new Set());
    expect(listed.shownTo("s2", [d(3), d(4)], 1)).toEqual(new Set([d(3), d(4)]));
    listed.listed("s3", [d(5), d(6), d(7), d(8)], 2);
    expect(listed.shownTo("s3", [d(5)], 2)).toEqual(new Set());
    expect(listed.size).toBe(2);
  });

  it("keeps nothing with a window of zero, or for a listing with no blobs", () => {
    const none = new ListedBlobs(0);
    none.listed("s1", [d(1)], 0);
    expect(none.shownTo("s1", [d(1)], 0)).toEqual(new Set());
    const empty = new ListedBlobs();
    empty.listed("s1", [], 0);
    expect(empty.size).toBe(0);
  });
});
