import type { Readable } from "node:stream";
import {
  AgentReplacedError,
  BlobNotFoundError,
  ContextNotFoundError,
  InvalidKeyError,
  InvalidParameterError,
  SessionNotActiveError,
  TaskNotFoundError,
  UnauthorizedError,
} from "../errors/index.js";
import { mountSpecFor, type Clock, type MountSpec, type Progress } from "../engine/index.js";
import { isUnder, normalizeSessionPath, type SyncPolicyJSON } from "../policy/index.js";
import type {
  BaseEntry,
  Digest,
  FileChange,
  FileRecord,
  HeldBlob,
  MountRecord,
  SessionRecord,
  SessionStatus,
  TaskRecord,
  TaskType,
} from "../store/index.js";
import type { Stores } from "./embedded-stores.js";
import { externalSessionOptionsWithDefaults, type ExternalSessionOptions } from "./external-tasks.js";
import { missingBlobs, readBlobs, storeBlobs, storeUnnamedBlobs, type BatchPutFailure, type BatchReadResult, type UnnamedPutFailure } from "./blob-batches.js";
import type { FreshBlobs } from "./fresh-blobs.js";
import type { ListedBlobs } from "./listed-blobs.js";
import { hashSecret } from "./secret-token.js";
import { taskBellOf } from "./task-bell.js";
import { adHocSpec, toSpec } from "./session-service.js";

/**
 * One synced path the agent works on: a mount, a part of one (`scope`, mount-relative: a sync of a path
 * inside it), or an ad-hoc sync path (namespace = path, default policy).
 */
export interface AgentMountInfo {
  contextId: string;
  path: string;
  namespace: string;
  policy: SyncPolicyJSON;
  scope?: string;
}

export interface AgentSessionInfo {
  sessionId: string;
  status: SessionStatus;
  mounts: AgentMountInfo[];
}

export interface AgentTaskInfo {
  id: string;
  taskType: TaskType;
  mount: AgentMountInfo;
}

/** What an agent commits: the server adds the session and the time. */
export interface AgentCommit {
  contextId: string;
  expectedHead: number;
  changes: readonly FileChange[];
  base?: { mountPath: string; upserts: readonly BaseEntry[]; deletes: readonly string[] };
}

/** What a server keeps across an agent's requests. */
export interface AgentServiceState {
  /** The blobs this server created a moment ago; without it, commits touch every blob. */
  fresh?: FreshBlobs;
  /** The blobs each session was shown in a listing a moment ago; without it, every blob read is checked by query. */
  listed?: ListedBlobs;
  external?: Partial<ExternalSessionOptions>;
  /** The attach number the requesting agent sent (AGENT_EPOCH_HEADER); undefined: not checked. */
  agentEpoch?: number;
  /**
   * Runs cleanup off the request, a moment later (the server's job runner, which logs a failure and
   * waits for it on stop); without it, cleanup runs before the answer.
   */
  later?: (what: string, work: () => Promise<unknown>) => void;
}

/** Sessions in these states have an agent at work; the others only answer "who am I" and polls. */
const ACTIVE: readonly SessionStatus[] = ["running", "releasing"];
/** Heartbeats are written at most this often (a long poll's wait included). */
const HEARTBEAT_EVERY_MS = 1000;

/**
 * What the agent of one external session may do, authenticated by its session token: read its session
 * and mounts, claim and finish its tasks (SessionService queued them), and work on the store within the
 * session's scope — exactly the MetaStore and BlobStore calls the engine's upload and download make.
 *
 * Scope: the contexts the session mounts or has a task for; context keys under those mounts' namespaces
 * (ad-hoc sync paths count as mounts); the session's own bases only; blob reads only of digests some
 * version of an in-scope context references or a listing of one showed the session a moment ago
 * (ListedBlobs); HEAD and PUT of any digest are harmless (content-addressed and verified). Anything out
 * of scope looks exactly like something that does not exist. The server stamps commits with this
 * session and its own clock. Every call counts as a heartbeat.
 */
