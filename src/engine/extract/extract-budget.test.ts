import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { ExtractRejectedError } from "../../errors/index.js";
import { ExtractBudget } from "./extract-budget.js";
import { EXPANSION_RATIO_FLOOR_BYTES } from "./extract-limits.js";

const KiB = 1024;
const LIMITS = { maxTotalBytes: 10 * EXPANSION_RATIO_FLOOR_BYTES, maxEntries: 3, maxExpansionRatio: 100 };

/** Streams `total` bytes in 64 KiB chunks through the budget's counter; resolves to the bytes that got through. */
async function pump(budget: ExtractBudget, total: number): Promise<number> {
  let passed = 0;
  const chunks = (function* () {
    for (let left = total; left > 0; left -= 64 * KiB) yield Buffer.alloc(Math.min(left, 64 * KiB));
  })();
  await pipeline(Readable.from(chunks), budget.counter(), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) passed += c.length;
  });
  return passed;
}

describe("ExtractBudget", () => {
  it("lets through what stays inside the limits", async () => {
    const budget = new ExtractBudget("a.zip", LIMITS, 1 << 30);
    budget.addEntry("f");
    expect(await pump(budget, 5 * EXPANSION_RATIO_FLOOR_BYTES)).toBe(5 * EXPANSION_RATIO_FLOOR_BYTES);
  });

  it("stops a stream once the inflated total passes maxTotalBytes, naming the entry", async () => {
    const budget = new ExtractBudget("a.zip", LIMITS, 1 << 30);
    budget.addEntry("big");
    const err = await pump(budget, 100 * EXPANSION_RATIO_FLOOR_BYTES).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractRejectedError);
    expect(err).toMatchObject({ entry: "big", reason: expect.stringMatching(/past 10 MiB unpacked \(maxTotalBytes\)/) as unknown });
  });

  it("ignores the expansion ratio below the floor and applies it above", async () => {
    const tiny = new ExtractBudget("a.zip", LIMITS, 1); // 1 byte packed: any output is a huge ratio
    tiny.addEntry("zeros");
    expect(await pump(tiny, EXPANSION_RATIO_FLOOR_BYTES)).toBe(EXPANSION_RATIO_FLOOR_BYTES);
    await expect(pump(tiny, 64 * KiB)).rejects.toThrow(/maxExpansionRatio/);
  });

  it("rejects early on a declared size but re-counts what is inflated", () => {
    const budget = new ExtractBudget("a.tar", LIMITS, 1 << 30);
    budget.addEntry("huge");
    expect(() => budget.expect(LIMITS.maxTotalBytes + 1)).toThrow(/maxTotalBytes/);
    expect(() => budget.expect(LIMITS.maxTotalBytes)).not.toThrow();
  });

  it("counts entries against maxEntries", () => {
    const budget = new ExtractBudget("a.tar", LIMITS, 1 << 30);
    for (const name of ["a", "b", "c"]) budget.addEntry(name);
    expect(() => budget.addEntry("d")).toThrow(/entry "d" is entry number 4, past the limit of 3 entries/);
    expect(() => budget.expectEntries(4)).toThrow(/it lists 4 entries/);
  });
});
