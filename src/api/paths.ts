/**
 * Paths of the HTTP API, shared by the server (route definitions) and its clients (remote SDK, agent).
 * Authentication: `Authorization: Bearer <apiKey>` on /v1 routes, `Bearer <sessionToken>` on /v1/agent
 * routes; /v1/files is authorised by its URL signature and /v1/openapi.json is public.
 *
 * | method | path | body → response |
 * | --- | --- | --- |
 * | POST | /v1/contexts | CreateContext → Context (get-or-create by name) |
 * | GET | /v1/contexts?maxResults&nextToken&sessionId&name | → ContextList |
 * | GET, PATCH, DELETE | /v1/contexts/{id} | → Context; RenameContext → Context; → 204 |
 * | GET | /v1/contexts/{id}/files?parent&pageNumber&pageSize | → FileList |
 * | DELETE | /v1/contexts/{id}/files?path | → 204 |
 * | POST | /v1/contexts/{id}/file-urls | FileUrlRequest → FileUrl |
 * | POST, GET | /v1/contexts/{id}/clear | → ClearStatus (start; poll) |
 * | GET | /v1/contexts/{id}/generations?limit | → GenerationList |
 * | POST | /v1/contexts/{id}/restore | RestoreRequest → RestoreResult |
 * | PUT, GET | /v1/files/{contextId}?path&tenant&method&expires&sig | raw bytes (signed URL) |
 * | POST | /v1/sessions | CreateSession → CreatedSession |
 * | GET | /v1/sessions | → SessionList |
 * | GET | /v1/sessions/{id} | → Session |
 * | DELETE | /v1/sessions/{id}?syncContext | → ReleaseResult (after the uploads are terminal) |
 * | POST | /v1/sessions/{id}/sync | SyncRequest → TaskList (accepted; poll tasks) |
 * | GET | /v1/sessions/{id}/tasks?contextId&path&taskType&taskIds | → TaskList (latest per mount and type; or those ids) |
 * | POST, GET | /v1/sessions/{id}/bindings | BindRequest → TaskList; → BindingList |
 * | GET | /v1/agent/session | → AgentSession |
 * | POST | /v1/agent/session | → AgentSession (attach: re-offers tasks an earlier agent left Running) |
 * | GET | /v1/agent/tasks?waitSeconds | → AgentPoll (long poll; claims tasks; counts as a heartbeat) |
 * | POST | /v1/agent/tasks/{id}/progress | TaskProgress → 204 |
 * | POST | /v1/agent/tasks/{id}/finish | TaskFinish → 204 |
 * | GET | /v1/agent/contexts/{id} | → ContextHead |
 * | GET | /v1/agent/contexts/{id}/files?prefix | → FileRecordList (live files) |
 * | GET, POST | /v1/agent/bases?path / /v1/agent/bases | → BaseList; BaseUpdate → 204 |
 * | POST | /v1/agent/commits | Commit → CommitResult (409 CommitConflict when the head moved) |
 * | HEAD, GET, PUT | /v1/agent/blobs/{digest} | raw bytes (PUT needs Content-Length; verified) |
 * | POST | /v1/agent/blobs/missing | Digests → MissingBlobs (refreshes the stored ones) |
 * | POST | /v1/agent/blobs/batch | blob frames (blob-frames.ts) → StoredBlobs |
 * | POST | /v1/agent/blobs/fetch | Digests → blob frames, in the order asked |
 * | POST, GET | /v1/admin/keys | CreateApiKey → CreatedApiKey; → ApiKeyList (admin key only; others 403) |
 * | DELETE | /v1/admin/keys/{id} | → 204 (admin key only) |
 */
import { ApiKeyNotFoundError, BlobNotFoundError, ContextNotFoundError, SessionNotFoundError, TaskNotFoundError } from "../errors/index.js";

const enc = encodeURIComponent;

