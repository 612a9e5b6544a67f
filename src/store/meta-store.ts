import type { BlobDeletionJournal } from "./blob-deletion-journal.js";
import type { Digest } from "./blob-store.js";

/** Milliseconds since the Unix epoch. Every time in the store uses it; the SDK converts at its edge. */
export type EpochMs = number;

export type ContextState = "available" | "in-use" | "clearing";

export interface ContextRecord {
  id: string;
  tenantId: string;
  name: string;
  createdAtMs: EpochMs;
  lastUsedAtMs: EpochMs;
  state: ContextState;
  /** Number of the newest generation; 0 for a context nothing was ever committed to. */
  headGeneration: number;
}

export type FileType = "file" | "symlink";

/** What a file is, wherever it lives: in a context, in a session's base, or on disk. */
export interface FileMeta {
  type: FileType;
  /** SHA-256 of the content; null for symlinks, whose content is `linkTarget`. */
  digest: Digest | null;
  sizeBytes: number;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  mtimeMs: number;
  linkTarget: string | null;
}

/** A file version of a context: the live one, or (from listFilesAtGeneration) one of its history. */
export interface FileRecord extends FileMeta {
  key: string;
  /** Generation that wrote this version. */
  generation: number;
  writtenAtMs: EpochMs;
  /** When the recycle policy makes it invisible; null = never. */
  expiresAtMs: EpochMs | null;
}

export type FileChange =
  | { kind: "put"; key: string; meta: FileMeta; expiresAtMs: EpochMs | null }
  | { kind: "delete"; key: string };

/** One file as a session last saw it (downloaded it, or uploaded it): the base of its next upload. */
export interface BaseEntry extends FileMeta {
  key: string;
}

/** The change to a mount's base that goes with a commit, in the same transaction. */
export interface BaseUpdate {
  sessionId: string;
  mountPath: string;
  upserts: readonly BaseEntry[];
  deletes: readonly string[];
}

export interface CommitRequest {
  contextId: string;
  /** The head the changes were planned against; the commit fails with CommitConflictError if it moved. */
  expectedHead: number;
  sessionId: string | null;
  timeMs: EpochMs;
  changes: readonly FileChange[];
  base?: BaseUpdate;
}

export interface GenerationRecord {
  contextId: string;
  generation: number;
  timeMs: EpochMs;
  sessionId: string | null;
  added: number;
  changed: number;
  removed: number;
}

/** What pruneHistory removed. */
export interface PruneResult {
  /** File versions no kept generation shows. */
  versions: number;
  /** Generation records older than the retention cutoff. */
  generations: number;
}

/** What deleteExpired removed. */
export interface ExpireResult {
  /** Versions that were live (each one a file that disappeared from its context). */
  liveVersions: number;
  /** Versions of the history (already replaced or deleted when they expired). */
  historicalVersions: number;
}

/** `lost`: an external session whose agent stopped sending heartbeats; its open tasks were failed. */
export type SessionStatus = "running" | "releasing" | "released" | "lost";

/**
 * Who moves a session's files: `local`, the in-process agent of the service that made it; `external`, an
 * agent elsewhere (`ctxsync agent` in a sandbox) that claims the session's tasks through the server.
 */
export type SessionAgent = "local" | "external";

export interface SessionRecord {
  id: string;
  tenantId: string;
  status: SessionStatus;
  root: string;
  labels: Record<string, string>;
  createdAtMs: EpochMs;
  /** Absent when written means `local`; the store always returns it. */
  agent?: SessionAgent;
  /** External sessions: when the agent last called in; null until it first does, and for local sessions. */
  lastHeartbeatMs?: EpochMs | null;
}

/**
 * An API key of a tenant. Only the SHA-256 of the secret is stored: secrets are 256-bit random values, so
 * the hash cannot be inverted or guessed, and a fast hash lets every request find its key by equality.
 */
export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  /** Name of the tenant (joined in by reads; ignored by createApiKey). */
  tenantName: string;
  /** Lower-case hex SHA-256 of the secret. */
  hash: string;
  /** Admin keys manage keys of every tenant (the /v1/admin routes). */
  isAdmin: boolean;
  createdAtMs: EpochMs;
  /** Set once revoked; a revoked key authenticates nothing. */
  revokedAtMs: EpochMs | null;
}

