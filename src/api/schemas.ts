import { z } from "@hono/zod-openapi";
import { MAX_KEY_LENGTH, MAX_LABEL_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_MOUNTS } from "../policy/index.js";

/**
 * The wire contract of the HTTP API (`/v1`): one zod schema per request and response body. The server
 * validates every request with these and generates `/v1/openapi.json` from them; the remote SDK and the
 * agent type their calls with them. JSON is camelCase; times are ISO-8601 strings unless named
 * `…Time` (Unix seconds, as the reference reports tasks).
 */

/** Keys and paths are bounded so a request cannot make the server hash or store megabytes of path. */
export const MAX_PATH_LENGTH = MAX_KEY_LENGTH;
export const MAX_NAME_LENGTH = 256;
export { MAX_MOUNTS };

/** A path the agent sends (our code): checked here. */
const Path = z.string().min(1).max(MAX_PATH_LENGTH).openapi({ example: "/home/user/data" });
/**
 * A path a user gives through the SDK: the service checks it (InvalidKey: empty, too long, `..`), so
 * both clients refuse the same paths with the same error. Bounded here only loosely, as the body is.
 */
const UserPath = z.string().max(64 * 1024).openapi({ example: "/home/user/data" });
const Id = z.string().min(1).max(128);

export const ErrorBody = z
  .object({ code: z.string(), message: z.string(), requestId: z.string() })
  .openapi("Error");

export const ContextView = z
  .object({
    id: Id,
    name: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string(),
    state: z.enum(["available", "in-use", "clearing"]),
  })
  .openapi("Context");

export const CreateContextBody = z.object({ name: z.string().min(1).max(MAX_NAME_LENGTH) }).openapi("CreateContext");
export const RenameContextBody = z.object({ name: z.string().min(1).max(MAX_NAME_LENGTH) }).openapi("RenameContext");

export const ListContextsQuery = z.object({
  maxResults: z.coerce.number().int().min(1).max(1000).optional(),
  nextToken: z.string().max(256).optional(),
  sessionId: Id.optional(),
  name: z.string().max(MAX_NAME_LENGTH).optional(),
});
export const ContextList = z
  .object({
    contexts: z.array(ContextView),
    nextToken: z.string().optional(),
    maxResults: z.number().int(),
    totalCount: z.number().int(),
  })
  .openapi("ContextList");

export const FileEntryView = z
  .object({
    fileId: z.string(),
    fileName: z.string(),
    filePath: z.string(),
    fileType: z.enum(["file", "FOLDER"]),
    gmtCreate: z.string(),
    gmtModified: z.string(),
    size: z.number().int(),
    status: z.literal("available"),
  })
  .openapi("FileEntry");
export const ListFilesQuery = z.object({
  parent: UserPath.optional(),
  pageNumber: z.coerce.number().int().min(1).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
});
export const FileList = z.object({ entries: z.array(FileEntryView), count: z.number().int() }).openapi("FileList");
export const FilePathQuery = z.object({ path: UserPath });

export const FileUrlBody = z
  .object({
    path: UserPath,
    method: z.enum(["GET", "PUT"]),
    expiresInSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  })
  .openapi("FileUrlRequest");
export const FileUrl = z.object({ url: z.string(), expireTime: z.number().int() }).openapi("FileUrl");

export const ClearStatus = z
  .object({ contextId: Id, status: z.enum(["clearing", "available", "in-use"]) })
  .openapi("ClearStatus");

export const GenerationView = z
  .object({
    generation: z.number().int(),
    time: z.string(),
    sessionId: z.string().nullable(),
    added: z.number().int(),
    changed: z.number().int(),
    removed: z.number().int(),
  })
  .openapi("Generation");
export const GenerationList = z.object({ generations: z.array(GenerationView) }).openapi("GenerationList");
// Any whole generation: one that does not exist (0, negative, pruned) is the service's GenerationNotFound.
export const RestoreBody = z.object({ generation: z.number().int(), path: UserPath.optional() }).openapi("RestoreRequest");
export const RestoreResult = z.object({ generation: z.number().int() }).openapi("RestoreResult");

/** A policy as the reference sends it: a wire-JSON object, or that object encoded as a string. */
export const PolicyWire = z.union([z.record(z.string(), z.unknown()), z.string().max(64 * 1024)]).openapi("SyncPolicy");

export const ContextSyncWire = z
  .object({
    contextId: Id,
    path: UserPath,
    policy: PolicyWire.nullish(),
    /** Client-side in the reference; here it tells the creating client which downloads to wait for. */
    waitForCompletion: z.boolean().optional(),
  })
  .openapi("ContextSync");

export const SessionView = z
  .object({
    id: Id,
    status: z.enum(["running", "releasing", "released", "lost"]),
    createdAt: z.string(),
    labels: z.record(z.string(), z.string()),
  })
  .openapi("Session");
