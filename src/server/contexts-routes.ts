import { createRoute } from "@hono/zod-openapi";
import {
  ClearStatus,
  ContextList,
  ContextView,
  CreateContextBody,
  FileList,
  FilePathQuery,
  GenerationList,
  GenerationsQuery,
  ListContextsQuery,
  ListFilesQuery,
  RenameContextBody,
  RestoreBody,
  RestoreResult,
} from "../api/index.js";
import type { AppDeps } from "./app-deps.js";
import { apiKeySecurity, commonErrors, unsupportedMedia, conflict, IdParams, json, jsonBody, noContent, notFound, type App } from "./openapi-parts.js";
import { contextsOf } from "./tenant-services.js";
import { contextView, generationView } from "./views.js";

const tags = ["contexts"];
const base = { tags, security: apiKeySecurity };

/** /v1/contexts: contexts of the caller's tenant, their files, clear and history. */
export function registerContextRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/contexts",
      summary: "Get or create the context of a name",
      request: { body: jsonBody(CreateContextBody) },
      responses: { 200: json(ContextView, "The context of that name"), ...commonErrors, ...unsupportedMedia },
    }),
    async (c) => c.json(contextView(await contextsOf(c, deps).get(c.req.valid("json").name, true)), 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/contexts",
      summary: "List contexts (one page), or find one by name",
      request: { query: ListContextsQuery },
      responses: { 200: json(ContextList, "A page of contexts"), ...commonErrors },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const svc = contextsOf(c, deps);
      const maxResults = q.maxResults ?? 10;
      if (q.name !== undefined) {
        const found = await svc.get(q.name).catch((err: unknown) => {
          if ((err as { code?: string }).code === "ContextNotFound") return undefined;
          throw err;
        });
        const contexts = found ? [contextView(found)] : [];
        return c.json({ contexts, maxResults, totalCount: contexts.length }, 200);
      }
      const page = await svc.list({ maxResults, nextToken: q.nextToken, sessionId: q.sessionId });
      return c.json(
        { contexts: page.items.map(contextView), nextToken: page.nextToken, maxResults, totalCount: page.totalCount },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/contexts/{id}",
      summary: "Get a context",
      request: { params: IdParams },
      responses: { 200: json(ContextView, "The context"), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(contextView(await contextsOf(c, deps).getById(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "patch",
      path: "/v1/contexts/{id}",
      summary: "Rename a context (its id stays)",
      request: { params: IdParams, body: jsonBody(RenameContextBody) },
      responses: { 200: json(ContextView, "The renamed context"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const svc = contextsOf(c, deps);
      const { id } = c.req.valid("param");
      await svc.rename(id, c.req.valid("json").name);
      return c.json(contextView(await svc.getById(id)), 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "delete",
      path: "/v1/contexts/{id}",
      summary: "Delete a context and all its files",
      request: { params: IdParams },
      responses: { ...noContent, ...commonErrors, ...notFound },
    }),
    async (c) => {
      await contextsOf(c, deps).delete(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/contexts/{id}/files",
      summary: "List the direct children of a folder of a context",
      request: { params: IdParams, query: ListFilesQuery },
      responses: { 200: json(FileList, "One page of entries and the total count"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const r = await contextsOf(c, deps).listFiles(c.req.valid("param").id, q.parent ?? "/", q.pageNumber ?? 1, q.pageSize ?? 50);
      return c.json(r, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "delete",
      path: "/v1/contexts/{id}/files",
      summary: "Delete one file of a context (a file that is not there is no error)",
      request: { params: IdParams, query: FilePathQuery },
      responses: { ...noContent, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      await contextsOf(c, deps).deleteFile(c.req.valid("param").id, c.req.valid("query").path);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/contexts/{id}/clear",
      summary: "Start deleting every file of a context; poll with GET",
      request: { params: IdParams },
      responses: { 200: json(ClearStatus, "Clearing has started (or was already running)"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const handle = await contextsOf(c, deps).clearAsync(id);
      if (handle.started) deps.background(`clear of ${id}`, handle.done);
      return c.json({ contextId: id, status: "clearing" as const }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/contexts/{id}/clear",
      summary: "The clear status of a context: clearing until done, then available",
      request: { params: IdParams },
      responses: { 200: json(ClearStatus, "The context's state"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json({ contextId: id, status: await contextsOf(c, deps).getClearStatus(id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/contexts/{id}/generations",
      summary: "The context's generations, newest first",
      request: { params: IdParams, query: GenerationsQuery },
      responses: { 200: json(GenerationList, "Generations within the retention period"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const records = await contextsOf(c, deps).log(c.req.valid("param").id, c.req.valid("query").limit);
      return c.json({ generations: records.map(generationView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/contexts/{id}/restore",
      summary: "Bring a context (or one path) back to an earlier generation, as a new generation",
      request: { params: IdParams, body: jsonBody(RestoreBody) },
      responses: { 200: json(RestoreResult, "The generation the restore committed"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const opts = body.path === undefined ? {} : { path: body.path };
      return c.json({ generation: await contextsOf(c, deps).restore(c.req.valid("param").id, body.generation, opts) }, 200);
    },
  );
}
