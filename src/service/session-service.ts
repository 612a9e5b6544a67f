import path from "node:path";
import {
  ContextNotFoundError,
  InvalidParameterError,
  PathAlreadyBoundError,
  SessionNotActiveError,
  SessionNotFoundError,
} from "../errors/index.js";
import { checkScope, downloadMount, MountLayout, mountSpecFor, syncPathOf, uploadMount, type Clock, type MountSpec } from "../engine/index.js";
import { MAX_MOUNTS, normalizeSessionPath, resolveSyncPolicy, SyncPolicy, type ContextSync } from "../policy/index.js";
import {
  newId,
  type MountRecord,
  type SessionAgent,
  type SessionRecord,
  type TaskRecord,
  type TaskStatus,
  type TaskType,
} from "../store/index.js";
import type { Stores } from "./embedded-stores.js";
import {
  externalSessionOptionsWithDefaults,
  lostSessionMessage,
  waitForTasks,
  type ExternalSessionOptions,
} from "./external-tasks.js";
import { checkLabels } from "./input-checks.js";
import { KeyedMutex } from "./keyed-mutex.js";
import { queueTask } from "./queue-task.js";
import { startTask, type StartedTask } from "./run-task.js";
import { hashSecret, newSecretToken } from "./secret-token.js";

export type SyncMode = "upload" | "download";

export interface CreateSessionInput {
  contextSync?: readonly ContextSync[];
  /** Local directory holding the session's filesystem; session path `/x` lives at `root/x`. Default `/`. */
  root?: string;
  labels?: Record<string, string>;
  /**
   * Who moves the files: `local` (default), this process; `external`, an agent elsewhere that claims the
   * session's tasks with the session token (AgentService).
   */
  agent?: SessionAgent;
}

/** What create() made. */
export interface CreatedSessionInfo {
  session: SessionRecord;
  /**
   * The initial downloads. Local sessions: started, and awaited unless the mount opted out. External
   * sessions: Pending for the agent, never awaited here (the agent needs the token create() returns first);
   * their `done` polls the store only when read.
   */
  downloads: StartedTask[];
  /** External sessions only: the token the agent authenticates with. Returned once; only its hash is stored. */
  sessionToken?: string;
}

/** A started sync: its tasks (already recorded) and a promise of overall success. */
export interface SyncHandle {
  tasks: TaskRecord[];
  /** True when every task ended Success; never rejects. For external sessions it polls the store once read. */
  done: Promise<boolean>;
}

/** The result of a release. */
export interface ReleaseInfo {
  uploadsSucceeded: boolean;
  tasks: TaskRecord[];
  /** Set when the release did not upload: the session's agent was lost. */
  errorMessage?: string;
}

/**
 * Sessions of one tenant: create with mounts and initial downloads, sync on demand, task status, and
 * release with upload first.
 *
 * Local sessions (the default) have their filesystem in this process, whose in-process agent runs the
 * transfers. External sessions (`agent: "external"`) only record Pending tasks; an agent elsewhere claims
 * and runs them through AgentService with the session token, and release waits, polling the store, until
 * the agent has finished the final uploads or has gone silent (the session is then `lost`).
 */
export class SessionService {
  /** One transfer at a time per session path, so release never races a running download. */
  private readonly mountLocks = new KeyedMutex();
  private readonly external: ExternalSessionOptions;

  constructor(
    private readonly stores: Stores,
    private readonly tenantId: string,
    private readonly clock: Clock,
    externalOptions: Partial<ExternalSessionOptions> = {},
    /** Aborts when the server stops: a release then stops waiting for its agent (ServerStoppingError). */
    private readonly stopping?: AbortSignal,
  ) {
    this.external = externalSessionOptionsWithDefaults(externalOptions);
  }

  /**
   * Creates a session. Every mount is checked (context exists, path valid and unique) before anything is
   * written, so a bad mount creates no session. Local: starts one download per `autoDownload` mount and
   * waits for those whose ContextSync did not opt out with `withBetaWaitForCompletion(false)`. External:
   * queues those downloads for the agent and returns its token.
   */
  async create(input: CreateSessionInput): Promise<CreatedSessionInfo> {
    const now = this.clock.now();
    const agent = input.agent ?? "local";
    if (agent !== "local" && agent !== "external") {
      throw new InvalidParameterError(`Invalid agent ${JSON.stringify(agent)}: use "local" or "external".`);
    }
    const session: SessionRecord = {
      id: newId("sess", now),
      tenantId: this.tenantId,
      status: "running",
      root: checkRoot(input.root),
      labels: checkLabels(input.labels),
      createdAtMs: now,
      agent,
      lastHeartbeatMs: null,
    };
    const mounts = await this.checkMounts(session.id, input.contextSync ?? [], []);
    if (agent === "local") {
      await this.stores.meta.createSession(session, mounts);
      return { session, downloads: await this.startInitialDownloads(session, mounts) };
    }
    const sessionToken = newSecretToken("cst");
    await this.stores.meta.createSession(session, mounts, { tokenHash: hashSecret(sessionToken) });
    const downloads = await this.startInitialDownloads(session, mounts.map((m) => ({ ...m, waitForCompletion: false })));
    return { session, downloads, sessionToken };
  }