export class AgentService {
  private readonly external: ExternalSessionOptions;
  /** A copy: heartbeat() keeps its lastHeartbeatMs current. */
  private readonly session: SessionRecord;

  private readonly fresh: FreshBlobs | undefined;
  private readonly listed: ListedBlobs | undefined;
  private readonly agentEpoch: number | undefined;
  private readonly later: AgentServiceState["later"];

  constructor(
    private readonly stores: Stores,
    session: SessionRecord,
    private readonly clock: Clock,
    state: AgentServiceState = {},
  ) {
    this.session = { ...session };
    this.external = externalSessionOptionsWithDefaults(state.external ?? {});
    this.fresh = state.fresh;
    this.listed = state.listed;
    this.agentEpoch = state.agentEpoch;
    this.later = state.later;
  }

  /** The AgentService of the session whose token this is; UnauthorizedError for any other string. */
  static async forToken(
    stores: Stores,
    token: string,
    clock: Clock,
    state: AgentServiceState = {},
  ): Promise<AgentService> {
    const session = await stores.meta.getSessionByTokenHash(hashSecret(token));
    if (!session || session.agent !== "external") throw new UnauthorizedError("Missing or invalid session token. Send `Authorization: Bearer <sessionToken>` as returned when the session was created.");
    return new AgentService(stores, session, clock, state);
  }

  get sessionId(): string {
    return this.session.id;
  }
  get tenantId(): string {
    return this.session.tenantId;
  }

  /**
   * Records that the agent called in. Skipped when the last one is under a second old: an upload makes
   * many calls a second, and the timeout is measured in tens of seconds.
   */
  async heartbeat(): Promise<void> {
    const now = this.clock.now();
    const last = this.session.lastHeartbeatMs ?? null;
    if (last !== null && now - last >= 0 && now - last < HEARTBEAT_EVERY_MS) return;
    await this.stores.meta.recordHeartbeat(this.session.id, now);
    this.session.lastHeartbeatMs = now;
  }

  /**
   * An agent (re)starts for this session: tasks an earlier agent claimed and never finished are offered
   * again (it is gone: one agent per session). Uploads and downloads are safe to run twice. Returns the
   * session as describe() does.
   */
  async attach(): Promise<AgentSessionInfo & { agentEpoch: number }> {
    // Numbered first: from now on the previous agent's requests are refused, so it cannot claim or
    // finish the tasks offered again here.
    const agentEpoch = await this.stores.meta.nextAgentEpoch(this.session.id);
    if (ACTIVE.includes(await this.status())) await this.stores.meta.requeueRunningTasks(this.session.id);
    return { ...(await this.describe()), agentEpoch };
  }

  /** The session's status and mounts. */
  async describe(): Promise<AgentSessionInfo> {
    const status = await this.status();
    const mounts = await this.stores.meta.listMounts(this.session.id);
    return { sessionId: this.session.id, status, mounts: mounts.map(mountInfo) };
  }

