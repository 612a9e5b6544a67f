import { describe, expect, it } from "vitest";
import { EvalThread, ThreadStoppedError } from "./eval-thread.js";

// Echoes `n` after as many notes; "crash" throws where nothing catches it, which kills the thread.
const CODE = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", ({ id, n, crash }) => {
  if (crash) throw new Error("crashed on purpose");
  for (let i = 0; i < n; i++) parentPort.postMessage({ id, note: i });
  parentPort.postMessage({ id, answer: n });
});
`;

describe("EvalThread", () => {
  it("hands a call's notes over before its answer", async () => {
    const thread = new EvalThread<number, { note: number }>("test", CODE);
    const notes: number[] = [];
    const { answer } = thread.call({ n: 3 }, { onNote: (m) => notes.push(m.note) });
    expect(await answer).toBe(3);
    expect(notes).toEqual([0, 1, 2]);
    await thread.stop();
  });

  it("fails the calls of a thread that dies, and only those: a call made before its last event goes to a new thread", async () => {
    const thread = new EvalThread<number>("test", CODE);
    const { answer: crashed } = thread.call({ crash: true });
    await expect(crashed).rejects.toBeInstanceOf(ThreadStoppedError);
    await expect(crashed).rejects.toThrow("The test thread stopped (crashed on purpose)");
    // Made at once, while the dead thread's exit is still to come: that exit must not fail it.
    const { answer } = thread.call({ n: 2 });
    expect(await answer).toBe(2);
    await thread.stop();
  });
});
