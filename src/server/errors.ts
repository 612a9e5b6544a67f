import { randomBytes } from "node:crypto";
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { STATUS_OF_CODE } from "../api/index.js";
import { CtxSyncError, ForbiddenError, InvalidParameterError, StoreUnavailableError } from "../errors/index.js";
import type { ServerEnv } from "./server-env.js";
import { isAlreadySent } from "./node-streams.js";

/** The body of every error response: `{ code, message, requestId }`. */
export interface ErrorBodyJson {
  code: string;
  message: string;
  requestId: string;
}

/** Codes the server uses for failures that are no CtxSyncError. */
const HTTP_CODES: Record<number, string> = {
  400: "InvalidParameter",
  404: "NotFound",
  405: "MethodNotAllowed",
  413: "PayloadTooLarge",
  415: "UnsupportedMediaType",
};

/** Gives every request an id (`req-…`), echoed in `X-Request-Id` and in error bodies. */
export const requestIdMiddleware: MiddlewareHandler<ServerEnv> = async (c, next) => {
  const id = `req-${randomBytes(8).toString("hex")}`;
  c.set("requestId", id);
  await next();
  // A handler that streamed its answer itself (node-streams.ts) already sent the id with its headers;
  // touching the response now would make the adapter send headers twice.
  if (!isAlreadySent(c.res)) c.header("X-Request-Id", id);
};

/**
 * The one place that turns errors into responses: a CtxSyncError gets the status of its code
 * (STATUS_OF_CODE, 500 when unmapped) and its message (StoreUnavailable: a generic one); hono's HTTPExceptions (malformed JSON, wrong media
 * type) keep their status; anything else is a bug or a broken store: 500 with only the request id,
 * details in the server log.
 */
export function errorHandler(log: (message: string, err: unknown) => void): ErrorHandler<ServerEnv> {
  return (err, c) => {
    const requestId = c.get("requestId") ?? "unknown";
    if (err instanceof CtxSyncError) {
      const status = (STATUS_OF_CODE[err.code] ?? 500) as ContentfulStatusCode;
      // A stopping server ending a wait is its own doing, not a failure to look into.
      if (status >= 500 && err.code !== "ServerStopping") log(`request ${requestId} ${c.req.method} ${c.req.path} failed`, err);
      // Its message names the database or bucket and the driver's reason: for the operator's log, not for
      // callers (authentication itself reads the store, so unauthenticated ones see it too).
      if (err instanceof StoreUnavailableError) {
        return errorResponse(c, status, err.code, `The server's storage is unavailable; retry later. The server log has the details under request id ${requestId}.`);
      }
      return errorResponse(c, status, err.code, err.message);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const status = err.status as ContentfulStatusCode;
      const code = HTTP_CODES[status] ?? "InvalidParameter";
      // zod-openapi's media-type gate says only "Unsupported Media Type"; every route it guards takes JSON.
      if (status === 415) {
        const sent = c.req.header("content-type");
        return errorResponse(c, 415, code, `This route takes a JSON body: send it with "Content-Type: application/json" (this request had ${sent === undefined ? "no Content-Type" : JSON.stringify(sent)}).`);
      }
      return errorResponse(c, status, code, err.message || code);
    }
    log(`request ${requestId} ${c.req.method} ${c.req.path} failed`, err);
    return errorResponse(c, 500, "InternalError", `Internal server error; the server log has the details under request id ${requestId}.`);
  };
}

export const notFoundHandler: NotFoundHandler<ServerEnv> = (c) =>
  errorResponse(c, 404, "NotFound", `No route ${c.req.method} ${c.req.path}; see /v1/openapi.json for the API.`);

export function errorResponse(c: Context<ServerEnv>, status: ContentfulStatusCode, code: string, message: string): Response {
  const body: ErrorBodyJson = { code, message, requestId: c.get("requestId") ?? "unknown" };
  if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="ctxsync"');
  return c.json(body, status);
}

/**
 * The validation hook of every route: a request that fails its zod schema becomes InvalidParameterError
 * (400) with one readable line per problem, such as `body.name: Too small: expected string to have >=1 characters`.
 * On signed-URL routes any defect is 403 instead: the URL as a whole is the credential.
 */
export function validationHook(
  result: { success: boolean; error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }; target?: string },
  c: Context<ServerEnv>,
): void {
  if (result.success || !result.error) return;
  if (c.req.path.startsWith("/v1/files/")) throw new ForbiddenError("The signed URL is malformed; request a new URL.");
  throw new InvalidParameterError(describeIssues(result.target ?? "request", result.error.issues));
}

export function describeIssues(target: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const where = (path: readonly PropertyKey[]) => [target === "json" ? "body" : target, ...path.map(String)].join(".");
  return `Invalid request: ${issues.map((i) => `${where(i.path)}: ${i.message}`).join("; ")}`;
}