  /**
   * Long poll: claims the session's Pending tasks (they become Running) and returns them with their
   * mount; waits up to `waitSeconds` for some to appear, recording heartbeats meanwhile. Returns at once,
   * with no tasks, when the session is no longer running or releasing (the agent should then exit), or
   * when `signal` aborts (the server is stopping).
   * A task is handed out once; an agent that restarts mid-task gets it again through attach().
   */
  async claimTasks(waitSeconds: number, signal?: AbortSignal): Promise<{ sessionStatus: SessionStatus; tasks: AgentTaskInfo[] }> {
    const deadline = Date.now() + Math.max(0, waitSeconds) * 1000;
    let lastBeat = Date.now();
    // Once per call, not per turn: a release left unfinished is found by the agent's next poll anyway.
    await this.current();
    const bell = taskBellOf(this.stores.meta);
    let listener = bell.listen(this.session.id); // from before the first read: no ring is missed
    try {
      let status = await this.finishedReleaseOr(await this.status());
      for (;; status = await this.status()) {
        if (!ACTIVE.includes(status)) return { sessionStatus: status, tasks: [] };
        await this.current(); // an agent that attached during this long poll takes the tasks from here on
        const claimed = await this.stores.meta.claimPendingTasks(this.session.id, this.clock.now());
        if (claimed.length > 0) {
          await this.unlessReplaced(claimed);
          const mounts = await this.stores.meta.listMounts(this.session.id);
          const specs = mounts.map(toSpec);
          return { sessionStatus: status, tasks: claimed.map((t) => ({ id: t.id, taskType: t.taskType, mount: specInfo(taskSpec(t, specs)) })) };
        }
        if (Date.now() >= deadline || signal?.aborted) return { sessionStatus: status, tasks: [] };
        if (Date.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
          lastBeat = Date.now();
          await this.heartbeat();
        }
        // Rung when a task is queued in this process (also while the reads above ran); aborted, the next
        // turn returns what there is.
        await listener.wait(Math.min(this.external.pollIntervalMs, Math.max(1, deadline - Date.now())), signal);
        listener = bell.listen(this.session.id);
      }
    } finally {
      listener.close();
    }
  }

  /**
   * `released` for a releasing session whose tasks have all ended, else `status`. The release queues its
   * uploads before the session turns `releasing` (SessionService.release), so by then they are done; a
   * server that stopped while it waited for them would otherwise leave the session releasing for good,
   * its agent polling forever. Marking it twice (the waiting server also does) changes nothing.
   */
  private async finishedReleaseOr(status: SessionStatus): Promise<SessionStatus> {
    if (status !== "releasing") return status;
    const open = (await this.stores.meta.listTasks(this.session.id)).some((t) => t.status === "Pending" || t.status === "Running");
    if (open) return status;
    await this.stores.meta.setSessionStatus(this.session.id, "released");
    return "released";
  }

  /** Records progress of a Running task of this session; ignored once the task has ended. */
  async reportProgress(taskId: string, progress: Progress): Promise<void> {
    await this.active();
    await this.task(taskId);
    await this.stores.meta.updateTaskIf(taskId, ["Running"], { ...progress });
  }

  /**
   * Ends a Running task of this session as Success or Failed. A task that already ended (failed because
   * the session was thought lost, say) keeps its first outcome: InvalidParameterError says so.
   */
  async finishTask(taskId: string, status: "Success" | "Failed", errorMessage: string): Promise<void> {
    await this.active();
    const task = await this.task(taskId);
    if (status !== "Success" && status !== "Failed") {
      throw new InvalidParameterError(`Invalid task status ${JSON.stringify(status)}: use "Success" or "Failed".`);
    }
    const now = this.clock.now();
    const changed = await this.stores.meta.updateTaskIf(taskId, ["Running"], {
      status,
      errorMessage: status === "Success" ? "" : errorMessage,
      finishTimeMs: now,
    });
    if (!changed) {
      const current = await this.task(taskId);
      throw new InvalidParameterError(`Task ${taskId} is ${current.status}, not Running: claim a task before finishing it; a task ends once.`);
    }
    taskBellOf(this.stores.meta).ring(this.session.id); // a release or sync waiting on it
    await this.stores.meta.touchContext(task.contextId, now);
  }

  /** The head generation of an in-scope context. */
  async getContextHead(contextId: string): Promise<{ contextId: string; headGeneration: number }> {
    await this.active();
    await this.namespacesOf(contextId);
    const ctx = await this.stores.meta.getContext(this.session.tenantId, contextId);
    if (!ctx) throw new ContextNotFoundError(contextId);
    return { contextId, headGeneration: ctx.headGeneration };
  }