  /** Mounts more contexts on a running session; downloads per policy, waiting when asked. */
  async bind(sessionId: string, contextSyncs: readonly ContextSync[], waitForCompletion: boolean): Promise<StartedTask[]> {
    const session = await this.running(sessionId);
    const existing = await this.stores.meta.listMounts(sessionId);
    const mounts = await this.checkMounts(sessionId, contextSyncs, existing);
    for (const m of mounts) await this.stores.meta.addMount(m);
    const downloads = await this.startInitialDownloads(session, mounts.map((m) => ({ ...m, waitForCompletion })));
    return downloads;
  }

  async get(sessionId: string): Promise<SessionRecord> {
    const s = await this.stores.meta.getSession(this.tenantId, sessionId);
    if (!s) throw new SessionNotFoundError(sessionId);
    return s;
  }

  async list(): Promise<SessionRecord[]> {
    return this.stores.meta.listSessions(this.tenantId);
  }

  async listMounts(sessionId: string): Promise<MountRecord[]> {
    await this.get(sessionId);
    return this.stores.meta.listMounts(sessionId);
  }

  /** The session's mounts in bind order, each with its context's name ("" for a context deleted since). */
  async listBindings(sessionId: string): Promise<(MountRecord & { contextName: string })[]> {
    const mounts = await this.listMounts(sessionId);
    const names = new Map<string, string>();
    for (const m of mounts) {
      if (!names.has(m.contextId)) names.set(m.contextId, (await this.stores.meta.getContext(this.tenantId, m.contextId))?.name ?? "");
    }
    return mounts.map((m) => ({ ...m, contextName: names.get(m.contextId)! }));
  }

  /**
   * Starts upload or download tasks: for every mount when `contextId`/`path` are omitted, else for the
   * mount of that context at that path, or — for a path that is not a mount — an ad-hoc sync of that path
   * with the default policy.
   */
  async sync(sessionId: string, opts: { contextId?: string; path?: string; mode?: SyncMode }): Promise<SyncHandle> {
    const session = await this.running(sessionId);
    const mode = opts.mode ?? "upload";
    if (mode !== "upload" && mode !== "download") {
      throw new InvalidParameterError(`Invalid sync mode ${JSON.stringify(mode)}: use "upload" or "download".`);
    }
    const specs = await this.syncTargets(session, opts.contextId, opts.path);
    return this.startTransfers(session, specs, mode);
  }

  /**
   * The session's tasks among `taskIds`, in that order, whether or not a newer task of the same mount
   * followed (info() shows only the latest): what a caller waiting on the tasks it started reads.
   */
  async tasksByIds(sessionId: string, taskIds: readonly string[]): Promise<TaskRecord[]> {
    await this.get(sessionId);
    const byId = new Map((await this.stores.meta.listTasks(sessionId)).map((t) => [t.id, t]));
    return taskIds.flatMap((id) => byId.get(id) ?? []);
  }

  /** Latest task per (context, path, type) of the session, optionally filtered. */
  async info(sessionId: string, filter: { contextId?: string; path?: string; taskType?: TaskType } = {}): Promise<TaskRecord[]> {
    await this.get(sessionId);
    const path = filter.path ? normalizeSessionPath(filter.path) : undefined;
    const tasks = await this.stores.meta.listTasks(sessionId, { ...filter, path });
    const latest = new Map<string, TaskRecord>();
    for (const t of tasks) latest.set(`${t.contextId}\0${t.path}\0${t.taskType}`, t);
    return [...latest.values()];
  }

