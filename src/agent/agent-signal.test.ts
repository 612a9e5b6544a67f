import { describe, expect, it } from "vitest";
import { agentSignal } from "./agent-signal.js";

describe("agentSignal", () => {
  it("aborts with the caller's reason, also when the caller's signal was aborted already", () => {
    const outer = new AbortController();
    const { signal } = agentSignal(outer.signal);
    expect(signal.aborted).toBe(false);
    outer.abort(new Error("stop"));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("stop");
    expect(agentSignal(outer.signal).signal.reason).toBe(outer.signal.reason);
  });

  it("after release, no longer follows the caller's signal", () => {
    const outer = new AbortController();
    const { signal, release } = agentSignal(outer.signal);
    release();
    outer.abort();
    expect(signal.aborted).toBe(false);
  });

  it("takes any number of listeners without a leak warning; without a caller's signal it never aborts", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const { signal } = agentSignal();
      for (let i = 0; i < 50; i++) signal.addEventListener("abort", () => undefined);
      expect(signal.aborted).toBe(false);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.map((w) => w.name)).not.toContain("MaxListenersExceededWarning");
  });
});