  /** Live files under `prefix`, which must lie inside one of the context's in-scope namespaces. */
  async listLiveFiles(contextId: string, prefix: string): Promise<FileRecord[]> {
    await this.active();
    const namespaces = await this.namespacesOf(contextId);
    const p = canonicalKey(prefix);
    if (!namespaces.some((ns) => isUnder(p, ns))) throw new ContextNotFoundError(contextId);
    const now = this.clock.now();
    const files = await this.stores.meta.listLiveFiles(contextId, p, now);
    // The download that follows fetches these: the listing already proved them in scope.
    this.listed?.listed(this.session.id, digestsOf(files), now);
    return files;
  }

  /** The session's base of one of its synced paths. */
  async getBase(mountPath: string): Promise<BaseEntry[]> {
    await this.active();
    const p = await this.syncedPath(mountPath);
    return [...(await this.stores.meta.getBase(this.session.id, p)).values()];
  }

  /** Applies a base update (after a download) to one of the session's synced paths. */
  async updateBase(mountPath: string, upserts: readonly BaseEntry[], deletes: readonly string[]): Promise<void> {
    await this.active();
    const p = await this.syncedPath(mountPath);
    checkBaseKeys(upserts, deletes);
    await this.stores.meta.updateBase({ sessionId: this.session.id, mountPath: p, upserts, deletes });
  }

  /**
   * Commits a generation to an in-scope context: every changed key must lie in one of the context's
   * in-scope namespaces, and every blob a put names must be stored (it is refreshed, so garbage collection
   * keeps it, unless this server created it a moment ago: FreshBlobs), and be one this session may name:
   * referenced by a version of an in-scope context, or sent by this session (MetaStore.recordUploads); its
   * sizeBytes must be the blob's size (InvalidParameterError). The session and the time are the server's.
   * Rejects with CommitConflictError when the head moved (nothing written), BlobNotFoundError when a blob
   * was not uploaded first (or only by another session of another scope).
   */
  async commit(req: AgentCommit): Promise<number> {
    await this.active();
    const namespaces = await this.namespacesOf(req.contextId);
    const digests = new Set<Digest>();
    // Keys found canonical: a base update mostly repeats the changes' keys, and need not check them twice.
    const canonical = new Set<string>();
    for (const c of req.changes) {
      const key = canonicalKey(c.key);
      canonical.add(key);
      if (!namespaces.some((ns) => isUnder(key, ns))) {
        throw new InvalidKeyError(c.key, "it lies outside the namespaces this session syncs in that context");
      }
      if (c.kind === "put") {
        const m = c.meta;
        if (m.type === "file" && m.digest === null) throw new InvalidParameterError(`File ${c.key} needs a digest.`);
        if (m.type === "symlink" && (m.digest !== null || m.linkTarget === null)) {
          throw new InvalidParameterError(`Symlink ${c.key} needs a linkTarget and no digest.`);
        }
        if (m.digest !== null) digests.add(m.digest);
      }
    }
    let base;
    if (req.base) {
      checkBaseKeys(req.base.upserts, req.base.deletes, canonical);
      base = { ...req.base, sessionId: this.session.id, mountPath: await this.syncedPath(req.base.mountPath) };
    }
    const unique = [...digests];
    const owned = await this.ownedOf(unique);
    const foreign = unique.find((d) => !owned.has(d));
    if (foreign !== undefined) throw new BlobNotFoundError(foreign);
    // A version's size is what signed downloads announce (Content-Length) and what scans compare.
    for (const c of req.changes) {
      if (c.kind !== "put" || c.meta.digest === null) continue;
      const sizes = owned.get(c.meta.digest) ?? null;
      if (sizes !== null && !sizes.includes(c.meta.sizeBytes)) {
        throw new InvalidParameterError(
          `File ${c.key} says sizeBytes ${c.meta.sizeBytes}, but its content (blob ${c.meta.digest}) is ${sizes.join(" or ")} bytes. Send the size of the bytes the digest was taken of.`,
        );
      }
    }
    // touch, not has: the reference is about to exist, so a concurrent collection must keep the blob.
    // Blobs this server created a moment ago (the upload's new ones) are stored and safe from
    // collection already (FreshBlobs).
    const stale = this.fresh ? this.fresh.staleOf(unique, this.clock.now()) : unique;
    const present = await this.stores.blobs.touchMany(stale);
    const absent = stale.find((_, i) => !present[i]);
    if (absent !== undefined) throw new BlobNotFoundError(absent);
    // The agent's flush cannot reach our disk: blobs become durable here, before a generation points at them.
    if (digests.size > 0) await this.stores.blobs.flush();
    const generation = await this.stores.meta.commitGeneration({
      contextId: req.contextId,
      expectedHead: req.expectedHead,
      sessionId: this.session.id,
      timeMs: this.clock.now(),
      changes: req.changes,
      base,
    });
    // An in-scope version references them now. The answer need not wait for the cleanup (10,000 deletes
    // for a large upload): with a server, it runs a moment later. It may then drop a record the session
    // made again meanwhile (the same bytes sent again): harmless, the version just committed entitles it.
    const forget = () => this.stores.meta.forgetUploads(this.session.id, unique);
    if (this.later) this.later(`dropping the upload records of a commit to ${req.contextId}`, forget);
    else await forget();
    return generation;
  }

