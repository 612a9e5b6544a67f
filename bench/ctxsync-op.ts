/**
 * One timed ctxsync operation, run by bench/run.ts in a child process so that its peak RSS is its own
 * and no JS-heap cache survives from one operation to the next.
 *
 *   node --import tsx bench/ctxsync-op.ts '<OpRequest as JSON>'   (see op-protocol.ts)
 *
 * Prints one line `BENCH_RESULT <OpResult as JSON>` on stdout and exits 0, or exits 1 with the reason
 * on stderr. Only the operation itself is timed: process start, module loading and opening the store
 * are not (the parent reports the child's whole wall time separately).
 */
import fs from "node:fs";
import inspector from "node:inspector/promises";
import { ContextSync, CtxSync, UploadMode, type ContextStatusData, type Session, type SyncPolicyInput } from "../src/sdk/index.js";
import { RESULT_PREFIX, type OpRequest, type OpResult } from "./op-protocol.js";

/** Profiler sampling period: fine enough for sub-second ops, coarse enough to cost little. */
const PROFILE_INTERVAL_US = 250;

async function run(req: OpRequest): Promise<OpResult> {
  const client = req.endpoint ? new CtxSync({ endpoint: req.endpoint, apiKey: req.apiKey }) : new CtxSync({ home: req.home });
  try {
    await client.list(); // opens the store first: no operation is billed for that
    switch (req.op) {
      case "baseline":
        return finish({ seconds: 0, cpuSeconds: 0, systemSeconds: 0, minorFaults: 0 });
      case "upload-first":
        return await uploadFirst(client, req);
      case "upload":
        return await upload(await getSession(client, req.sessionId), req.cpuProfile);
      case "download":
        return await download(client, req);
    }
  } finally {
    await client.close();
  }
}

async function uploadFirst(client: CtxSync, req: Extract<OpRequest, { op: "upload-first" }>): Promise<OpResult> {
  const ctx = await client.context.get(req.contextName, true);
  if (!ctx.success) throw new Error(`context: ${ctx.errorMessage}`);
  const created = await client.create({ root: req.root, contextSync: [ContextSync.new(ctx.contextId, req.mountPath, policy(req))] });
  if (!created.session) throw new Error(`create session: ${created.errorMessage}`);
  return { ...(await upload(created.session, req.cpuProfile)), contextId: ctx.contextId, sessionId: created.session.sessionId };
}

async function getSession(client: CtxSync, sessionId: string): Promise<Session> {
  const got = await client.get(sessionId);
  if (!got.session) throw new Error(`get session ${sessionId}: ${got.errorMessage}`);
  return got.session;
}

async function upload(session: Session, cpuProfile: string | undefined): Promise<OpResult> {
  const { value: res, ...timing } = await measure(() => session.context.sync(), cpuProfile);
  if (!res.success) throw new Error(`upload failed: ${res.errorMessage}`);
  return { ...finish(timing), ...(await moved(session, "upload")) };
}

async function download(client: CtxSync, req: Extract<OpRequest, { op: "download" }>): Promise<OpResult> {
  // create() waits for the initial download of every mount that did not opt out.
  const { value: created, ...timing } = await measure(
    () => client.create({ root: req.root, contextSync: [ContextSync.new(req.contextId, req.mountPath, policy(req))] }),
    req.cpuProfile,
  );
  if (!created.session) throw new Error(`create session: ${created.errorMessage}`);
  const task = await latestTask(created.session, "download");
  // create() succeeds even when a download fails (the task records it), so check the task itself.
  if (task.status !== "Success") throw new Error(`download ${task.status}: ${task.errorMessage}`);
  return { ...finish(timing), ...(await moved(created.session, "download")), sessionId: created.session.sessionId };
}

async function latestTask(session: Session, type: "upload" | "download"): Promise<ContextStatusData> {
  const info = await session.context.infoWithParams(undefined, undefined, type);
  const task = info.contextStatusData.at(-1);
  if (!task) throw new Error(`no ${type} task recorded: ${info.errorMessage ?? ""}`);
  return task;
}

async function moved(session: Session, type: "upload" | "download"): Promise<Pick<OpResult, "filesMoved" | "bytesMoved">> {
  const task = await latestTask(session, type);
  return { filesMoved: task.filesTotal, bytesMoved: task.bytesTotal };
}

/** The mount's sync policy: ARCHIVE mode when asked, the default otherwise. */
function policy(req: OpRequest): SyncPolicyInput | undefined {
  return req.archive ? { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } } : undefined;
}

/** Wall and CPU (user + system, this process) time and page faults of `fn`; with `cpuProfile`, also its CPU profile. */
async function measure<T>(fn: () => Promise<T>, cpuProfile?: string): Promise<{ value: T } & Timing> {
  const profiler = cpuProfile ? await startProfiler() : undefined;
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const minorFaults = process.resourceUsage().minorPageFault - faults0;
  if (profiler && cpuProfile) await profiler.stopTo(cpuProfile);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, systemSeconds: cpu.system / 1e6, minorFaults };
}

/**
 * Starts V8's sampling profiler through the inspector: unlike `node --cpu-prof`, it covers only the
 * operation, not process start-up and module loading.
 */
async function startProfiler(): Promise<{ stopTo(file: string): Promise<void> }> {
  const session = new inspector.Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: PROFILE_INTERVAL_US });
  await session.post("Profiler.start");
  return {
    async stopTo(file) {
      const { profile } = await session.post("Profiler.stop");
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** What `measure` finds out about an operation. */
type Timing = Pick<OpResult, "seconds" | "cpuSeconds" | "systemSeconds" | "minorFaults">;

function finish(timing: Timing): OpResult {
  return { ...timing, maxRssKiB: process.resourceUsage().maxRSS };
}

try {
  const arg = process.argv[2];
  if (!arg) throw new Error("usage: node --import tsx bench/ctxsync-op.ts '<OpRequest JSON>'");
  const result = await run(JSON.parse(arg) as OpRequest);
  // Measured again at exit: the peak may come after the timed part (closing the store).
  result.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
} catch (err) {
  console.error(`ctxsync-op: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
}
