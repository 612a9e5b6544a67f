/**
 * sdk — the ctxsync client. `new CtxSync()` works on the embedded store; the API follows AgentBay's
 * context-sync SDK (method names, result shapes, policy classes), so its users port by changing an import.
 */
export * from "../policy/index.js";
export * from "../errors/index.js";
export { Context } from "./context.js";
export { ContextClient } from "./context-client.js";
export type { ContextStatusData } from "./context-status-data.js";
export { CtxSync, type CreateSessionParams, type CtxSyncOptions } from "./ctx-sync.js";
export type * from "./results.js";
export { Session, SessionContextManager, type ContextBinding } from "./session.js";
export type { FileEntry } from "../service/index.js";
