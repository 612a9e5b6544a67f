import { createRoute, z } from "@hono/zod-openapi";
import { ErrorBody, FileUrl, FileUrlBody } from "../api/index.js";
import { normalizeSessionPath } from "../policy/index.js";
import { ContextService } from "../service/index.js";
import type { AppDeps } from "./app-deps.js";
import { requestBody, streamResponse } from "./node-streams.js";
import { apiKeySecurity, commonErrors, conflict, unsupportedMedia, ContextIdParams, IdParams, json, jsonBody, notFound, octets, type App } from "./openapi-parts.js";
import { signFileUrl, verifyFileUrl } from "./signed-url.js";
import { contextsOf } from "./tenant-services.js";

const SignedQuery = z.object({
  path: z.string().optional(),
  tenant: z.string().optional(),
  method: z.string().optional(),
  expires: z.string().optional(),
  sig: z.string().optional(),
});


/**
 * Signed file URLs (signed-url.ts): POST /v1/contexts/{id}/file-urls signs one, and /v1/files/{contextId}
 * serves it: GET streams the file out (hash-verified), PUT streams the body in as a new generation
 * (spooled and hashed, at most maxFileBytes; nothing stored past that).
 */
export function registerFileRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      tags: ["contexts"],
      security: apiKeySecurity,
      method: "post",
      path: "/v1/contexts/{id}/file-urls",
      summary: "Sign a URL to download (GET) or upload (PUT) one file of a context",
      request: { params: IdParams, body: jsonBody(FileUrlBody) },
      responses: { 200: json(FileUrl, "The URL and when it expires (Unix seconds)"), ...commonErrors, ...unsupportedMedia, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      await contextsOf(c, deps).getById(id);
      const key = normalizeSessionPath(body.path);
      const expires = Math.floor(deps.clock.now() / 1000) + (body.expiresInSeconds ?? deps.options.defaultUrlExpirySeconds);
      const baseUrl = deps.options.publicUrl ?? new URL(c.req.url).origin;
      const url = signFileUrl(deps.urlSecret, baseUrl, { tenantId: c.get("principal").tenantId, contextId: id, key, method: body.method, expires });
      return c.json({ url, expireTime: expires }, 200);
    },
  );

  const signed = { tags: ["files"], request: { params: ContextIdParams, query: SignedQuery } };
  const signedErrors = { 403: json(ErrorBody, "Bad, altered or expired URL (Forbidden)"), ...notFound, 500: commonErrors[500], 503: commonErrors[503] };

  app.openapi(
    createRoute({
      ...signed,
      method: "get",
      path: "/v1/files/{contextId}",
      summary: "Download a file through a signed URL",
      responses: { 200: { description: "The file's bytes", content: octets }, ...signedErrors },
    }),
    async (c) => {
      const { contextId } = c.req.valid("param");
      const f = verifyFileUrl(deps.urlSecret, contextId, c.req.queries(), c.req.method === "HEAD" ? "GET" : c.req.method, nowSeconds(deps));
      const { file, body } = await new ContextService(deps.stores, f.tenantId, deps.clock).readFile(contextId, f.key);
      const headers = { "Content-Type": "application/octet-stream", "Content-Length": String(file.sizeBytes), ETag: `"${file.digest}"` };
      if (c.req.method === "HEAD") {
        body.destroy(); // HEAD answers with the headers only; release the open blob now
        return new Response(null, { status: 200, headers });
      }
      return streamResponse(c, body, headers, deps.log);
    },
  );

  app.openapi(
    createRoute({
      ...signed,
      method: "put",
      path: "/v1/files/{contextId}",
      summary: "Upload a file through a signed URL, as a new generation of the context",
      request: { ...signed.request, body: { content: octets, required: true } },
      responses: {
        200: { description: "Stored; ETag is the content's SHA-256" },
        400: json(ErrorBody, "The key cannot hold a file: a folder is there, or a file above it (InvalidKey)"),
        ...signedErrors,
        ...conflict,
        413: commonErrors[413],
      },
    }),
    async (c) => {
      const { contextId } = c.req.valid("param");
      const f = verifyFileUrl(deps.urlSecret, contextId, c.req.queries(), c.req.method, nowSeconds(deps));
      const max = deps.options.maxFileBytes;
      const declared = c.req.header("content-length");
      const sizeBytes = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
      const svc = new ContextService(deps.stores, f.tenantId, deps.clock);
      // A known length goes to the store as it arrives (over `max`: 413 before a byte is read); a chunked body is spooled first.
      const r = await svc.writeFile(contextId, f.key, requestBody(c), { maxBytes: max, tmpDir: deps.tmpDir, sizeBytes });
      return c.body(null, 200, { ETag: `"${r.digest}"` });
    },
  );
}

function nowSeconds(deps: AppDeps): number {
  return Math.floor(deps.clock.now() / 1000);
}
