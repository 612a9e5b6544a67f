import type { Clock } from "../../src/engine/index.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * A clock that moves only when told. It starts at the real time by default: blob stores stamp blobs with
 * the real clock (a file's mtime), and GC's grace period compares those stamps with this clock.
 */
export class FakeClock implements Clock {
  constructor(private ms = Date.now()) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
