import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContextSync } from "../policy/index.js";
import { ContextService, SessionService } from "../service/index.js";
import { ServerJobs } from "./jobs.js";
import { openTestServer, type TestServer } from "./test-server.js";

describe("ServerJobs", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({ options: { lostCheckIntervalMs: 20, gcFirstDelayMs: 10, gcIntervalMs: 3_600_000, external: { heartbeatTimeoutMs: 50, agentStartTimeoutMs: 50 } } });
  });
  afterEach(() => t.close());

  it("marks lost a session whose agent never connected, on its own schedule; runs gc after its first delay; stops cleanly", async () => {
    const infos: string[] = [];
    const jobs = new ServerJobs({ ...t.deps, log: { info: (m) => infos.push(m), error: (m) => infos.push(`ERROR ${m}`) }, gc: { retentionMs: 1, minBlobAgeMs: 1 } });
    const sessions = new SessionService(t.stores, t.tenantA, t.deps.clock, t.deps.options.external);
    const ctx = await new ContextService(t.stores, t.tenantA, t.deps.clock).get("c", true);
    const { session } = await sessions.create({ agent: "external", contextSync: [ContextSync.new(ctx.id, "/w")] });
    jobs.start();
    try {
      while ((await sessions.get(session.id)).status !== "lost" || !infos.some((m) => m.startsWith("gc:"))) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await jobs.stop();
    }
    expect(infos).toContain(`session ${session.id} lost: its agent stopped sending heartbeats or never connected`);
    expect(await sessions.info(session.id)).toMatchObject([{ status: "Failed", errorMessage: expect.stringMatching(/agent never connected/) }]);
    expect(infos.filter((m) => m.startsWith("ERROR"))).toEqual([]);
  });
});