  /**
   * BlobStore.touch: true when stored (and refreshed for garbage collection) and this session may name it
   * (see commit); false otherwise, so the agent sends the bytes. Any digest.
   */
  async touchBlob(digest: Digest): Promise<boolean> {
    await this.active();
    const now = this.clock.now();
    const present = await this.stores.blobs.touch(digest);
    if (!present) this.fresh?.sawAbsent([digest], now);
    return present && (await this.ownedOf([digest])).has(digest);
  }

  /**
   * A verified stream of a blob this session may read (see readable; bytes that fail the check end the
   * stream with an error, so the answer is cut short); BlobNotFoundError otherwise, whether or not the
   * store has it.
   */
  async getBlob(digest: Digest): Promise<Readable> {
    await this.active();
    if (!(await this.readable([digest])).has(digest)) throw new BlobNotFoundError(digest);
    return this.stores.blobs.get(digest);
  }

  /**
   * missingBlobs over the session's store: refreshes the stored digests and returns the others, and those
   * this session may not name (see commit), so the agent sends their bytes. Any digest.
   */
  async missingBlobs(digests: readonly Digest[]): Promise<Digest[]> {
    await this.active();
    const now = this.clock.now();
    const absent = await missingBlobs(this.stores.blobs, digests);
    this.fresh?.sawAbsent(absent, now);
    const absentSet = new Set(absent);
    // Only the stored ones need the ownership queries: in a first upload that is none of them.
    const owned = await this.ownedOf(digests.filter((d) => !absentSet.has(d)));
    return digests.filter((d) => absentSet.has(d) || !owned.has(d));
  }

  /** Stores small blobs as they arrive, each verified (see storeBlobs); says which were refused. */
  async putBlobs(source: AsyncIterable<HeldBlob>): Promise<{ stored: number; failed: BatchPutFailure[] }> {
    await this.active();
    return storeBlobs(this.stores.blobs, source, async (stored) => {
      await this.stores.meta.recordUploads(this.session.id, stored, this.clock.now());
      this.fresh?.stored(stored, this.session.id);
    });
  }

  /**
   * Stores small blobs sent without digests, each named by its hash here (see storeUnnamedBlobs), and
   * answers with the digests. Sending the bytes entitles the session to name them, as putBlobs does.
   */
  async putUnnamedBlobs(source: AsyncIterable<Buffer>): Promise<{ digests: (Digest | null)[]; failed: UnnamedPutFailure[] }> {
    await this.active();
    // Read before any write: every blob stored below is younger (FreshBlobs.written).
    const startedMs = this.clock.now();
    return storeUnnamedBlobs(this.stores.blobs, source, async (stored) => {
      await this.stores.meta.recordUploads(this.session.id, stored, this.clock.now());
      this.fresh?.written(stored, startedMs, this.session.id);
    });
  }

