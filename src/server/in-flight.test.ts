import { describe, expect, it } from "vitest";
import { InFlight } from "./in-flight.js";

describe("InFlight", () => {
  it("is drained at once when nothing was tracked", async () => {
    await expect(new InFlight().drained()).resolves.toBeUndefined();
  });

  it("drains only after every tracked promise settled, rejected ones included", async () => {
    const handlers = new InFlight();
    let finishOk!: () => void;
    let failLater!: (e: Error) => void;
    const ok = handlers.track(new Promise<void>((r) => (finishOk = r)));
    const failing = handlers.track(new Promise<void>((_, j) => (failLater = j)));
    let drained = false;
    const waiting = handlers.drained().then(() => (drained = true));

    finishOk();
    await ok;
    await Promise.resolve();
    expect(drained).toBe(false); // one still runs

    failLater(new Error("handler failed"));
    await expect(failing).rejects.toThrow("handler failed"); // the caller still sees the rejection
    await waiting;
    expect(drained).toBe(true);
  });

  it("passes plain values through uncounted", async () => {
    const handlers = new InFlight();
    const response = new Response("x");
    expect(handlers.track(response)).toBe(response);
    await expect(handlers.drained()).resolves.toBeUndefined();
  });
});