  /**
   * Releases a session: uploads first — every mount when `syncContext`, else the `autoUpload` ones — and
   * returns only after those uploads are terminal, so the next session sees the data. Releasing a
   * released session succeeds without doing anything.
   *
   * External sessions: the uploads are queued for the agent and the release waits until they are terminal,
   * the agent goes silent (the session becomes lost, the tasks fail), or `releaseTimeoutMs` passes (the
   * open tasks fail). A lost session is released without uploading: uploadsSucceeded is false. A server
   * that stops meanwhile ends the wait with ServerStoppingError; the session stays `releasing` and the
   * agent's first poll of the restarted server finishes the release once its uploads end.
   */
  async release(sessionId: string, syncContext: boolean): Promise<ReleaseInfo> {
    const session = await this.get(sessionId);
    if (session.status === "released") return { uploadsSucceeded: true, tasks: [] };
    if (session.status === "lost") {
      await this.stores.meta.setSessionStatus(sessionId, "released");
      return { uploadsSucceeded: false, tasks: [], errorMessage: lostSessionMessage(this.external, (session.lastHeartbeatMs ?? null) === null) };
    }
    const mounts = await this.stores.meta.listMounts(sessionId);
    const specs = mounts.map(toSpec).filter((s) => syncContext || s.policy.uploadPolicy.autoUpload);
    let tasks: TaskRecord[];
    let ok: boolean;
    if (isExternal(session)) {
      tasks = [];
      // Queued before the session says `releasing`: from then on, a releasing session with no open task
      // has finished its release uploads, whoever waits for them (AgentService.claimTasks finishes a
      // release whose waiting server stopped).
      for (const spec of specs) tasks.push(await this.queue(session, spec, "upload"));
      await this.stores.meta.setSessionStatus(sessionId, "releasing");
      const statuses = await waitForTasks(this.deps(), session, tasks.map((t) => t.id), {
        ...this.external,
        deadlineMs: this.clock.now() + this.external.releaseTimeoutMs,
        timeoutMessage: `The agent did not finish the release upload within ${Math.round(this.external.releaseTimeoutMs / 1000)} s; the session was released without it.`,
        signal: this.stopping,
      });
      ok = statuses.every((st) => st === "Success");
      // Tasks the agent never got to (a download queued just before the release) would stay open forever.
      const now = this.clock.now();
      for (const t of await this.stores.meta.listTasks(sessionId)) {
        await this.stores.meta.updateTaskIf(t.id, ["Pending", "Running"], {
          status: "Failed",
          errorMessage: "The session was released before its agent finished this task.",
          finishTimeMs: now,
        });
      }
    } else {
      await this.stores.meta.setSessionStatus(sessionId, "releasing");
      const handle = await this.startTransfers(session, specs, "upload");
      tasks = handle.tasks;
      ok = await handle.done;
    }
    await this.stores.meta.setSessionStatus(sessionId, "released");
    return { uploadsSucceeded: ok, tasks };
  }

  private async running(sessionId: string): Promise<SessionRecord> {
    const session = await this.get(sessionId);
    if (session.status !== "running") throw new SessionNotActiveError(sessionId, session.status);
    return session;
  }

  private async checkMounts(
    sessionId: string,
    contextSyncs: readonly ContextSync[],
    existing: readonly MountRecord[],
  ): Promise<MountRecord[]> {
    if (contextSyncs.length > MAX_MOUNTS) {
      throw new InvalidParameterError(`At most ${MAX_MOUNTS} contexts can be mounted in one call; got ${contextSyncs.length}. Bind the rest with bind().`);
    }
    const taken = new Set(existing.map((m) => m.path));
    const out: MountRecord[] = [];
    const now = this.clock.now();
    for (const cs of contextSyncs) {
      if (!cs || typeof cs.contextId !== "string" || cs.contextId === "") {
        throw new InvalidParameterError("Each contextSync needs a contextId; build it with ContextSync.new(contextId, path, policy).");
      }
      const mountPath = normalizeSessionPath(cs.path);
      const policy = resolveSyncPolicy(cs.policy);
      if (taken.has(mountPath)) throw new PathAlreadyBoundError(mountPath);
      taken.add(mountPath);
      if (!(await this.stores.meta.getContext(this.tenantId, cs.contextId))) throw new ContextNotFoundError(cs.contextId);
      out.push({
        sessionId,
        contextId: cs.contextId,
        path: mountPath,
        policyJson: JSON.stringify(policy.toJSON()),
        waitForCompletion: cs.betaWaitForCompletion !== false,
        bindTimeMs: now,
      });
    }
    return out;
  }

  private async startInitialDownloads(session: SessionRecord, mounts: readonly MountRecord[]): Promise<StartedTask[]> {
    const started: StartedTask[] = [];
    const waits: Promise<TaskStatus>[] = [];
    for (const m of mounts) {
      const spec = toSpec(m);
      if (!spec.policy.downloadPolicy.autoDownload) continue;
      const task = isExternal(session)
        ? this.queued(session, await this.queue(session, spec, "download"))
        : await this.startTransfer(session, spec, "download");
      started.push(task);
      if (m.waitForCompletion) waits.push(task.done);
    }
    await Promise.all(waits);
    return started;
  }

