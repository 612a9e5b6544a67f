import { describe, expect, it } from "vitest";
import { serverOptionsWithDefaults } from "./server-options.js";

describe("serverOptionsWithDefaults", () => {
  it("runs the first collection 5 minutes after start, or after one interval when that is shorter", () => {
    expect(serverOptionsWithDefaults().gcFirstDelayMs).toBe(300_000);
    expect(serverOptionsWithDefaults({ gcIntervalMs: 3000 }).gcFirstDelayMs).toBe(3000);
    expect(serverOptionsWithDefaults({ gcIntervalMs: 7_200_000 }).gcFirstDelayMs).toBe(300_000);
    expect(serverOptionsWithDefaults({ gcIntervalMs: 3000, gcFirstDelayMs: 50 }).gcFirstDelayMs).toBe(50);
  });
});
