import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../api/index.js";
import { ApiKeyService } from "../service/index.js";
import { openTestServer, type TestServer } from "./test-server.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("server security", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer({ options: { maxJsonBodyBytes: 64 * 1024 } });
  });
  afterEach(() => t.close());

  /** Every documented operation except the public ones, with placeholder ids. */
  const routeTable = async (): Promise<{ method: string; url: string }[]> => {
    const doc = await t.json<{ paths: Record<string, Record<string, unknown>> }>("GET", apiPaths.openapi);
    const out: { method: string; url: string }[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (path.startsWith("/v1/files/")) continue;
      const url = path.replace("{digest}", "a".repeat(64)).replace(/\{[a-zA-Z]+\}/g, "ctx-01J00000000000000000000000");
      for (const method of Object.keys(ops)) out.push({ method: method.toUpperCase(), url });
    }
    return out;
  };
  const newContext = async (key: string, name: string) => (await t.json<{ id: string }>("POST", apiPaths.contexts, { key, json: { name } })).id;
  const putFile = async (key: string, contextId: string, path: string, content: string) => {
    const { url } = await t.json<{ url: string }>("POST", apiPaths.contextFileUrls(contextId), { key, json: { path, method: "PUT" } });
    expect((await t.app.request(url, { method: "PUT", body: content })).status).toBe(200);
  };
  const contextCount = async (key: string) => (await t.json<{ totalCount: number }>("GET", apiPaths.contexts, { key })).totalCount;

  describe("401 Unauthorized on every route", () => {
    const credentials: Record<string, (t: TestServer) => Promise<Record<string, string>>> = {
      "no Authorization header": async () => ({}),
      "an unknown key": async () => ({ authorization: `Bearer csk_${"x".repeat(43)}` }),
      "a malformed header": async () => ({ authorization: "Basic dXNlcjpwYXNz" }),
      "a revoked key": async (t) => {
        const keys = new ApiKeyService(t.stores.meta, t.deps.clock);
        const k = await keys.create("a");
        await keys.revoke(k.id);
        return { authorization: `Bearer ${k.secret}` };
      },
    };
    for (const [what, headersOf] of Object.entries(credentials)) {
      it(`with ${what}`, async () => {
        const headers = await headersOf(t);
        const routes = await routeTable();
        expect(routes.length).toBeGreaterThan(30);
        for (const r of routes) {
          const res = await t.app.request(r.url, { method: r.method, headers });
          expect(res.status, `${r.method} ${r.url}`).toBe(401);
          if (r.method !== "HEAD") expect(await res.json(), `${r.method} ${r.url}`).toMatchObject({ code: "Unauthorized", requestId: expect.stringMatching(/^req-/) });
        }
      });
    }

    it("with a session token on API-key routes, and an API key on agent routes", async () => {
      const { sessionToken } = await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: {} });
      for (const r of await routeTable()) {
        const key = r.url.startsWith("/v1/agent/") ? t.keyA : sessionToken;
        const res = await t.app.request(r.url, { method: r.method, headers: { authorization: `Bearer ${key}` } });
        expect(res.status, `${r.method} ${r.url}`).toBe(401);
      }
    });

    it("but not on /v1/openapi.json", async () => {
      expect((await t.request("GET", apiPaths.openapi)).status).toBe(200);
    });
  });

  it("answers admin routes with 403 for a tenant's ordinary key", async () => {
    for (const [method, url] of [["GET", apiPaths.adminKeys], ["POST", apiPaths.adminKeys], ["DELETE", apiPaths.adminKey("key-x")]] as const) {
      const res = await t.request(method, url, { key: t.keyA, json: method === "POST" ? { tenant: "x" } : undefined });
      expect(res.status, `${method} ${url}`).toBe(403);
    }
  });

  describe("tenant isolation: tenant B sees tenant A's ids exactly like ids that do not exist", () => {
    let ctxA: string;
    let sessA: string;
    beforeEach(async () => {
      ctxA = await newContext(t.keyA, "secret-plans");
      await putFile(t.keyA, ctxA, "/p/plan.txt", "the plan");
      sessA = (await t.json<{ session: { id: string } }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: ctxA, path: "/p" }] } })).session.id;
    });

    const probes: { name: string; method: string; url: (id: string) => string; json?: (id: string) => unknown }[] = [
      { name: "get a context", method: "GET", url: apiPaths.context },
      { name: "rename a context", method: "PATCH", url: apiPaths.context, json: () => ({ name: "mine" }) },
      { name: "delete a context", method: "DELETE", url: apiPaths.context },
      { name: "list a context's files", method: "GET", url: (id) => `${apiPaths.contextFiles(id)}?parent=/p` },
      { name: "delete a context's file", method: "DELETE", url: (id) => `${apiPaths.contextFiles(id)}?path=/p/plan.txt` },
      { name: "sign a download URL", method: "POST", url: apiPaths.contextFileUrls, json: () => ({ path: "/p/plan.txt", method: "GET" }) },
      { name: "sign an upload URL", method: "POST", url: apiPaths.contextFileUrls, json: () => ({ path: "/p/x", method: "PUT" }) },
      { name: "clear a context", method: "POST", url: apiPaths.contextClear },
      { name: "read a clear status", method: "GET", url: apiPaths.contextClear },
      { name: "list generations", method: "GET", url: apiPaths.contextGenerations },
      { name: "restore", method: "POST", url: apiPaths.contextRestore, json: () => ({ generation: 1 }) },
      { name: "mount it in a session", method: "POST", url: () => apiPaths.sessions, json: (id) => ({ contextSync: [{ contextId: id, path: "/x" }] }) },
    ];
    const sessionProbes: typeof probes = [
      { name: "get a session", method: "GET", url: apiPaths.session },
      { name: "release a session", method: "DELETE", url: apiPaths.session },
      { name: "sync a session", method: "POST", url: apiPaths.sessionSync, json: () => ({}) },
      { name: "read a session's tasks", method: "GET", url: apiPaths.sessionTasks },
      { name: "list a session's bindings", method: "GET", url: apiPaths.sessionBindings },
      { name: "bind to a session", method: "POST", url: apiPaths.sessionBindings, json: () => ({ contextSync: [{ contextId: "ctx-x", path: "/y" }] }) },
    ];
    const compare = async (p: (typeof probes)[number], foreignId: string, missingId: string) => {
      const call = async (id: string) => {
        const res = await t.request(p.method, p.url(id), { key: t.keyB, json: p.json?.(id) });
        const body = (await res.json()) as { code: string; message: string };
        return { status: res.status, code: body.code, message: body.message.replaceAll(id, "<id>") };
      };
      const foreign = await call(foreignId);
      expect(foreign.status, p.name).toBe(404);
      expect(foreign, p.name).toEqual(await call(missingId));
    };
    for (const p of probes) it(`cannot ${p.name}`, () => compare(p, ctxA, "ctx-01J00000000000000000000000"));
    for (const p of sessionProbes) it(`cannot ${p.name}`, () => compare(p, sessA, "sess-01J00000000000000000000000"));

    it("cannot list, find by name or sync into A's contexts, and A's data is untouched", async () => {
      expect(await t.json("GET", apiPaths.contexts, { key: t.keyB })).toMatchObject({ contexts: [], totalCount: 0 });
      expect(await t.json("GET", `${apiPaths.contexts}?name=secret-plans`, { key: t.keyB })).toMatchObject({ contexts: [] });
      expect(await t.json("GET", `${apiPaths.contexts}?sessionId=${sessA}`, { key: t.keyB })).toMatchObject({ contexts: [] });
      expect(await t.json("GET", apiPaths.sessions, { key: t.keyB })).toEqual({ sessions: [] });
      const sessB = (await t.json<{ session: { id: string } }>("POST", apiPaths.sessions, { key: t.keyB, json: {} })).session.id;
      const sync = await t.request("POST", apiPaths.sessionSync(sessB), { key: t.keyB, json: { contextId: ctxA, path: "/p" } });
      expect(sync.status).toBe(404);
      expect(await t.json("GET", `${apiPaths.contextFiles(ctxA)}?parent=/p`, { key: t.keyA })).toMatchObject({ count: 1 });
      expect(await t.json("GET", apiPaths.session(sessA), { key: t.keyA })).toMatchObject({ status: "running" });
    });

    it("lets B create a context with A's context name: names are per tenant", async () => {
      expect(await newContext(t.keyB, "secret-plans")).not.toBe(ctxA);
    });
  });

  describe("a session token reaches only its own session's contexts, bases, tasks and blobs", () => {
    let ctx1: string;
    let ctx2: string;
    let token1: string;
    let task2: string;
    beforeEach(async () => {
      ctx1 = await newContext(t.keyA, "one");
      ctx2 = await newContext(t.keyA, "two");
      await putFile(t.keyA, ctx1, "/w/mine.txt", "mine");
      await putFile(t.keyA, ctx2, "/v/theirs.txt", "theirs");
      token1 = (await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: ctx1, path: "/w" }] } })).sessionToken;
      const s2 = await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: ctx2, path: "/v" }] } });
      task2 = (await t.json<{ tasks: { id: string }[] }>("GET", `${apiPaths.agentTasks}?waitSeconds=0`, { key: s2.sessionToken })).tasks[0]!.id;
    });

    const put = (key: string, digest: string) => ({ kind: "put", key, meta: { type: "file", digest, sizeBytes: 4, mode: 420, mtimeMs: 1, linkTarget: null }, expiresAtMs: null });
    const refusals: { name: string; method: string; url: () => string; json?: () => unknown; status: number }[] = [
      { name: "another session's context head", method: "GET", url: () => apiPaths.agentContext(ctx2), status: 404 },
      { name: "another session's context files", method: "GET", url: () => `${apiPaths.agentContextFiles(ctx2)}?prefix=/v`, status: 404 },
      { name: "its own context outside its namespace", method: "GET", url: () => `${apiPaths.agentContextFiles(ctx1)}?prefix=/v`, status: 404 },
      { name: "its own context from the root", method: "GET", url: () => `${apiPaths.agentContextFiles(ctx1)}?prefix=/`, status: 404 },
      { name: "another session's base", method: "GET", url: () => `${apiPaths.agentBases}?path=/v`, status: 400 },
      { name: "an update of another path's base", method: "POST", url: () => apiPaths.agentBases, json: () => ({ mountPath: "/v", upserts: [], deletes: [] }), status: 400 },
      { name: "a commit to another session's context", method: "POST", url: () => apiPaths.agentCommits, json: () => ({ contextId: ctx2, expectedHead: 1, changes: [] }), status: 404 },
      { name: "a commit outside its namespace", method: "POST", url: () => apiPaths.agentCommits, json: () => ({ contextId: ctx1, expectedHead: 1, changes: [put("/v/x", sha("mine"))] }), status: 400 },
      { name: "another session's task progress", method: "POST", url: () => apiPaths.agentTaskProgress(task2), json: () => ({ filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 }), status: 404 },
      { name: "finishing another session's task", method: "POST", url: () => apiPaths.agentTaskFinish(task2), json: () => ({ status: "Success" }), status: 404 },
      { name: "a blob only another session's context references", method: "GET", url: () => apiPaths.agentBlob(sha("theirs")), status: 404 },
    ];
    for (const r of refusals) {
      it(`refuses ${r.name}`, async () => {
        const res = await t.request(r.method, r.url(), { key: token1, json: r.json?.() });
        expect(res.status, await res.clone().text()).toBe(r.status);
      });
    }

    it("serves the blobs of its own contexts", async () => {
      expect(await (await t.request("GET", apiPaths.agentBlob(sha("mine")), { key: token1 })).text()).toBe("mine");
    });
  });

  describe("an oversized JSON body is 413 PayloadTooLarge and stores nothing", () => {
    const big = { name: "x", padding: "p".repeat(100 * 1024) };
    it("with a Content-Length", async () => {
      const body = JSON.stringify(big);
      const res = await t.request("POST", apiPaths.contexts, { key: t.keyA, body, headers: { "content-type": "application/json", "content-length": String(body.length) } });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: "PayloadTooLarge" });
      expect(await contextCount(t.keyA)).toBe(0);
    });
    it("streamed without one", async () => {
      const res = await t.request("POST", apiPaths.contexts, { key: t.keyA, json: big });
      expect(res.status).toBe(413);
      expect(await contextCount(t.keyA)).toBe(0);
    });
  });

  describe("path traversal and NUL in any key parameter is 400", () => {
    let ctx: string;
    let token: string;
    beforeEach(async () => {
      ctx = await newContext(t.keyA, "c");
      token = (await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: ctx, path: "/w" }] } })).sessionToken;
    });
    const bad = ["/w/../etc", "/w/a\0b", "/w/./a", "w/relative"];
    const calls: { name: string; call: (t: TestServer, p: string) => Promise<Response> }[] = [
      { name: "files?parent", call: (t, p) => t.request("GET", `${apiPaths.contextFiles(ctx)}?parent=${encodeURIComponent(p)}`, { key: t.keyA }) },
      { name: "DELETE files?path", call: (t, p) => t.request("DELETE", `${apiPaths.contextFiles(ctx)}?path=${encodeURIComponent(p)}`, { key: t.keyA }) },
      { name: "file-urls path", call: (t, p) => t.request("POST", apiPaths.contextFileUrls(ctx), { key: t.keyA, json: { path: p, method: "PUT" } }) },
      { name: "restore path", call: (t, p) => t.request("POST", apiPaths.contextRestore(ctx), { key: t.keyA, json: { generation: 1, path: p } }) },
      { name: "session mount path", call: (t, p) => t.request("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: ctx, path: p }] } }) },
      { name: "agent files?prefix", call: (t, p) => t.request("GET", `${apiPaths.agentContextFiles(ctx)}?prefix=${encodeURIComponent(p)}`, { key: token }) },
      { name: "agent bases?path", call: (t, p) => t.request("GET", `${apiPaths.agentBases}?path=${encodeURIComponent(p)}`, { key: token }) },
      {
        name: "agent commit key",
        call: (t, p) => t.request("POST", apiPaths.agentCommits, { key: token, json: { contextId: ctx, expectedHead: 0, changes: [{ kind: "delete", key: p }] } }),
      },
    ];
    for (const c of calls) {
      it(`in ${c.name}`, async () => {
        for (const p of bad) {
          const res = await c.call(t, p);
          expect(res.status, `${c.name} ${JSON.stringify(p)}`).toBe(400);
          expect((await res.json()) as { code: string }, p).toMatchObject({ code: expect.stringMatching(/^Invalid(Key|Parameter)$/) });
        }
        expect(await contextCount(t.keyA)).toBe(1);
      });
    }
  });

  it("turns an unexpected failure into a 500 that shows only the request id, and logs the details", async () => {
    const ctx = await newContext(t.keyA, "c");
    const broken = t.stores.meta.listLiveFiles.bind(t.stores.meta);
    t.stores.meta.listLiveFiles = () => Promise.reject(new Error("disk exploded at /secret/place"));
    try {
      const res = await t.request("GET", `${apiPaths.contextFiles(ctx)}?parent=/`, { key: t.keyA });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { code: string; message: string; requestId: string };
      expect(body.code).toBe("InternalError");
      expect(body.message).not.toMatch(/disk exploded/);
      expect(body.message).toContain(body.requestId);
      expect(res.headers.get("x-request-id")).toBe(body.requestId);
      expect(t.logged.join("\n")).toMatch(new RegExp(`${body.requestId}.*disk exploded`, "s"));
    } finally {
      t.stores.meta.listLiveFiles = broken;
    }
  });
});