  /**
   * Small blobs whole, in order (see readBlobs); a digest this session may not read (see readable) is
   * "notFound", whether or not the store has it, exactly as getBlob.
   */
  async readBlobs(digests: readonly Digest[]): Promise<AsyncGenerator<BatchReadResult[]>> {
    await this.active();
    const allowed = await this.readable(digests);
    return readBlobs(this.stores.blobs, digests, allowed);
  }

  /** BlobStore.put: stores `body` under `digest`, verified (BlobDigestMismatchError stores nothing). */
  async putBlob(digest: Digest, body: Readable, sizeBytes: number): Promise<void> {
    await this.active();
    await this.stores.blobs.put(digest, body, sizeBytes); // checks the bytes, also of a blob stored already
    await this.stores.meta.recordUploads(this.session.id, [{ digest, sizeBytes }], this.clock.now());
    this.fresh?.stored([{ digest, sizeBytes }], this.session.id);
  }

  /**
   * BlobStore.putUnnamed: stores `body` under the digest its hash gives, and returns it. Sending the bytes
   * entitles the session to name the blob, as putBlob does.
   */
  async putUnnamedBlob(body: Readable, sizeBytes: number): Promise<{ digest: Digest; sizeBytes: number }> {
    await this.active();
    // Read before the write: the blob stored below is younger (FreshBlobs.written).
    const startedMs = this.clock.now();
    const stored = await this.stores.blobs.putUnnamed(body, sizeBytes);
    await this.stores.meta.recordUploads(this.session.id, [stored], this.clock.now());
    this.fresh?.written([stored], startedMs, this.session.id);
    return stored;
  }

  private async status(): Promise<SessionStatus> {
    const s = await this.stores.meta.getSession(this.session.tenantId, this.session.id);
    return s?.status ?? "released";
  }

  private async active(): Promise<void> {
    await this.current();
    const status = await this.status();
    if (!ACTIVE.includes(status)) throw new SessionNotActiveError(this.session.id, status);
  }

  /**
   * Gives `claimed` back (Pending again) and throws AgentReplacedError when another agent attached between
   * this poll's check and its claim: its tasks must reach the newer agent, not one about to stop.
   */
  private async unlessReplaced(claimed: readonly TaskRecord[]): Promise<void> {
    try {
      await this.current();
    } catch (err) {
      for (const t of claimed) await this.stores.meta.updateTaskIf(t.id, ["Running"], { status: "Pending", startTimeMs: null });
      taskBellOf(this.stores.meta).ring(this.session.id); // the newer agent's poll
      throw err;
    }
  }

  /** AgentReplacedError when the requesting agent is not the one that attached last (see attach). */
  private async current(): Promise<void> {
    if (this.agentEpoch === undefined) return;
    if ((await this.stores.meta.agentEpoch(this.session.id)) !== this.agentEpoch) throw new AgentReplacedError(this.session.id);
  }

  private async task(taskId: string): Promise<TaskRecord> {
    const t = await this.stores.meta.getTask(this.session.id, taskId);
    if (!t) throw new TaskNotFoundError(taskId);
    return t;
  }

  /** In-scope contexts with their namespaces, and the session's synced paths. */
  private async scope(): Promise<{ contexts: Map<string, string[]>; paths: Set<string> }> {
    const mounts = await this.stores.meta.listMounts(this.session.id);
    const tasks = await this.stores.meta.listTasks(this.session.id);
    const contexts = new Map<string, string[]>();
    const paths = new Set<string>();
    const add = (contextId: string, namespace: string, path: string) => {
      const list = contexts.get(contextId) ?? [];
      if (!list.includes(namespace)) list.push(namespace);
      contexts.set(contextId, list);
      paths.add(path);
    };
    const specs = mounts.map(toSpec);
    for (const m of specs) add(m.contextId, m.namespace, m.path);
    for (const t of tasks) {
      const m = taskSpec(t, specs);
      add(m.contextId, m.namespace, m.path);
    }
    return { contexts, paths };
  }