export const CreateSessionBody = z
  .object({
    // Counts and lengths are the service's to check (MAX_MOUNTS, label limits), so both clients say the same.
    contextSync: z.array(ContextSyncWire).default([]).openapi({ description: `At most ${MAX_MOUNTS} mounts` }),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ description: `Names of at most ${MAX_LABEL_KEY_LENGTH} characters, values of at most ${MAX_LABEL_VALUE_LENGTH}` }),
  })
  .openapi("CreateSession");
export const CreatedSession = z
  .object({
    session: SessionView,
    /** Lets an agent act for this session only; shown once. */
    sessionToken: z.string(),
  })
  .openapi("CreatedSession");
export const SessionList = z.object({ sessions: z.array(SessionView) }).openapi("SessionList");
export const ReleaseQuery = z.object({ syncContext: z.enum(["true", "false"]).optional() });
export const ReleaseResult = z
  .object({ uploadsSucceeded: z.boolean(), errorMessage: z.string().optional() })
  .openapi("ReleaseResult");

export const TaskView = z
  .object({
    id: Id,
    contextId: Id,
    path: z.string(),
    taskType: z.enum(["upload", "download"]),
    status: z.enum(["Pending", "Running", "Success", "Failed"]),
    errorMessage: z.string(),
    startTime: z.number().int(),
    finishTime: z.number().int(),
    filesDone: z.number().int(),
    filesTotal: z.number().int(),
    bytesDone: z.number().int(),
    bytesTotal: z.number().int(),
  })
  .openapi("Task");
export const TaskList = z.object({ tasks: z.array(TaskView) }).openapi("TaskList");
export const TasksQuery = z.object({
  contextId: Id.optional(),
  path: UserPath.optional(),
  taskType: z.enum(["upload", "download"]).optional(),
  taskIds: z
    .string()
    .min(1)
    .max(MAX_MOUNTS * 129)
    .optional()
    .openapi({ description: "Comma-separated task ids: answers exactly these tasks (those of this session, in this order), latest or not" }),
});
export const SyncBody = z
  .object({ contextId: Id.optional(), path: UserPath.optional(), mode: z.enum(["upload", "download"]).optional() })
  .openapi("SyncRequest");

export const BindBody = z
  .object({ contextSync: z.array(ContextSyncWire).min(1).openapi({ description: `At most ${MAX_MOUNTS} mounts` }) })
  .openapi("BindRequest");
export const BindingView = z
  .object({ contextId: Id, contextName: z.string(), path: z.string(), policy: z.string(), bindTime: z.number().int() })
  .openapi("Binding");
export const BindingList = z.object({ bindings: z.array(BindingView) }).openapi("BindingList");

// ---- agent (session token) -------------------------------------------------------------------------

/** One synced path the agent works on: a mount, a part of one (`scope`), or an ad-hoc sync path. */
export const AgentMount = z
  .object({
    contextId: Id,
    path: z.string(),
    namespace: z.string(),
    policy: z.record(z.string(), z.unknown()),
    scope: z
      .string()
      .optional()
      .openapi({ description: "Only this directory of the mount, relative to it, takes part (a sync of a path inside the mount); absent: the whole mount" }),
  })
  .openapi("AgentMount");
/** What this server understands beyond the first agent protocol; an agent uses only what is listed. */
export const AGENT_FEATURES = { commitUpsertPuts: "commit.upsertPuts", unnamedBlobs: "blobs.unnamed", unnamedStream: "blobs.unnamedStream" } as const;
/**
 * Header an agent sends on every request with the `agentEpoch` its attach returned: a request from an
 * agent that attached before the latest one is refused (409 AgentReplaced). Without it: not checked.
 */
export const AGENT_EPOCH_HEADER = "x-ctxsync-agent-epoch";
export const AgentSession = z
  .object({
    sessionId: Id,
    status: SessionView.shape.status,
    mounts: z.array(AgentMount),
    features: z.array(z.string()).optional().openapi({ description: "Protocol features this server understands (AGENT_FEATURES)" }),
    agentEpoch: z
      .number()
      .int()
      .optional()
      .openapi({ description: `This attach's number (attach only): send it in ${"x-ctxsync-agent-epoch"} on every request; an agent attaching later takes over` }),
    maxFileBytes: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Largest blob this server takes (its --max-file-mb): the agent fails larger files itself instead of sending them" }),
  })
  .openapi("AgentSession");
export const AgentTask = z
  .object({ id: Id, taskType: z.enum(["upload", "download"]), mount: AgentMount })
  .openapi("AgentTask");
export const AgentPollQuery = z.object({ waitSeconds: z.coerce.number().int().min(0).max(60).optional() });
export const AgentPoll = z
  .object({ sessionStatus: SessionView.shape.status, tasks: z.array(AgentTask) })
  .openapi("AgentPoll");
export const TaskProgressBody = z
  .object({
    filesDone: z.number().int().min(0),
    filesTotal: z.number().int().min(0),
    bytesDone: z.number().int().min(0),
    bytesTotal: z.number().int().min(0),
  })
  .openapi("TaskProgress");