export interface MountRecord {
  sessionId: string;
  contextId: string;
  /** Normalised session path of the mount. */
  path: string;
  /** The SyncPolicy as wire JSON (fully defaulted). */
  policyJson: string;
  waitForCompletion: boolean;
  bindTimeMs: EpochMs;
}

export type TaskType = "upload" | "download";
export type TaskStatus = "Pending" | "Running" | "Success" | "Failed";

export interface TaskRecord {
  id: string;
  sessionId: string;
  contextId: string;
  path: string;
  taskType: TaskType;
  status: TaskStatus;
  startTimeMs: EpochMs | null;
  finishTimeMs: EpochMs | null;
  errorMessage: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  createdAtMs: EpochMs;
}

export type TaskUpdate = Partial<
  Pick<
    TaskRecord,
    "status" | "startTimeMs" | "finishTimeMs" | "errorMessage" | "filesDone" | "filesTotal" | "bytesDone" | "bytesTotal"
  >
>;

export interface Page<T> {
  items: T[];
  /** Opaque token for the next page; undefined on the last page. */
  nextToken: string | undefined;
  totalCount: number;
}

/** An agent is silent when its last heartbeat is before `heartbeatCutoffMs`, or it has none and its session was created before `startCutoffMs`. */
export interface SilenceCutoffs {
  heartbeatCutoffMs: EpochMs;
  startCutoffMs: EpochMs;
}

/** A blob named by its digest, with its size in bytes. */
export interface SizedDigest {
  digest: Digest;
  sizeBytes: number;
}

/**
 * Metadata of contexts, their generations and files, sessions, mounts and tasks.
 * Implementations: meta/sqlite.ts (embedded), meta/postgres.ts (shared by server replicas); both run
 * meta/contract.test-suite.ts. All methods are scoped by tenant where a tenant is named;
 * an id of another tenant behaves exactly like an id that does not exist.
 *
 * Contract: every method that writes is atomic (one transaction); readers never see half a commit.
 */
/** Also the journal of blob deletions (BlobDeletionJournal), which the S3 blob store writes to and reads. */
export interface MetaStore extends BlobDeletionJournal {
  ensureTenant(name: string): Promise<string>;

  /** Rejects with ContextNameConflictError when the tenant has a context of that name. */
  createContext(tenantId: string, name: string, nowMs: EpochMs): Promise<ContextRecord>;
  getContext(tenantId: string, contextId: string): Promise<ContextRecord | undefined>;
  getContextByName(tenantId: string, name: string): Promise<ContextRecord | undefined>;
  /** Contexts in creation order. */
  listContexts(tenantId: string, opts: { limit: number; nextToken?: string }): Promise<Page<ContextRecord>>;
  /** Rejects with ContextNotFoundError or ContextNameConflictError. */
  renameContext(tenantId: string, contextId: string, name: string): Promise<void>;
  /** Deletes the context with its history; its blobs become garbage. Returns false when absent. */
  deleteContext(tenantId: string, contextId: string): Promise<boolean>;
  touchContext(contextId: string, nowMs: EpochMs): Promise<void>;
  /**
   * Sets a context's state, only when its current state is one of `from` (any state when omitted), in one
   * step. Returns whether it changed; false also for a context that does not exist.
   */
  setContextState(contextId: string, state: ContextState, from?: readonly ContextState[]): Promise<boolean>;
  /** Contexts of every tenant in `state`, in id order (the server resumes `clearing` ones at start). */
  listContextsInState(state: ContextState): Promise<ContextRecord[]>;
  /** Those of `contextIds` that a session still running or releasing has mounted (their state reads `in-use`). */
  contextsInUse(contextIds: readonly string[]): Promise<Set<string>>;

