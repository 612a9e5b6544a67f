import type { Context, MiddlewareHandler } from "hono";
import { AGENT_EPOCH_HEADER } from "../api/index.js";
import { ForbiddenError, InvalidParameterError, UnauthorizedError } from "../errors/index.js";
import { AgentService, ApiKeyService } from "../service/index.js";
import { afterPause } from "./after-pause.js";
import type { AppDeps } from "./app-deps.js";
import type { ServerEnv } from "./server-env.js";

/** Routes that need no credentials: the API description, and signed URLs (their signature authorises them). */
function isPublic(path: string): boolean {
  return path === "/v1/openapi.json" || path.startsWith("/v1/files/");
}

/**
 * Authentication of every /v1 route, decided by path in one place:
 * - /v1/openapi.json and /v1/files/… are public here (signed URLs are checked by their handler);
 * - /v1/agent/… takes a session token (`Bearer cst_…`) and sets `agent`; each call is a heartbeat;
 * - everything else takes an API key (`Bearer csk_…`) and sets `principal`; /v1/admin/… also needs an
 *   admin key (403 Forbidden for others: the caller is known, but not allowed).
 * A missing, malformed, unknown or revoked credential is 401 Unauthorized on every route, before any
 * input is looked at, so an unauthenticated caller learns nothing about ids.
 */
export function authMiddleware(deps: AppDeps): MiddlewareHandler<ServerEnv> {
  const keys = new ApiKeyService(deps.stores.meta, deps.clock);
  return async (c, next) => {
    const path = c.req.path;
    if (isPublic(path)) return next();
    const secret = bearer(c);
    if (path === "/v1/agent" || path.startsWith("/v1/agent/")) {
      if (secret === undefined) throw new UnauthorizedError("Missing session token. Send `Authorization: Bearer <sessionToken>`.");
      const epoch = c.req.header(AGENT_EPOCH_HEADER);
      if (epoch !== undefined && !/^[0-9]{1,15}$/.test(epoch)) {
        throw new InvalidParameterError(`The ${AGENT_EPOCH_HEADER} header must be the agentEpoch the agent's attach returned; got ${JSON.stringify(epoch.slice(0, 20))}.`);
      }
      const agent = await AgentService.forToken(deps.stores, secret, deps.clock, {
        external: deps.options.external,
        fresh: deps.freshBlobs,
        listed: deps.listedBlobs,
        agentEpoch: epoch === undefined ? undefined : Number(epoch),
        // A second on: after the agent's next calls (the task's end), which then need not queue behind it.
        later: (what, work) => deps.background(what, afterPause(1000, deps.stopping).then(work)),
      });
      await agent.heartbeat();
      c.set("agent", agent);
      return next();
    }
    if (secret === undefined) throw new UnauthorizedError();
    const principal = await keys.authenticate(secret);
    if ((path === "/v1/admin" || path.startsWith("/v1/admin/")) && !principal.isAdmin) {
      throw new ForbiddenError("This route needs an admin API key; create one with `ctxsync keys create --tenant NAME --admin`.");
    }
    c.set("principal", principal);
    return next();
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
function bearer(c: Context<ServerEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return undefined;
  const m = /^Bearer[ ]+([^\s]{1,512})\s*$/i.exec(header);
  return m?.[1];
}
