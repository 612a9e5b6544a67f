import { describe, expect, it } from "vitest";
import { DedupProbe, DUPLICATE_SHARE, PROBE_EVERY, PROBE_FILES } from "./dedup-probe.js";

const probe = { named: true, maxFiles: PROBE_FILES };
const fullProbe = { named: true, maxFiles: Infinity };
const unnamed = { named: false, maxFiles: Infinity };

describe("DedupProbe", () => {
  it("probes every batch, whole, for a server that takes no unnamed blobs", () => {
    const p = new DedupProbe(false);
    p.answered(0, 64);
    expect(Array.from({ length: 10 }, () => p.next())).toEqual(Array.from({ length: 10 }, () => fullProbe));
  });

  it("probes small until a probe answers; new content then goes unnamed, with a small probe every few batches", () => {
    const p = new DedupProbe(true);
    expect(p.next()).toEqual(probe);
    expect(p.next()).toEqual(probe); // the first answer is not in yet
    p.answered(0, 64);
    const plans = Array.from({ length: 2 * PROBE_EVERY }, () => p.next()); // batches 2 … 2·PROBE_EVERY + 1
    plans.forEach((plan, k) => expect(plan, `batch ${k + 2}`).toEqual((k + 2) % PROBE_EVERY === 0 ? probe : unnamed));
  });

  it("probes every batch, whole, while the latest probe found enough of its files stored, and stops when it no longer does", () => {
    const p = new DedupProbe(true);
    p.next();
    p.answered(Math.ceil(64 * DUPLICATE_SHARE), 64);
    expect(Array.from({ length: 2 * PROBE_EVERY }, () => p.next())).toEqual(Array.from({ length: 2 * PROBE_EVERY }, () => fullProbe));
    p.answered(Math.floor(64 * DUPLICATE_SHARE) - 1, 64);
    expect(p.next()).toEqual(unnamed); // batch 2·PROBE_EVERY + 1
  });

  it("ignores an answer about no blobs", () => {
    const p = new DedupProbe(true);
    p.next();
    p.answered(0, 0);
    expect(p.next()).toEqual(probe);
  });
});
