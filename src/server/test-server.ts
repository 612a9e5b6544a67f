import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gcOptionsWithDefaults, systemClock, type Clock } from "../engine/index.js";
import { ApiKeyService, FreshBlobs, freshWindowMs, ListedBlobs, openEmbeddedStores, type Stores } from "../service/index.js";
import type { AppDeps, Logger } from "./app-deps.js";
import { createApp } from "./app.js";
import { ServerJobs } from "./jobs.js";
import type { App } from "./openapi-parts.js";
import { serverOptionsWithDefaults } from "./server-options.js";
import { loadUrlSecret } from "./signed-url.js";

/** An app on a fresh store in a temp dir, with keys for two tenants and an admin, for in-process requests. */
export interface TestServer {
  dir: string;
  stores: Stores;
  app: App;
  deps: AppDeps;
  /** API keys of tenants "a" and "b", and an admin key (tenant "ops"). */
  keyA: string;
  keyB: string;
  adminKey: string;
  tenantA: string;
  tenantB: string;
  /** Errors the app logged (500s, failed background work). */
  logged: string[];
  /** `app.request` with `Authorization: Bearer <key>` and a JSON body when given. */
  request(method: string, url: string, opts?: { key?: string; json?: unknown; body?: RequestInit["body"]; headers?: Record<string, string> }): Promise<Response>;
  /** request(), then the JSON body; throws with the body when the status is not `status`. */
  json<T = Record<string, unknown>>(method: string, url: string, opts?: { key?: string; json?: unknown }, status?: number): Promise<T>;
  close(): Promise<void>;
}

export async function openTestServer(
  over: { options?: Parameters<typeof serverOptionsWithDefaults>[0]; clock?: Clock } = {},
): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-server-"));
  const stores = await openEmbeddedStores(path.join(dir, "data"));
  const clock = over.clock ?? systemClock;
  const logged: string[] = [];
  const log: Logger = { info: () => undefined, error: (m, err) => logged.push(`${m}: ${String(err)}`) };
  const options = serverOptionsWithDefaults(over.options);
  const gc = gcOptionsWithDefaults();
  const jobs = new ServerJobs({ stores, clock, options, gc, log });
  const stopping = new AbortController();
  const deps: AppDeps = {
    stores,
    clock,
    options,
    freshBlobs: new FreshBlobs(freshWindowMs(gc.minBlobAgeMs)),
    listedBlobs: new ListedBlobs(),
    urlSecret: loadUrlSecret(path.join(dir, "data"), undefined),
    tmpDir: path.join(dir, "data", "uploads"),
    background: (what, work) => jobs.background(what, work),
    stopping: stopping.signal,
    log,
  };
  const app = createApp(deps);
  const keys = new ApiKeyService(stores.meta, clock);
  const a = await keys.create("a");
  const b = await keys.create("b");
  const admin = await keys.create("ops", { isAdmin: true });
  const request: TestServer["request"] = (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    return Promise.resolve(app.request(url, { method, headers, body }));
  };
  return {
    dir,
    stores,
    app,
    deps,
    keyA: a.secret,
    keyB: b.secret,
    adminKey: admin.secret,
    tenantA: await stores.meta.ensureTenant("a"),
    tenantB: await stores.meta.ensureTenant("b"),
    logged,
    request,
    async json<T>(method: string, url: string, opts: { key?: string; json?: unknown } = {}, status = 200): Promise<T> {
      const res = await request(method, url, opts);
      const text = await res.text();
      if (res.status !== status) throw new Error(`${method} ${url}: expected ${status}, got ${res.status}: ${text}`);
      return (text === "" ? {} : JSON.parse(text)) as T;
    },
    async close() {
      stopping.abort();
      await jobs.stop();
      await stores.meta.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
