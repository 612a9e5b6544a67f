import { describe, expect, it } from "vitest";
import { TaskBell } from "./task-bell.js";

describe("TaskBell", () => {
  it("wakes the waits on the session rung, and only those", async () => {
    const bell = new TaskBell();
    const woken: string[] = [];
    const a1 = bell.wait("a", 3_600_000).then(() => woken.push("a1"));
    const a2 = bell.wait("a", 3_600_000).then(() => woken.push("a2"));
    const b = bell.wait("b", 3_600_000).then(() => woken.push("b"));
    bell.ring("a");
    await Promise.all([a1, a2]);
    expect(woken.sort()).toEqual(["a1", "a2"]);
    bell.ring("b");
    await b;
    expect(woken).toContain("b");
  });

  it("ends a wait at its time with no ring, and at once when its signal aborts", async () => {
    const bell = new TaskBell();
    await bell.wait("a", 1);
    const stop = new AbortController();
    const waiting = bell.wait("a", 3_600_000, stop.signal);
    stop.abort();
    await waiting;
    await bell.wait("a", 3_600_000, stop.signal); // already aborted: returns at once
  });

  it("does not wake a wait that starts after the ring", async () => {
    const bell = new TaskBell();
    bell.ring("a");
    let woken = false;
    const waiting = bell.wait("a", 20).then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    await waiting;
  });
});
