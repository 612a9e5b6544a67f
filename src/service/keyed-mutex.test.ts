import { describe, expect, it } from "vitest";
import { KeyedMutex } from "./keyed-mutex.js";

describe("KeyedMutex", () => {
  it("runs functions of one key one at a time, in call order, even when one fails", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = mutex.run("k", async () => {
      log.push("first start");
      await gate;
      log.push("first end");
      throw new Error("first failed");
    });
    const second = mutex.run("k", async () => {
      log.push("second");
      return 2;
    });
    const other = mutex.run("other", async () => {
      log.push("other key");
    });
    await other;
    expect(log).toEqual(["first start", "other key"]);
    release();
    await expect(first).rejects.toThrow("first failed");
    await expect(second).resolves.toBe(2);
    expect(log).toEqual(["first start", "other key", "first end", "second"]);
  });
});