  /**
   * The digests among `digests` this session may name, each with its size when known: sent by it since
   * its last commit of them (the size sent), or referenced by a version of an in-scope context (the size
   * that version records).
   */
  private async ownedOf(digests: readonly Digest[]): Promise<Map<Digest, readonly number[] | null>> {
    const owned = new Map<Digest, readonly number[] | null>();
    // Blobs this session sent a moment ago, to this process: known without a query.
    for (const [d, size] of this.fresh?.sentBy(this.session.id, digests, this.clock.now()) ?? []) owned.set(d, [size]);
    const unsure = owned.size === 0 ? digests : digests.filter((d) => !owned.has(d));
    if (unsure.length === 0) return owned;
    for (const [d, size] of await this.stores.meta.uploadedBlobSizes(this.session.id, unsure)) owned.set(d, size === null ? null : [size]);
    const rest = unsure.filter((d) => !owned.has(d));
    if (rest.length === 0) return owned;
    const contextIds = [...(await this.scope()).contexts.keys()];
    for (const [d, sizes] of await this.stores.meta.referencedBlobSizes(contextIds, rest)) owned.set(d, sizes);
    return owned;
  }

  /**
   * Those of `digests` this session may read: shown to it by a listing a moment ago, or referenced by a
   * version of an in-scope context (asked only for the others).
   */
  private async readable(digests: readonly Digest[]): Promise<Set<Digest>> {
    const allowed = this.listed?.shownTo(this.session.id, digests, this.clock.now()) ?? new Set<Digest>();
    const rest = allowed.size === 0 ? digests : digests.filter((d) => !allowed.has(d));
    if (rest.length === 0) return allowed;
    const contextIds = [...(await this.scope()).contexts.keys()];
    for (const d of (await this.stores.meta.referencedBlobSizes(contextIds, rest)).keys()) allowed.add(d);
    return allowed;
  }

  private async namespacesOf(contextId: string): Promise<string[]> {
    const namespaces = (await this.scope()).contexts.get(contextId);
    if (!namespaces) throw new ContextNotFoundError(contextId);
    return namespaces;
  }

  private async syncedPath(mountPath: string): Promise<string> {
    const p = canonicalKey(mountPath);
    if (!(await this.scope()).paths.has(p)) {
      throw new InvalidParameterError(`${p} is not a mount or sync path of this session.`);
    }
    return p;
  }
}

function mountInfo(m: MountRecord): AgentMountInfo {
  return specInfo(toSpec(m));
}

function specInfo(spec: MountSpec): AgentMountInfo {
  const info: AgentMountInfo = { contextId: spec.contextId, path: spec.path, namespace: spec.namespace, policy: spec.policy.toJSON() };
  return spec.scope ? { ...info, scope: spec.scope } : info;
}

/**
 * What a task works on, as SessionService.sync chose it: the session's mount of that context at that
 * path, or the part of the mount holding the path, else the ad-hoc spec.
 */
function taskSpec(t: TaskRecord, mounts: readonly MountSpec[]): MountSpec {
  return mountSpecFor(mounts, t.contextId, t.path) ?? adHocSpec(t.contextId, t.path);
}

/** `key` when it is already canonical; InvalidKeyError otherwise (two spellings never name one file). */
function canonicalKey(key: string): string {
  const canonical = normalizeSessionPath(key);
  if (canonical !== key) throw new InvalidKeyError(key, `it is not in canonical form (${canonical})`);
  return canonical;
}

/** Checks every key is canonical; those in `known` were found so already. */
function checkBaseKeys(upserts: readonly BaseEntry[], deletes: readonly string[], known: ReadonlySet<string> = new Set()): void {
  for (const e of upserts) if (!known.has(e.key)) canonicalKey(e.key);
  for (const k of deletes) if (!known.has(k)) canonicalKey(k);
}

/** The blob digests of listed files (symlinks and folders have none). */
function* digestsOf(files: readonly FileRecord[]): Iterable<Digest> {
  for (const f of files) if (f.digest !== null) yield f.digest;
}
