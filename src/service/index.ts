/**
 * service — the operations of ctxsync over a store and the engine: contexts and their files
 * (ContextService) and sessions with their mounts, tasks and release (SessionService), for one tenant.
 * The SDK, the server and the CLI are thin skins over these.
 */
import { systemClock, type Clock } from "../engine/index.js";
import { ContextService } from "./context-service.js";
import { defaultHome, openEmbeddedStores, type Stores } from "./embedded-stores.js";
import { SessionService } from "./session-service.js";

export { ContextService } from "./context-service.js";
export { defaultHome, openEmbeddedStores, type Stores } from "./embedded-stores.js";
export { type FileEntry } from "./list-children.js";
export { type StartedTask } from "./run-task.js";
export { SessionService, toSpec, type CreateSessionInput, type SyncHandle, type SyncMode } from "./session-service.js";

/** The services of one tenant, over one pair of stores. */
export interface Services {
  stores: Stores;
  contexts: ContextService;
  sessions: SessionService;
  close(): Promise<void>;
}

/** Name of the tenant an embedded store serves. */
export const LOCAL_TENANT = "local";

/** Opens the embedded store under `home` (default: $CTXSYNC_HOME or ~/.ctxsync) and its services. */
export async function openEmbeddedServices(opts: { home?: string; clock?: Clock } = {}): Promise<Services> {
  const stores = await openEmbeddedStores(opts.home ?? defaultHome());
  const clock = opts.clock ?? systemClock;
  const tenantId = await stores.meta.ensureTenant(LOCAL_TENANT);
  return {
    stores,
    contexts: new ContextService(stores.meta, tenantId, clock),
    sessions: new SessionService(stores, tenantId, clock),
    close: () => stores.meta.close(),
  };
}
