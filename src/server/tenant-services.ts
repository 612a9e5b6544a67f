import type { Context } from "hono";
import { ContextService, SessionService } from "../service/index.js";
import type { AppDeps } from "./app-deps.js";
import type { ServerEnv } from "./server-env.js";

/** The caller's tenant's ContextService: built per request (a few field assignments), scoped by the API key. */
export function contextsOf(c: Context<ServerEnv>, deps: AppDeps): ContextService {
  return new ContextService(deps.stores, c.get("principal").tenantId, deps.clock);
}

/** The caller's tenant's SessionService, with the server's external-session timing. */
export function sessionsOf(c: Context<ServerEnv>, deps: AppDeps): SessionService {
  return new SessionService(deps.stores, c.get("principal").tenantId, deps.clock, deps.options.external, deps.stopping);
}
