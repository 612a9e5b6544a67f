import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError } from "../errors/index.js";
import { registerAdminRoutes } from "./admin-routes.js";
import { registerAgentRoutes } from "./agent-routes.js";
import type { AppDeps } from "./app-deps.js";
import { authMiddleware } from "./auth.js";
import { registerContextRoutes } from "./contexts-routes.js";
import { errorHandler, notFoundHandler, requestIdMiddleware, validationHook } from "./errors.js";
import { registerFileRoutes } from "./files-routes.js";
import { registerSecuritySchemes, type App } from "./openapi-parts.js";
import type { ServerEnv } from "./server-env.js";
import { registerSessionRoutes } from "./sessions-routes.js";

/** Bodies that are raw bytes, limited by maxFileBytes in their handlers instead of the JSON limit. */
function isRawBodyRoute(path: string): boolean {
  if (path === "/v1/agent/blobs/missing" || path === "/v1/agent/blobs/fetch") return false; // JSON lists of digests
  return path.startsWith("/v1/files/") || path === "/v1/agent/blobs" || path.startsWith("/v1/agent/blobs/");
}

/**
 * The HTTP API as a hono app (no socket: createServer listens, tests call `app.request`). In order:
 * request id → authentication (auth.ts) → JSON body limit → the route, whose zod schema validates the
 * request (a failure is 400 InvalidParameter) → the handler, over tenant-scoped services built per
 * request. Errors of every kind become `{ code, message, requestId }` in errors.ts. The OpenAPI document
 * at /v1/openapi.json is generated from the same route definitions.
 */
export function createApp(deps: AppDeps): App {
  const app = new OpenAPIHono<ServerEnv>({ defaultHook: validationHook });
  app.onError(errorHandler((message, err) => deps.log.error(message, err)));
  app.notFound(notFoundHandler);

  app.use("*", requestIdMiddleware);
  app.use("/v1/*", authMiddleware(deps));
  app.use("/v1/*", jsonBodyLimit(deps));

  registerSecuritySchemes(app);
  registerContextRoutes(app, deps);
  registerFileRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerAdminRoutes(app, deps);

  app.doc("/v1/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "ctxsync",
      version: "1",
      description:
        "Context sync for sandboxed sessions. Errors are `{ code, message, requestId }`; authenticate with `Authorization: Bearer <api key>` (or the session token on /v1/agent routes).",
    },
  });
  return app;
}

function jsonBodyLimit(deps: AppDeps): MiddlewareHandler<ServerEnv> {
  const client = limit(deps.options.maxJsonBodyBytes);
  const agent = limit(deps.options.maxAgentJsonBodyBytes);
  return (c, next) => {
    const path = c.req.path;
    if (isRawBodyRoute(path)) return next();
    return path.startsWith("/v1/agent/") ? agent(c, next) : client(c, next);
  };
}

function limit(maxSize: number): MiddlewareHandler<ServerEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new PayloadTooLargeError(maxSize);
    },
  });
}
