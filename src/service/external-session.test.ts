import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UnauthorizedError } from "../errors/index.js";
import { systemClock } from "../engine/index.js";
import { ContextSync } from "../policy/index.js";
import { AgentService } from "./agent-service.js";
import { ContextService } from "./context-service.js";
import { openEmbeddedStores, type Stores } from "./embedded-stores.js";
import { SessionService } from "./session-service.js";

/** SessionService with `agent: "external"` and AgentService, driven by a test playing the agent. */
describe("external sessions", () => {
  let dir: string;
  let stores: Stores;
  let tenant: string;
  let contextId: string;
  const timing = { heartbeatTimeoutMs: 60_000, pollIntervalMs: 5 };
  const sessions = (over: Partial<typeof timing & { releaseTimeoutMs: number }> = {}) =>
    new SessionService(stores, tenant, systemClock, { ...timing, ...over });
  const agentOf = (token: string) => AgentService.forToken(stores, token, systemClock, { external: timing });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-external-"));
    stores = await openEmbeddedStores(path.join(dir, "store"));
    tenant = await stores.meta.ensureTenant("t");
    contextId = (await new ContextService(stores, tenant, systemClock).get("work", true)).id;
  });
  afterEach(async () => {
    await stores.meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("creates the session with a token and queues the initial download without running it", async () => {
    const svc = sessions();
    const { session, downloads, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w")] });
    expect(session).toMatchObject({ agent: "external", status: "running", root: "/" });
    expect(sessionToken).toMatch(/^cst_[A-Za-z0-9_-]{43}$/);
    expect(downloads.map((d) => d.record)).toMatchObject([{ taskType: "download", status: "Pending" }]);
    expect(await svc.info(session.id)).toMatchObject([{ status: "Pending" }]);
    const agent = await agentOf(sessionToken!);
    expect(agent.sessionId).toBe(session.id);
    expect(await agent.describe()).toMatchObject({ status: "running", mounts: [{ contextId, path: "/w", namespace: "/w" }] });
  });

  it("refuses any other token, and local sessions have none", async () => {
    const local = await sessions().create({ contextSync: [] });
    expect(local.sessionToken).toBeUndefined();
    await expect(agentOf("cst_nope")).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("finishes a release whose waiting server stopped, once the agent's uploads have ended", async () => {
    const svc = sessions();
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    const agent = await agentOf(sessionToken!);
    // A release queued its upload and the agent claimed it; then the server waiting for it stopped.
    const upload = (await svc.sync(session.id, { mode: "upload" })).tasks[0]!;
    await stores.meta.setSessionStatus(session.id, "releasing");
    expect((await agent.claimTasks(0)).tasks).toMatchObject([{ id: upload.id }]);
    expect(await agent.claimTasks(0)).toEqual({ sessionStatus: "releasing", tasks: [] }); // still uploading
    await agent.finishTask(upload.id, "Success", "");
    expect(await agent.claimTasks(0)).toEqual({ sessionStatus: "released", tasks: [] });
    expect((await svc.get(session.id)).status).toBe("released");
  });

  it("resolves a sync's done once the agent finished its tasks", async () => {
    const svc = sessions();
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    const handle = await svc.sync(session.id, { mode: "upload" });
    expect(handle.tasks).toMatchObject([{ taskType: "upload", status: "Pending" }]);
    const done = handle.done;
    const agent = await agentOf(sessionToken!);
    const { tasks } = await agent.claimTasks(0);
    await agent.finishTask(tasks[0]!.id, "Success", "");
    expect(await done).toBe(true);
  });

  it("waits in release until the agent's upload is terminal", async () => {
    const svc = sessions();
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    const agent = await agentOf(sessionToken!);
    const released = svc.release(session.id, false);
    const poll = await agent.claimTasks(5);
    // The upload is queued before the session turns releasing, so a poll may still say running.
    expect(poll.tasks).toMatchObject([{ taskType: "upload" }]);
    await agent.finishTask(poll.tasks[0]!.id, "Success", "");
    expect(await released).toMatchObject({ uploadsSucceeded: true, tasks: [{ taskType: "upload" }] });
    expect((await svc.get(session.id)).status).toBe("released");
    expect(await agent.claimTasks(0)).toEqual({ sessionStatus: "released", tasks: [] });
  });

  it("fails, at release, the tasks the agent never finished", async () => {
    const svc = sessions();
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w")] });
    const agent = await agentOf(sessionToken!);
    const released = svc.release(session.id, false);
    let claimed = (await agent.claimTasks(5)).tasks;
    while (!claimed.some((t) => t.taskType === "upload")) claimed = [...claimed, ...(await agent.claimTasks(5)).tasks];
    await agent.finishTask(claimed.find((t) => t.taskType === "upload")!.id, "Success", "");
    expect((await released).uploadsSucceeded).toBe(true);
    expect(await svc.info(session.id)).toMatchObject([
      { taskType: "download", status: "Failed", errorMessage: expect.stringMatching(/released before/) },
      { taskType: "upload", status: "Success" },
    ]);
  });

  it("fails the release upload when the agent does not finish it within releaseTimeoutMs", async () => {
    const svc = sessions({ releaseTimeoutMs: 100 });
    const { session } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    const r = await svc.release(session.id, true);
    expect(r.uploadsSucceeded).toBe(false);
    expect(await svc.info(session.id)).toMatchObject([{ status: "Failed", errorMessage: expect.stringMatching(/did not finish the release upload/) }]);
    expect((await svc.get(session.id)).status).toBe("released");
  });

  // The store is looked at only every hour here: the waits below end because this process rang them.
  it("hands a task queued during a long poll to the agent without waiting for the store's next look", async () => {
    const slow = { ...timing, pollIntervalMs: 3_600_000 };
    const svc = new SessionService(stores, tenant, systemClock, slow);
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    const agent = await AgentService.forToken(stores, sessionToken!, systemClock, { external: slow });
    const poll = agent.claimTasks(3600);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the poll is waiting
    const handle = await svc.sync(session.id, { mode: "upload" });
    const { tasks } = await poll;
    expect(tasks).toMatchObject([{ id: handle.tasks[0]!.id, taskType: "upload" }]);
    // ...and the sync waiting on that task learns of its end the same way.
    const done = handle.done;
    await agent.finishTask(tasks[0]!.id, "Success", "");
    expect(await done).toBe(true);
  });

  // An attach landing between a poll's epoch check and its claim: the claimed task goes back to Pending,
  // and the newer agent, already waiting, hears of it through the bell (the store is looked at hourly).
  it("hands a task claimed by a replaced agent to the newer agent's waiting poll at once", async () => {
    const slow = { ...timing, pollIntervalMs: 3_600_000 };
    const svc = new SessionService(stores, tenant, systemClock, slow);
    const { session, sessionToken } = await svc.create({ agent: "external", contextSync: [ContextSync.new(contextId, "/w", { downloadPolicy: { autoDownload: false } })] });
    let newer: Promise<{ tasks: { id: string }[] }> | undefined;
    let interleaved = false;
    // The real store; only the first claim lets the second agent attach and start waiting right after it.
    const meta = new Proxy(stores.meta, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop !== "claimPendingTasks" || interleaved) return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.claimPendingTasks>) => {
          interleaved = true;
          const b = await AgentService.forToken(both, sessionToken!, systemClock, { external: slow });
          const { agentEpoch } = await b.attach();
          const claimed = await target.claimPendingTasks(...args);
          const bPolling = await AgentService.forToken(both, sessionToken!, systemClock, { external: slow, agentEpoch });
          newer = bPolling.claimTasks(3600);
          await new Promise((resolve) => setTimeout(resolve, 20)); // its poll is waiting
          return claimed;
        };
      },
    });
    const both = { ...stores, meta };
    const first = await AgentService.forToken(both, sessionToken!, systemClock, { external: slow });
    const { agentEpoch } = await first.attach();
    const replaced = await AgentService.forToken(both, sessionToken!, systemClock, { external: slow, agentEpoch });
    const handle = await svc.sync(session.id, { mode: "upload" });
    await expect(replaced.claimTasks(3600)).rejects.toMatchObject({ code: "AgentReplaced" });
    expect((await newer!).tasks).toMatchObject([{ id: handle.tasks[0]!.id }]);
  });

  it("returns from a long poll at once when its signal aborts", async () => {
    const { sessionToken } = await sessions().create({ agent: "external" });
    const agent = await agentOf(sessionToken!);
    const stop = new AbortController();
    const poll = agent.claimTasks(60, stop.signal);
    setTimeout(() => stop.abort(), 20);
    expect(await poll).toEqual({ sessionStatus: "running", tasks: [] });
  });
});
