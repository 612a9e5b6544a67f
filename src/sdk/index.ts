/**
 * sdk — the ctxsync client. One API over two backends (backend.ts): `new CtxSync()` works on the
 * embedded store in this process; `new CtxSync({ endpoint, apiKey })` on a ctxsync server, running the
 * agent of locally rooted sessions in this process. The API follows AgentBay's context-sync SDK (method
 * names, result shapes, policy classes), so its users port by changing an import.
 */
export * from "../policy/index.js";
export * from "../errors/index.js";
export { Context } from "./context.js";
export { ClearanceTimeoutError, ContextClient } from "./context-client.js";
export type { ContextStatusData } from "./context-status-data.js";
export { CtxSync, type CreateSessionParams, type CtxSyncOptions } from "./ctx-sync.js";
export type { SdkBackend, SessionAgentKind, SessionStatus } from "./backend.js";
export type * from "./results.js";
export { Session, SessionContextManager, type ContextBinding, type SyncMode } from "./session.js";
export type { FileEntry } from "../service/index.js";
export type { AgentLog, AgentLogLevel } from "../agent/index.js";