  /**
   * Live (unexpired at `nowMs`) files whose key is `prefix` or lies under it, ordered by key.
   * `prefix` "/" means the whole context.
   */
  listLiveFiles(contextId: string, prefix: string, nowMs: EpochMs): Promise<FileRecord[]>;
  getLiveFile(contextId: string, key: string, nowMs: EpochMs): Promise<FileRecord | undefined>;
  /**
   * Commits `changes` as generation head+1 and applies `base` in the same transaction.
   * Rejects with CommitConflictError when the head is no longer `expectedHead` (nothing is written).
   * A commit with no changes writes no generation and returns the current head (the base is still applied).
   */
  commitGeneration(req: CommitRequest): Promise<number>;
  /** The newest `limit` generations, newest first. Generations pruned by pruneHistory are gone. */
  listGenerations(contextId: string, limit: number): Promise<GenerationRecord[]>;
  /** One generation's record; undefined when it never existed or was pruned. */
  getGeneration(contextId: string, generation: number): Promise<GenerationRecord | undefined>;
  /**
   * The file versions the context held at `generation` (written at or before it, and not replaced or
   * deleted by then), whose key is `prefix` or lies under it, ordered by key; `prefix` "/" means all.
   * No expiry filter: versions that expired since are included while they exist (the caller decides), but
   * deleteExpired removes them for good. Complete only for generations getGeneration still returns; for a
   * pruned one it may be partial.
   */
  listFilesAtGeneration(contextId: string, generation: number, prefix: string): Promise<FileRecord[]>;
  /**
   * Drops history older than `cutoffMs`, for one context or (null) every context of every tenant.
   * Per context, the generation that was head at the cutoff — the newest one whose time is before it —
   * is kept with everything after it, so the state at any moment of the retention window stays
   * restorable; older generation records are deleted, with every version no kept generation shows (those
   * replaced or deleted at or before the kept one). Live versions and the head are never touched.
   * Atomic per context.
   */
  pruneHistory(contextId: string | null, cutoffMs: EpochMs): Promise<PruneResult>;
  /**
   * Deletes every version, live or historical, of every context whose expiry time is at or before `nowMs`:
   * recycled data is gone, not kept as history. A removed live version leaves its key absent, exactly as
   * listLiveFiles already showed it; no generation is written. One transaction.
   */
  deleteExpired(nowMs: EpochMs): Promise<ExpireResult>;
  /**
   * Every blob digest any remaining version of any context references (symlinks reference none). Blobs
   * inside an ARCHIVE-mode archive are not separate references: the archive's digest is. Held in memory:
   * about 200 bytes a digest, fine for millions of blobs.
   * TODO: past that, stream sorted digests and merge them with a sorted blob listing instead.
   */
  listReferencedDigests(): Promise<Set<Digest>>;

  /**
   * Stores a session with its mounts, atomically. `tokenHash` (SHA-256 hex of an external session's agent
   * token) is kept for getSessionByTokenHash and never returned.
   */
  createSession(session: SessionRecord, mounts: readonly MountRecord[], opts?: { tokenHash?: string }): Promise<void>;
  getSession(tenantId: string, sessionId: string): Promise<SessionRecord | undefined>;
  /** The session whose agent token hashes to `tokenHash`, of any tenant; undefined when none. */
  getSessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  listSessions(tenantId: string): Promise<SessionRecord[]>;
  setSessionStatus(sessionId: string, status: SessionStatus): Promise<void>;
  /** Records that an external session's agent called in at `nowMs`. */
  recordHeartbeat(sessionId: string, nowMs: EpochMs): Promise<void>;
  /**
   * External sessions of every tenant, running or releasing, whose agent has stopped calling in (last
   * heartbeat before `heartbeatCutoffMs`) or never called in (no heartbeat, created before `startCutoffMs`).
   */
  listStaleSessions(heartbeatCutoffMs: EpochMs, startCutoffMs: EpochMs): Promise<SessionRecord[]>;
  /**
   * Marks a running or releasing session `lost` and fails its Pending and Running tasks with
   * `errorMessage` at `nowMs`, in one transaction, if its agent is still silent as `silence` says (the
   * cutoffs of listStaleSessions): an agent that called in since the caller looked keeps its session.
   * Returns false (and changes nothing) when the session is in another state or no longer silent.
   */
  markSessionLost(sessionId: string, nowMs: EpochMs, errorMessage: string, silence: SilenceCutoffs): Promise<boolean>;
  /** Rejects with PathAlreadyBoundError when the session has a mount at that path. */
  addMount(mount: MountRecord): Promise<void>;
  listMounts(sessionId: string): Promise<MountRecord[]>;
  /** The base of one synced path of a session (a mount or an ad-hoc sync path). */
  getBase(sessionId: string, mountPath: string): Promise<Map<string, BaseEntry>>;
  /** Applies a base update without a commit (after a download). */
  updateBase(update: BaseUpdate): Promise<void>;

