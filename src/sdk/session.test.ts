import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../errors/index.js";
import type { SessionBackend, TasksOutcome } from "./backend.js";
import { SessionContextManager } from "./session.js";

/** A backend whose sync ends with `outcome`: only what sync() calls is there. */
function endingWith(outcome: TasksOutcome): SessionBackend {
  return { sync: async () => ({ taskIds: ["t"], wait: async () => outcome }) } as unknown as SessionBackend;
}

describe("SessionContextManager.sync results", () => {
  it("says which tasks failed as TaskFailed, a polling that gave up as SyncTimeout, and a failed read of the tasks as its own error", async () => {
    const sync = (outcome: TasksOutcome) => new SessionContextManager(endingWith(outcome), "s").sync();
    expect(await sync({ ok: true })).toMatchObject({ success: true });
    expect(await sync({ ok: false, errorMessage: "/data: disk full" })).toMatchObject({ errorCode: "TaskFailed", errorMessage: "[TaskFailed] /data: disk full" });
    expect(await sync({ ok: false, timedOutAfter: 3 })).toMatchObject({
      errorCode: "SyncTimeout",
      errorMessage: "[SyncTimeout] Context sync polling timed out after 3 attempts",
    });
    const down = new StoreUnavailableError("Cannot reach the ctxsync server at http://127.0.0.1:1.");
    expect(await sync({ ok: false, errorMessage: down.message, error: down })).toMatchObject({
      errorCode: "StoreUnavailable",
      errorMessage: "[StoreUnavailable] Cannot reach the ctxsync server at http://127.0.0.1:1.",
    });
  });
});
