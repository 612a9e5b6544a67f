/**
 * server — ctxsync as a service: the JSON API of src/api over HTTP (hono on @hono/node-server).
 *
 * 1. createServer opens the embedded store, makes the first admin key on an empty store, starts the
 *    background jobs (jobs.ts: scheduled GC, lost-session detection, clears) and listens; stop() drains.
 * 2. Each request gets an id, then auth.ts decides by path: API key (tenant; admin for /v1/admin), session
 *    token for /v1/agent, URL signature for /v1/files, nothing for /v1/openapi.json. Bad credentials are
 *    401 everywhere.
 * 3. Routes (one file per group) are @hono/zod-openapi definitions: the zod schemas of src/api validate the
 *    request (400 InvalidParameter) and generate /v1/openapi.json. Handlers call tenant-scoped services
 *    built per request, so another tenant's id is a plain 404.
 * 4. errors.ts is the one place that maps errors to `{ code, message, requestId }` and a status
 *    (STATUS_OF_CODE); unknown errors are 500s whose details only the log sees.
 * Imports api, service, engine, store, policy and errors; never sdk or agent.
 */
export { createApp } from "./app.js";
export type { AppDeps, Logger } from "./app-deps.js";
export { BOOTSTRAP_TENANT, createServer, type CreateServerOptions, type RunningServer } from "./create-server.js";
export { ServerJobs } from "./jobs.js";
export type { App } from "./openapi-parts.js";
export { serverOptionsWithDefaults, type ServerOptions } from "./server-options.js";
export { loadUrlSecret, signFileUrl, verifyFileUrl, type SignedFile, type SignedMethod } from "./signed-url.js";
