import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { ErrorBody } from "../api/index.js";
import type { ServerEnv } from "./server-env.js";

/** Building blocks of the route definitions: bodies, responses, parameters and security schemes. */

export type App = OpenAPIHono<ServerEnv>;

export const apiKeySecurity = [{ apiKey: [] }];
export const sessionTokenSecurity = [{ sessionToken: [] }];

/** A JSON response of `schema`. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/**
 * A required JSON request body of `schema`. `fastYes`, for a large body on a hot route, is a check that
 * says yes quickly to what `schema` accepts and returns unchanged (isPlainCommitBody): a body it passes
 * skips zod; any other is judged, and its error worded, by zod.
 */
export function jsonBody<T extends z.ZodType>(schema: T, fastYes?: (value: unknown) => boolean) {
  preferSyncParse(schema);
  if (fastYes) acceptFirst(schema, fastYes);
  return { content: { "application/json": { schema } }, required: true };
}

const syncParsed = new WeakSet<z.ZodType>();
const fastAccepted = new WeakSet<z.ZodType>();

/**
 * Wraps the schema's validation (as zod-validator calls it) with `fastYes` first; see jsonBody. It
 * replaces safeParseAsync on the schema object itself, for the whole process: harmless, since `fastYes`
 * passes only what the schema accepts unchanged.
 */
function acceptFirst<T extends z.ZodType>(schema: T, fastYes: (value: unknown) => boolean): void {
  if (fastAccepted.has(schema)) return;
  fastAccepted.add(schema);
  const parseAsync = schema.safeParseAsync.bind(schema);
  schema.safeParseAsync = async (data, params) => (fastYes(data) ? { success: true, data: data as z.output<T> } : parseAsync(data, params));
}

/**
 * The request validator (zod-validator) calls safeParseAsync, which never takes zod's compiled fast path
 * for objects: a 10,000-file commit body took twice as long to validate. Our body schemas have no async
 * parts, so safeParse gives the same answer; one that had would still be parsed asynchronously.
 */
function preferSyncParse<T extends z.ZodType>(schema: T): T {
  if (syncParsed.has(schema)) return schema;
  syncParsed.add(schema);
  const parseAsync = schema.safeParseAsync.bind(schema);
  schema.safeParseAsync = async (data, params) => {
    try {
      return schema.safeParse(data, params);
    } catch (err) {
      if (err instanceof z.core.$ZodAsyncError) return parseAsync(data, params);
      throw err;
    }
  };
  return schema;
}

/** Raw bytes, as request or response content. */
export const octets = { "application/octet-stream": { schema: z.string().openapi({ type: "string", format: "binary" }) } };

/** The error responses every authenticated route can give. */
export const commonErrors = {
  400: json(ErrorBody, "Invalid input (InvalidParameter, InvalidKey)"),
  401: json(ErrorBody, "Missing or invalid credentials (Unauthorized)"),
  413: json(ErrorBody, "Request body too large (PayloadTooLarge)"),
  500: json(ErrorBody, "Internal error; the server log has details under the request id"),
  503: json(ErrorBody, "The server's storage is unavailable; retry later (StoreUnavailable)"),
};
/** Routes with a JSON body: one sent with another Content-Type. */
export const unsupportedMedia = { 415: json(ErrorBody, "Body not sent with Content-Type: application/json (UnsupportedMediaType)") };
export const notFound = { 404: json(ErrorBody, "Not found, or another tenant's (…NotFound)") };
export const conflict = { 409: json(ErrorBody, "Conflict (ContextNameConflict, PathAlreadyBound, SessionNotActive, CommitConflict)") };
export const forbidden = { 403: json(ErrorBody, "Not allowed (Forbidden)") };
export const noContent = { 204: { description: "Done" } };

const id = (name: string) =>
  z.string().min(1).max(128).openapi({ param: { name, in: "path" }, example: name === "id" ? "ctx-01J0000000000000000000000" : undefined });

/** `{id}` path parameter (a context, session, task or key id). */
export const IdParams = z.object({ id: id("id") });
/** `{contextId}` path parameter. */
export const ContextIdParams = z.object({ contextId: id("contextId") });
/** `{digest}` path parameter: lower-case hex SHA-256. */
export const DigestParams = z.object({
  digest: z.string().regex(/^[0-9a-f]{64}$/).openapi({ param: { name: "digest", in: "path" } }),
});

/** Registers the bearer schemes routes refer to. */
export function registerSecuritySchemes(app: App): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key (`csk_…`), from `ctxsync keys create` or the first start of `ctxsync serve`.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "sessionToken", {
    type: "http",
    scheme: "bearer",
    description: "A session token (`cst_…`), returned once when the session was created; /v1/agent routes only.",
  });
}
