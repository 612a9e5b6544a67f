/**
 * agent — runs where a session's filesystem is and does the session's transfers: in the SDK's process for
 * sessions it creates with a local root, `ctxsync agent` inside a sandbox otherwise.
 *
 * The agent reuses the engine unchanged: uploadMount and downloadMount run over HTTP-backed stores
 * (RemoteMetaStore: the five metadata calls the engine makes; RemoteBlobStore: blobs streamed with
 * bounded concurrency, hashed both ways), against the server's `/v1/agent` routes with the session token.
 * runAgent long-polls for tasks (the poll is its heartbeat), runs one task per mount at a time, reports
 * progress and each task's end, and stops when the session is released or lost.
 * ApiClient is the HTTP client of the API, shared with the remote SDK.
 */
export { ApiClient, type Query, type RequestOptions } from "./api-client.js";
export type { AgentLog, AgentLogLevel } from "./agent-log.js";
export { RemoteApiError } from "./remote-api-error.js";
export { RemoteBlobStore, type RemoteBlobStoreOptions } from "./remote-blob-store.js";
export { RemoteMetaStore, type AgentMetaStore } from "./remote-meta-store.js";
export { runAgent, type AgentExit, type AgentExitReason, type AgentSessionView, type RunAgentOptions } from "./run-agent.js";
export type { TaskOutcome } from "./run-agent-task.js";