  private async syncTargets(session: SessionRecord, contextId?: string, rawPath?: string): Promise<MountSpec[]> {
    const mounts = await this.stores.meta.listMounts(session.id);
    if (!contextId && !rawPath) return mounts.map(toSpec);
    if (!contextId || !rawPath) {
      throw new InvalidParameterError(
        "contextId and path must be provided together or both omitted. If you want to sync a specific context, both contextId and path are required. If you want to sync all contexts, omit both parameters.",
      );
    }
    const syncPath = normalizeSessionPath(rawPath);
    const inMount = mountSpecFor(mounts.map(toSpec), contextId, syncPath);
    if (inMount) {
      checkScope(inMount);
      return [inMount];
    }
    if (!(await this.stores.meta.getContext(this.tenantId, contextId))) throw new ContextNotFoundError(contextId);
    return [adHocSpec(contextId, syncPath)];
  }

  private async startTransfers(session: SessionRecord, specs: readonly MountSpec[], mode: SyncMode): Promise<SyncHandle> {
    if (isExternal(session)) {
      const tasks: TaskRecord[] = [];
      for (const spec of specs) tasks.push(await this.queue(session, spec, mode));
      let done: Promise<boolean> | undefined;
      const wait = () => waitForTasks(this.deps(), session, tasks.map((t) => t.id), this.external);
      // Lazy: a caller that only wants the task list (the server) starts no polling loop.
      return {
        tasks,
        get done() {
          return (done ??= wait().then((all) => all.every((st) => st === "Success")));
        },
      };
    }
    const started: StartedTask[] = [];
    for (const spec of specs) started.push(await this.startTransfer(session, spec, mode));
    const done = Promise.all(started.map((t) => t.done)).then((all) => all.every((s) => s === "Success"));
    return { tasks: started.map((t) => t.record), done };
  }

  private deps() {
    return { meta: this.stores.meta, clock: this.clock };
  }

  /** Records a Pending task for an external session's agent. */
  private queue(session: SessionRecord, spec: MountSpec, taskType: TaskType): Promise<TaskRecord> {
    return queueTask(this.deps(), { sessionId: session.id, contextId: spec.contextId, path: syncPathOf(spec), taskType });
  }

  /** A queued task as a StartedTask whose `done` polls the store once read. */
  private queued(session: SessionRecord, record: TaskRecord): StartedTask {
    let done: Promise<TaskStatus> | undefined;
    const wait = () => waitForTasks(this.deps(), session, [record.id], this.external).then(([st]) => st ?? "Failed");
    return {
      record,
      get done() {
        return (done ??= wait());
      },
    };
  }

  private startTransfer(session: SessionRecord, spec: MountSpec, taskType: TaskType): Promise<StartedTask> {
    const layout = new MountLayout(session.root, spec);
    const deps = { ...this.stores, clock: this.clock };
    return startTask(
      { meta: this.stores.meta, clock: this.clock },
      { sessionId: session.id, contextId: spec.contextId, path: syncPathOf(spec), taskType },
      (run) => this.mountLocks.run(`${session.id}\0${spec.path}`, run),
      async (onProgress) => {
        const args = { tenantId: this.tenantId, sessionId: session.id, layout, onProgress };
        const result = taskType === "upload" ? await uploadMount(deps, args) : await downloadMount(deps, args);
        await this.stores.meta.touchContext(spec.contextId, this.clock.now());
        return result;
      },
    );
  }
}

/** A sync of a path no mount of the context holds: that path, as its own namespace, with the default policy. */
export function adHocSpec(contextId: string, path: string): MountSpec {
  return { contextId, path, namespace: path, policy: new SyncPolicy() };
}

/** Engine view of a stored mount: its policy parsed and its namespace resolved. */
export function toSpec(m: MountRecord): MountSpec {
  const policy = SyncPolicy.fromJSON(m.policyJson);
  const mapped = policy.mappingPolicy?.path;
  return {
    contextId: m.contextId,
    path: m.path,
    namespace: mapped ? normalizeSessionPath(mapped) : m.path,
    policy,
  };
}

function isExternal(session: SessionRecord): boolean {
  return session.agent === "external";
}

function checkRoot(root: string | undefined): string {
  if (root === undefined) return "/";
  if (typeof root !== "string" || root === "" || root.includes("\0")) {
    throw new InvalidParameterError("root must be a local directory path, such as /tmp/session-1.");
  }
  return path.resolve(root);
}

