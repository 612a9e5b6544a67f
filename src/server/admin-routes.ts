import { createRoute } from "@hono/zod-openapi";
import { ApiKeyList, CreateApiKeyBody, CreatedApiKey } from "../api/index.js";
import { ApiKeyService, type ApiKeyInfo } from "../service/index.js";
import type { AppDeps } from "./app-deps.js";
import { apiKeySecurity, commonErrors, unsupportedMedia, forbidden, IdParams, json, jsonBody, noContent, notFound, type App } from "./openapi-parts.js";

const base = { tags: ["admin"], security: apiKeySecurity };

/**
 * /v1/admin/keys: API keys of every tenant, for admin keys only (auth.ts answers 403 to other valid
 * keys). A created key's secret is in the response once; the server keeps only its SHA-256.
 */
export function registerAdminRoutes(app: App, deps: AppDeps): void {
  const keys = () => new ApiKeyService(deps.stores.meta, deps.clock);

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/admin/keys",
      summary: "Create an API key for a tenant (made when new)",
      request: { body: jsonBody(CreateApiKeyBody) },
      responses: { 200: json(CreatedApiKey, "The key with its secret, shown once"), ...commonErrors, ...unsupportedMedia, ...forbidden },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const created = await keys().create(body.tenant, { isAdmin: body.admin === true });
      deps.log.info(`API key ${created.id} created for tenant ${created.tenant}${created.isAdmin ? " (admin)" : ""} by key ${c.get("principal").keyId}`);
      return c.json({ ...keyView(created), key: created.secret }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/admin/keys",
      summary: "List every API key (never their secrets)",
      responses: { 200: json(ApiKeyList, "Keys, oldest first"), ...commonErrors, ...forbidden },
    }),
    async (c) => c.json({ keys: (await keys().list()).map(keyView) }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "delete",
      path: "/v1/admin/keys/{id}",
      summary: "Revoke an API key; it authenticates nothing from now on",
      request: { params: IdParams },
      responses: { ...noContent, ...commonErrors, ...forbidden, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await keys().revoke(id);
      deps.log.info(`API key ${id} revoked by key ${c.get("principal").keyId}`);
      return c.body(null, 204);
    },
  );
}

function keyView(k: ApiKeyInfo) {
  return {
    id: k.id,
    tenant: k.tenant,
    admin: k.isAdmin,
    createdAt: new Date(k.createdAtMs).toISOString(),
    revokedAt: k.revokedAtMs === null ? null : new Date(k.revokedAtMs).toISOString(),
  };
}
