/**
 * service — the operations of ctxsync over a store and the engine: contexts, their files and history
 * (ContextService) and sessions with their mounts, tasks and release (SessionService), for one tenant;
 * what an external session's agent may do with its token (AgentService); API keys (ApiKeyService); plus
 * garbage collection of the whole store (Services.gc).
 * The SDK, the server and the CLI are thin skins over these.
 */
import { collectGarbage, gcOptionsWithDefaults, systemClock, type Clock, type GcStats } from "../engine/index.js";
import { ContextService } from "./context-service.js";
import { defaultHome, openEmbeddedStores, type Stores } from "./embedded-stores.js";
import { SessionService } from "./session-service.js";

export { AgentService, type AgentCommit, type AgentMountInfo, type AgentSessionInfo, type AgentTaskInfo } from "./agent-service.js";
export { ApiKeyService, MIN_IMPORTED_SECRET_LENGTH, type ApiKeyInfo, type CreatedApiKey, type Principal } from "./api-keys.js";
export { ContextService, type ClearHandle } from "./context-service.js";
export { FreshBlobs, freshWindowMs } from "./fresh-blobs.js";
export { ListedBlobs } from "./listed-blobs.js";
export {
  detectLostSessions,
  externalSessionOptionsWithDefaults,
  lostSessionMessage,
  type ExternalSessionOptions,
} from "./external-tasks.js";
export { hashSecret, newSecretToken } from "./secret-token.js";
export type { GcStats } from "../engine/index.js";
export { defaultHome, openEmbeddedStores, type Stores } from "./embedded-stores.js";
export type { S3Location } from "../store/index.js";
export {
  describeMetaStore,
  describeStores,
  openMetaStore,
  parseBoolean,
  openStores,
  sqliteFileOf,
  storeConfigFromEnv,
  type OpenedStores,
  type StoreConfig,
} from "./store-config.js";
export { type FileEntry } from "./list-children.js";
export { type StartedTask } from "./run-task.js";
export {
  SessionService,
  toSpec,
  type CreatedSessionInfo,
  type CreateSessionInput,
  type ReleaseInfo,
  type SyncHandle,
  type SyncMode,
} from "./session-service.js";

/** The services of one tenant, over one pair of stores. */
export interface Services {
  stores: Stores;
  contexts: ContextService;
  sessions: SessionService;
  /**
   * Collects garbage in the whole store — every tenant's, since blobs are shared: deletes expired files,
   * prunes history past the retention period, deletes unreferenced blobs past the grace period
   * (engine/gc.ts). Safe to run while sessions upload and download.
   */
  gc(): Promise<GcStats>;
  close(): Promise<void>;
}

export interface EmbeddedServicesOptions {
  /** Store directory; default $CTXSYNC_HOME, else ~/.ctxsync. */
  home?: string;
  clock?: Clock;
  /** History kept by gc(); default 7 days (SPEC §3 History). */
  retentionMs?: number;
  /** Grace period before gc() deletes an unreferenced blob; default 24 hours (see gcOptionsWithDefaults). */
  minBlobAgeMs?: number;
}

/** Name of the tenant an embedded store serves. */
export const LOCAL_TENANT = "local";

/** Opens the embedded store under `home` (default: $CTXSYNC_HOME or ~/.ctxsync) and its services. */
export async function openEmbeddedServices(opts: EmbeddedServicesOptions = {}): Promise<Services> {
  // Options are checked before the store is opened: a bad option touches nothing.
  const gcOptions = gcOptionsWithDefaults({ retentionMs: opts.retentionMs, minBlobAgeMs: opts.minBlobAgeMs });
  const stores = await openEmbeddedStores(opts.home ?? defaultHome());
  const clock = opts.clock ?? systemClock;
  const tenantId = await stores.meta.ensureTenant(LOCAL_TENANT);
  return {
    stores,
    contexts: new ContextService(stores, tenantId, clock),
    sessions: new SessionService(stores, tenantId, clock),
    gc: () => collectGarbage({ meta: stores.meta, blobs: stores.blobs, clock }, gcOptions),
    close: () => stores.meta.close(),
  };
}
