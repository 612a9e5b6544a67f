import { describe, expect, it } from "vitest";
import { TaskBell } from "./task-bell.js";

describe("TaskBell", () => {
  it("wakes the waits on the session rung, and only those", async () => {
    const bell = new TaskBell();
    const woken: string[] = [];
    const a1 = bell.listen("a").wait(3_600_000).then(() => woken.push("a1"));
    const a2 = bell.listen("a").wait(3_600_000).then(() => woken.push("a2"));
    const b = bell.listen("b").wait(3_600_000).then(() => woken.push("b"));
    bell.ring("a");
    await Promise.all([a1, a2]);
    expect(woken.sort()).toEqual(["a1", "a2"]);
    bell.ring("b");
    await b;
    expect(woken).toContain("b");
  });

  it("ends a wait at its time with no ring, and at once when its signal aborts", async () => {
    const bell = new TaskBell();
    await bell.listen("a").wait(1);
    const stop = new AbortController();
    const waiting = bell.listen("a").wait(3_600_000, stop.signal);
    stop.abort();
    await waiting;
    await bell.listen("a").wait(3_600_000, stop.signal); // already aborted: returns at once
  });

  it("does not wake a wait that starts after the ring", async () => {
    const bell = new TaskBell();
    bell.ring("a");
    let woken = false;
    const waiting = bell.listen("a").wait(20).then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    await waiting;
  });

  it("keeps a ring that comes between listen and wait: the wait returns at once", async () => {
    const bell = new TaskBell();
    const listener = bell.listen("a");
    bell.ring("a"); // while the waiter reads the store
    await listener.wait(3_600_000);
    const other = bell.listen("b");
    bell.ring("a");
    let woken = false;
    const waiting = other.wait(20).then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false); // another session's ring
    await waiting;
  });

  it("forgets a listener that is closed or has waited", async () => {
    const bell = new TaskBell();
    bell.listen("a").close();
    await bell.listen("b").wait(1);
    expect((bell as unknown as { listeners: Map<string, unknown> }).listeners.size).toBe(0);
  });
});