  createTask(task: TaskRecord): Promise<void>;
  updateTask(taskId: string, update: TaskUpdate): Promise<void>;
  /**
   * updateTask, only when the task's status is one of `from`, in one step; returns whether it changed.
   * Keeps a late report from overwriting a task that already ended (failed as lost, say).
   */
  updateTaskIf(taskId: string, from: readonly TaskStatus[], update: TaskUpdate): Promise<boolean>;
  /** One task of a session; undefined when the session has no task of that id. */
  getTask(sessionId: string, taskId: string): Promise<TaskRecord | undefined>;
  /**
   * Marks the session's Pending tasks Running (startTimeMs = nowMs) and returns them oldest first, in one
   * transaction: two concurrent claims never return the same task.
   */
  claimPendingTasks(sessionId: string, nowMs: EpochMs): Promise<TaskRecord[]>;
  /**
   * Puts the session's Running tasks back to Pending (startTimeMs null) and returns how many: the agent
   * that claimed them is gone (a new one attached), so the next claim hands them out again.
   */
  requeueRunningTasks(sessionId: string): Promise<number>;
  /**
   * Counts one more attach of an external session's agent and returns its number (1, 2, …): requests of
   * an agent that attached earlier carry a smaller one and are refused (AgentService).
   */
  nextAgentEpoch(sessionId: string): Promise<number>;
  /** The number of the session's latest agent attach (0 before any); undefined for no such session. */
  agentEpoch(sessionId: string): Promise<number | undefined>;
  /** Tasks of a session, oldest first, optionally filtered. */
  listTasks(
    sessionId: string,
    filter?: { contextId?: string; path?: string; taskType?: TaskType },
  ): Promise<TaskRecord[]>;

  /**
   * Those of `digests` that some version (live or historical) of one of `contextIds` has as content, each
   * with the sizes such versions record (one, unless a version recorded a wrong one): an agent may read a
   * blob only through a context it may read. Any number of digests, asked in one go.
   */
  referencedBlobSizes(contextIds: readonly string[], digests: readonly Digest[]): Promise<Map<Digest, number[]>>;

  /**
   * Records that the session's agent sent these blobs' bytes (the blob store checked them) at `atMs`. The
   * blob store is shared by every tenant: a session may name a blob no version in its scope references
   * only after sending its bytes, so that a digest alone tells nothing about another tenant's content.
   */
  recordUploads(sessionId: string, blobs: readonly SizedDigest[], atMs: EpochMs): Promise<void>;
  /**
   * Those of `digests` the session has a recorded upload of, each with the size sent (null for records
   * older than sizes: SQLite migration 5, PostgreSQL 3). Any number of digests, asked in one go.
   */
  uploadedBlobSizes(sessionId: string, digests: readonly Digest[]): Promise<Map<Digest, number | null>>;
  /** Drops the session's upload records of `digests` (committed: a version references them now). */
  forgetUploads(sessionId: string, digests: readonly Digest[]): Promise<void>;
  /**
   * Drops every upload record made before `cutoffMs` and returns how many: garbage collection may have
   * deleted those blobs since (an upload older than its grace period entitles no commit).
   */
  forgetUploadsBefore(cutoffMs: EpochMs): Promise<number>;

  /**
   * Runs `fn` while no other garbage collection over this store runs, waiting for one that does:
   * across processes and servers on PostgreSQL (an advisory lock), within this process on SQLite. Two
   * collections at once on S3 can delete a blob an upload stored again between one's check and the
   * other's delete (S3's delete is not conditional).
   */
  withCollectionLock<T>(fn: () => Promise<T>): Promise<T>;

  /** Stores a new API key. */
  createApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<void>;
  /**
   * Stores `key` only when no key was ever created, checked and written in one step, and returns whether
   * it did: of servers starting together on an empty store, exactly one makes the first admin key.
   */
  createFirstApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<boolean>;
  /** The key, revoked or not, whose secret hashes to `hash`. */
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Every key of every tenant, oldest first. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Revokes a key; true when it existed (revoking a revoked key keeps its first revocation time). */
  revokeApiKey(keyId: string, nowMs: EpochMs): Promise<boolean>;
  /** Number of keys ever created, revoked ones included (0 only for a store no server has started on). */
  countApiKeys(): Promise<number>;

  close(): Promise<void>;
}