/**
 * An id as one path segment. "", "." and ".." would change the path itself (URL parsers collapse dot
 * segments, so another route answers), and no such id exists: refused here as the not-found id it is,
 * the error the embedded client gives for it.
 */
function idSegment(id: string, notFound: (id: string) => Error): string {
  if (id === "" || id === "." || id === "..") throw notFound(id);
  return enc(id);
}
const contextId = (id: string) => idSegment(id, (i) => new ContextNotFoundError(i));
const sessionId = (id: string) => idSegment(id, (i) => new SessionNotFoundError(i));
const taskId = (id: string) => idSegment(id, (i) => new TaskNotFoundError(i));

export const apiPaths = {
  openapi: "/v1/openapi.json",
  contexts: "/v1/contexts",
  context: (id: string) => `/v1/contexts/${contextId(id)}`,
  contextFiles: (id: string) => `/v1/contexts/${contextId(id)}/files`,
  contextFileUrls: (id: string) => `/v1/contexts/${contextId(id)}/file-urls`,
  contextClear: (id: string) => `/v1/contexts/${contextId(id)}/clear`,
  contextGenerations: (id: string) => `/v1/contexts/${contextId(id)}/generations`,
  contextRestore: (id: string) => `/v1/contexts/${contextId(id)}/restore`,
  signedFile: (id: string) => `/v1/files/${contextId(id)}`,
  sessions: "/v1/sessions",
  session: (id: string) => `/v1/sessions/${sessionId(id)}`,
  sessionSync: (id: string) => `/v1/sessions/${sessionId(id)}/sync`,
  sessionTasks: (id: string) => `/v1/sessions/${sessionId(id)}/tasks`,
  sessionBindings: (id: string) => `/v1/sessions/${sessionId(id)}/bindings`,
  agentSession: "/v1/agent/session",
  agentTasks: "/v1/agent/tasks",
  agentTaskProgress: (id: string) => `/v1/agent/tasks/${taskId(id)}/progress`,
  agentTaskFinish: (id: string) => `/v1/agent/tasks/${taskId(id)}/finish`,
  agentContext: (id: string) => `/v1/agent/contexts/${contextId(id)}`,
  agentContextFiles: (id: string) => `/v1/agent/contexts/${contextId(id)}/files`,
  agentBases: "/v1/agent/bases",
  agentCommits: "/v1/agent/commits",
  agentBlobs: "/v1/agent/blobs",
  agentBlob: (digest: string) => `/v1/agent/blobs/${idSegment(digest, (d) => new BlobNotFoundError(d))}`,
  agentBlobsMissing: "/v1/agent/blobs/missing",
  agentBlobsBatch: "/v1/agent/blobs/batch",
  agentBlobsUnnamed: "/v1/agent/blobs/unnamed",
  agentBlobsFetch: "/v1/agent/blobs/fetch",
  adminKeys: "/v1/admin/keys",
  adminKey: (id: string) => `/v1/admin/keys/${idSegment(id, (i) => new ApiKeyNotFoundError(i))}`,
} as const;

/** HTTP status of each error code; one table, used by the server and read back by clients. */
export const STATUS_OF_CODE: Record<string, number> = {
  InvalidParameter: 400,
  InvalidKey: 400,
  ExtractRejected: 400,
  Unauthorized: 401,
  Forbidden: 403,
  ContextNotFound: 404,
  SessionNotFound: 404,
  FileNotFound: 404,
  GenerationNotFound: 404,
  BlobNotFound: 404,
  TaskNotFound: 404,
  ApiKeyNotFound: 404,
  ContextNameConflict: 409,
  PathAlreadyBound: 409,
  SessionNotActive: 409,
  CommitConflict: 409,
  AgentReplaced: 409,
  PayloadTooLarge: 413,
  BlobDigestMismatch: 422,
  ArchiveDamaged: 500,
  NotSupported: 501,
  StoreUnavailable: 503,
  ServerStopping: 503,
};