export const TaskFinishBody = z
  .object({ status: z.enum(["Success", "Failed"]), errorMessage: z.string().max(64 * 1024).default("") })
  .openapi("TaskFinish");

const Digest = z.string().regex(/^[0-9a-f]{64}$/);
const FileMetaWire = {
  type: z.enum(["file", "symlink"]),
  digest: Digest.nullable(),
  sizeBytes: z.number().int().min(0),
  mode: z.number().int().min(0).max(0o7777),
  mtimeMs: z.number(),
  linkTarget: z.string().max(MAX_PATH_LENGTH).nullable(),
};
export const FileRecordWire = z
  .object({
    key: z.string(),
    ...FileMetaWire,
    generation: z.number().int(),
    writtenAtMs: z.number(),
    expiresAtMs: z.number().nullable(),
  })
  .openapi("FileRecord");
export const FileRecordList = z.object({ files: z.array(FileRecordWire) }).openapi("FileRecordList");
export const PrefixQuery = z.object({ prefix: Path });
export const ContextHead = z.object({ contextId: Id, headGeneration: z.number().int() }).openapi("ContextHead");
export const BaseEntryWire = z.object({ key: Path, ...FileMetaWire }).openapi("BaseEntry");
export const BaseList = z.object({ entries: z.array(BaseEntryWire) }).openapi("BaseList");
export const MountPathQuery = z.object({ path: Path });
export const BaseUpdateBody = z
  .object({ mountPath: Path, upserts: z.array(BaseEntryWire), deletes: z.array(Path) })
  .openapi("BaseUpdate");
export const FileChangeWire = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("put"), key: Path, meta: z.object(FileMetaWire), expiresAtMs: z.number().nullable() }),
  z.object({ kind: z.literal("delete"), key: Path }),
]);
/** A commit's base update: upserts that repeat one of its puts travel as the put's index (commit-wire.ts). */
export const CommitBaseBody = z
  .object({
    mountPath: Path,
    upserts: z.array(BaseEntryWire),
    upsertPuts: z
      .array(z.number().int().min(0))
      .optional()
      .openapi({ description: "Distinct indexes into `changes` of puts that are also base upserts, with the same key and metadata" }),
    deletes: z.array(Path),
  })
  .openapi("CommitBase");
export const CommitBody = z
  .object({
    contextId: Id,
    expectedHead: z.number().int().min(0),
    changes: z.array(FileChangeWire),
    base: CommitBaseBody.optional(),
  })
  .openapi("Commit");
export const CommitResult = z.object({ generation: z.number().int() }).openapi("CommitResult");
/** Digests named by one batch request (MAX_BATCH_BLOBS in blob-frames.ts). */
const DigestBatch = z.array(Digest).min(1).max(4096);
export const DigestsBody = z.object({ digests: DigestBatch }).openapi("DigestBatch");
export const MissingBlobs = z.object({ missing: z.array(Digest) }).openapi("MissingBlobs");
export const StoredBlobs = z
  .object({
    stored: z.number().int().min(0),
    /** Blobs refused (e.g. BlobDigestMismatch), by position in the body; the others were stored. */
    failed: z.array(z.object({ index: z.number().int().min(0), digest: Digest, code: z.string(), message: z.string() })),
  })
  .openapi("StoredBlobs");
export const UnnamedBlobsStored = z
  .object({
    /** The digest of each blob, in the order sent; null for a refused one. */
    digests: z.array(Digest.nullable()),
    /** Blobs refused (e.g. over 1 MiB), by position in the body; the others were stored. */
    failed: z.array(z.object({ index: z.number().int().min(0), code: z.string(), message: z.string() })),
  })
  .openapi("UnnamedBlobsStored");
export const UnnamedBlobStored = z
  .object({
    /** The SHA-256 of the bytes received, which names the blob. */
    digest: Digest,
    sizeBytes: z.number().int().min(0),
  })
  .openapi("UnnamedBlobStored");

// ---- additions for the server (history listing and key administration) -------------------------------

export const GenerationsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() });

/** An API key as listed by an admin: never its secret. Times are ISO-8601; revokedAt is null while valid. */
export const ApiKeyView = z
  .object({ id: Id, tenant: z.string(), admin: z.boolean(), createdAt: z.string(), revokedAt: z.string().nullable() })
  .openapi("ApiKey");
export const ApiKeyList = z.object({ keys: z.array(ApiKeyView) }).openapi("ApiKeyList");
export const CreateApiKeyBody = z
  .object({ tenant: z.string().min(1).max(128), admin: z.boolean().optional() })
  .openapi("CreateApiKey");
/** A key just created: `key` is the secret, shown this once (the server keeps only its SHA-256). */
export const CreatedApiKey = ApiKeyView.extend({ key: z.string() }).openapi("CreatedApiKey");
