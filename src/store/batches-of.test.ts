import { describe, expect, it } from "vitest";
import { batchesOf } from "./batches-of.js";

describe("batchesOf", () => {
  const size = (n: number) => n;

  it("cuts by count and by bytes, in order, a too-large item alone", () => {
    expect(batchesOf([1, 1, 1, 1, 1], size, 2, 100)).toEqual([[1, 1], [1, 1], [1]]);
    expect(batchesOf([4, 4, 4, 1], size, 10, 8)).toEqual([[4, 4], [4, 1]]);
    expect(batchesOf([1, 50, 1], size, 10, 8)).toEqual([[1], [50], [1]]);
  });

  it("makes no batch of nothing", () => {
    expect(batchesOf([], size, 2, 8)).toEqual([]);
  });
});
