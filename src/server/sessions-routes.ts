import { createRoute, type z } from "@hono/zod-openapi";
import {
  BindBody,
  BindingList,
  CreatedSession,
  CreateSessionBody,
  ContextSyncWire,
  ErrorBody,
  ReleaseQuery,
  ReleaseResult,
  SessionList,
  SessionView,
  SyncBody,
  TaskList,
  TasksQuery,
} from "../api/index.js";
import { ContextSync, SyncPolicy } from "../policy/index.js";
import type { TaskRecord } from "../store/index.js";
import type { AppDeps } from "./app-deps.js";
import { apiKeySecurity, commonErrors, unsupportedMedia, conflict, IdParams, json, jsonBody, notFound, type App } from "./openapi-parts.js";
import { sessionsOf } from "./tenant-services.js";
import { sessionView, taskView } from "./views.js";

const tags = ["sessions"];
const base = { tags, security: apiKeySecurity };

/**
 * /v1/sessions: sessions of the caller's tenant. Every session made over HTTP is external: its agent (in
 * the sandbox) claims the tasks these routes queue, with the session token returned by POST /v1/sessions.
 */
export function registerSessionRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/sessions",
      summary: "Create a session; its initial downloads are queued for the agent",
      description:
        "Returns at once with the session token the agent needs; clients wait for the downloads of the mounts with waitForCompletion by polling the tasks.",
      request: { body: jsonBody(CreateSessionBody) },
      responses: { 200: json(CreatedSession, "The session and its token (shown once)"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { session, sessionToken } = await sessionsOf(c, deps).create({
        contextSync: body.contextSync.map(toContextSync),
        labels: body.labels,
        agent: "external",
      });
      return c.json({ session: sessionView(session), sessionToken: sessionToken ?? "" }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/sessions",
      summary: "List the tenant's sessions",
      responses: { 200: json(SessionList, "Sessions, oldest first"), ...commonErrors },
    }),
    async (c) => c.json({ sessions: (await sessionsOf(c, deps).list()).map(sessionView) }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/sessions/{id}",
      summary: "Get a session",
      request: { params: IdParams },
      responses: { 200: json(SessionView, "The session"), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(sessionView(await sessionsOf(c, deps).get(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "delete",
      path: "/v1/sessions/{id}",
      summary: "Release a session after its final uploads are terminal",
      description:
        "Queues an upload of every autoUpload mount (every mount with syncContext=true) and answers once the agent has finished them, has gone silent, or the release timeout passed.",
      request: { params: IdParams, query: ReleaseQuery },
      responses: {
        200: json(ReleaseResult, "The session is released"),
        ...commonErrors,
        ...notFound,
        503: json(ErrorBody, "Storage unavailable (StoreUnavailable), or the server is stopping while the agent uploads (ServerStopping): the release goes on; read the session until it is released"),
      },
    }),
    async (c) => {
      const svc = sessionsOf(c, deps);
      const { id } = c.req.valid("param");
      const r = await svc.release(id, c.req.valid("query").syncContext === "true");
      if (r.uploadsSucceeded) return c.json({ uploadsSucceeded: true }, 200);
      const failed = await failedOf(svc, id, r.tasks);
      const errorMessage = failed.length > 0 ? failed.map((t) => `${t.path}: ${t.errorMessage}`).join("; ") : (r.errorMessage ?? "The uploads failed.");
      return c.json({ uploadsSucceeded: false, errorMessage }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/sessions/{id}/sync",
      summary: "Queue uploads or downloads; poll the tasks for the outcome",
      request: { params: IdParams, body: jsonBody(SyncBody) },
      responses: { 200: json(TaskList, "The queued tasks"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const handle = await sessionsOf(c, deps).sync(c.req.valid("param").id, body);
      return c.json({ tasks: handle.tasks.map(taskView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/sessions/{id}/tasks",
      summary: "The latest task of each mount and type, or the tasks named by taskIds",
      request: { params: IdParams, query: TasksQuery },
      responses: { 200: json(TaskList, "Tasks"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { taskIds, ...filter } = c.req.valid("query");
      const svc = sessionsOf(c, deps);
      const id = c.req.valid("param").id;
      const tasks = taskIds === undefined ? await svc.info(id, filter) : await svc.tasksByIds(id, taskIds.split(","));
      return c.json({ tasks: tasks.map(taskView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/sessions/{id}/bindings",
      summary: "Mount more contexts on a running session; their downloads are queued",
      request: { params: IdParams, body: jsonBody(BindBody) },
      responses: { 200: json(TaskList, "The queued downloads"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const started = await sessionsOf(c, deps).bind(c.req.valid("param").id, c.req.valid("json").contextSync.map(toContextSync), false);
      return c.json({ tasks: started.map((t) => taskView(t.record)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/sessions/{id}/bindings",
      summary: "The session's mounts",
      request: { params: IdParams },
      responses: { 200: json(BindingList, "Mounts in bind order"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const mounts = await sessionsOf(c, deps).listBindings(c.req.valid("param").id);
      const bindings = mounts.map((m) => ({ contextId: m.contextId, contextName: m.contextName, path: m.path, policy: m.policyJson, bindTime: Math.floor(m.bindTimeMs / 1000) }));
      return c.json({ bindings }, 200);
    },
  );
}

/** A ContextSync from its wire form; the policy (object or JSON string) is validated with the reference's messages. */
function toContextSync(w: z.infer<typeof ContextSyncWire>): ContextSync {
  const policy = w.policy === undefined || w.policy === null ? undefined : SyncPolicy.fromJSON(w.policy);
  const cs = new ContextSync(w.contextId, w.path, policy);
  if (w.waitForCompletion !== undefined) cs.withBetaWaitForCompletion(w.waitForCompletion);
  return cs;
}

async function failedOf(svc: ReturnType<typeof sessionsOf>, sessionId: string, tasks: readonly TaskRecord[]): Promise<TaskRecord[]> {
  const ids = new Set(tasks.map((t) => t.id));
  return (await svc.info(sessionId)).filter((t) => t.status === "Failed" && ids.has(t.id));
}
