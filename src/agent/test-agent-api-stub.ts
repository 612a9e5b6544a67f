import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { BLOB_FRAMES_CONTENT_TYPE, decodeUnnamedFrames, decodeUploadFrames, encodeBlobFrames, STATUS_OF_CODE } from "../api/index.js";
import { BlobNotFoundError, CtxSyncError, InvalidParameterError } from "../errors/index.js";
import { requestBody } from "../server/node-streams.js";
import { missingBlobs, readBlobs, storeBlobs, storeUnnamedBlobs } from "../service/blob-batches.js";
import { LocalDirBlobStore, SqliteMetaStore, type BlobStore, type MetaStore } from "../store/index.js";

/**
 * A stand-in for the server's `/v1/agent` data routes (contexts, files, bases, commits, blobs) over real
 * embedded stores, on 127.0.0.1: enough to run RemoteMetaStore, RemoteBlobStore and the engine over HTTP
 * without the real server. One session, one token. No tasks, no sessions routes: those need the server.
 * HEAD on a blob refreshes it (touch), as the server must (see RemoteBlobStore).
 */
export interface AgentApiStub {
  endpoint: string;
  token: string;
  sessionId: string;
  tenantId: string;
  meta: MetaStore;
  blobs: LocalDirBlobStore;
  /** Requests seen, as `METHOD /path` (no query), for assertions about what went over the wire. */
  requests: string[];
  /** Digests received in blob batches, in order ("unnamed" for each blob of an unnamed batch). */
  batched: string[];
  /** Most requests the stub was serving at one time. */
  maxInFlight(): number;
  close(): Promise<void>;
}

export async function startAgentApiStub(dir: string): Promise<AgentApiStub> {
  fs.mkdirSync(dir, { recursive: true });
  const meta = SqliteMetaStore.open(path.join(dir, "meta.db")) as unknown as MetaStore;
  const blobs = await LocalDirBlobStore.open(path.join(dir, "blobs"));
  const tenantId = await meta.ensureTenant("stub");
  const token = "stub-session-token";
  const sessionId = "sess-stub";
  await meta.createSession({ id: sessionId, tenantId, status: "running", root: "/", labels: {}, createdAtMs: Date.now() }, []);
  const requests: string[] = [];
  const batched: string[] = [];
  const load = { now: 0, max: 0 };
  const app = buildApp({ meta, blobs, tenantId, token, sessionId, requests, batched, load });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    token,
    sessionId,
    tenantId,
    meta,
    blobs,
    requests,
    batched,
    maxInFlight: () => load.max,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await meta.close();
    },
  };
}

interface StubState {
  meta: MetaStore;
  blobs: BlobStore;
  tenantId: string;
  token: string;
  sessionId: string;
  requests: string[];
  batched: string[];
  load: { now: number; max: number };
}

function buildApp(s: StubState): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    s.requests.push(`${c.req.method} ${c.req.path}`);
    if (c.req.header("authorization") !== `Bearer ${s.token}`) {
      return c.json({ code: "Unauthorized", message: "Missing or wrong session token.", requestId: "stub" }, 401);
    }
    s.load.max = Math.max(s.load.max, ++s.load.now);
    try {
      // A little latency, as a network has, so that transfers overlap and concurrency shows.
      await new Promise((r) => setTimeout(r, 2));
      await next();
    } finally {
      s.load.now--;
    }
  });
  app.onError((err, c) => {
    if (err instanceof CtxSyncError) {
      const status = (STATUS_OF_CODE[err.code] ?? 500) as 400;
      return c.json({ code: err.code, message: err.message, requestId: "stub" }, status);
    }
    return c.json({ code: "Internal", message: String(err), requestId: "stub" }, 500);
  });
  app.get("/v1/agent/contexts/:id", async (c) => {
    const ctx = await s.meta.getContext(s.tenantId, c.req.param("id"));
    if (!ctx) return c.json({ code: "ContextNotFound", message: "no such context", requestId: "stub" }, 404);
    return c.json({ contextId: ctx.id, headGeneration: ctx.headGeneration });
  });
  app.get("/v1/agent/contexts/:id/files", async (c) => {
    const files = await s.meta.listLiveFiles(c.req.param("id"), c.req.query("prefix") ?? "/", Date.now());
    return c.json({ files });
  });
  app.get("/v1/agent/bases", async (c) => {
    const base = await s.meta.getBase(s.sessionId, c.req.query("path") ?? "/");
    return c.json({ entries: [...base.values()] });
  });
  app.post("/v1/agent/bases", async (c) => {
    const body = await c.req.json<{ mountPath: string; upserts: []; deletes: [] }>();
    await s.meta.updateBase({ sessionId: s.sessionId, ...body });
    return c.body(null, 204);
  });
  app.post("/v1/agent/commits", async (c) => {
    const body = await c.req.json<{ contextId: string; expectedHead: number; changes: []; base?: { mountPath: string; upserts: []; deletes: [] } }>();
    const generation = await s.meta.commitGeneration({
      contextId: body.contextId,
      expectedHead: body.expectedHead,
      sessionId: s.sessionId,
      timeMs: Date.now(),
      changes: body.changes,
      base: body.base ? { sessionId: s.sessionId, ...body.base } : undefined,
    });
    return c.json({ generation });
  });
  // The batch routes run the server's own batch logic (service/blob-batches.ts) over the stub's stores.
  app.post("/v1/agent/blobs/missing", async (c) => {
    const { digests } = await c.req.json<{ digests: string[] }>();
    return c.json({ missing: await missingBlobs(s.blobs, digests) });
  });
  app.post("/v1/agent/blobs/batch", async (c) => {
    const frames = decodeUploadFrames(requestBody(c));
    const result = await storeBlobs(
      s.blobs,
      (async function* () {
        for await (const f of frames) {
          s.batched.push(f.digest);
          yield f;
        }
      })(),
    );
    return c.json(result);
  });
  app.post("/v1/agent/blobs/unnamed", async (c) => {
    const blobs = decodeUnnamedFrames(requestBody(c));
    const result = await storeUnnamedBlobs(
      s.blobs,
      (async function* () {
        for await (const bytes of blobs) {
          s.batched.push("unnamed");
          yield bytes;
        }
      })(),
    );
    return c.json(result);
  });
  app.post("/v1/agent/blobs/fetch", async (c) => {
    const { digests } = await c.req.json<{ digests: string[] }>();
    const results = readBlobs(s.blobs, digests, { has: () => true });
    const body = Readable.from(encodeBlobFrames(results));
    return new Response(Readable.toWeb(body) as ReadableStream, { headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
  });
  app.get("/v1/agent/blobs/:digest", async (c) => {
    const digest = c.req.param("digest");
    // Hono answers HEAD with the GET handler (and drops the body): HEAD is told apart here.
    if (c.req.method === "HEAD") return c.body(null, (await s.blobs.touch(digest)) ? 200 : 404);
    let stream: Readable;
    try {
      stream = await s.blobs.get(digest);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return c.json({ code: "BlobNotFound", message: "no such blob", requestId: "stub" }, 404);
      throw err;
    }
    return new Response(Readable.toWeb(stream) as ReadableStream, { headers: { "content-type": "application/octet-stream" } });
  });
  app.post("/v1/agent/blobs", async (c) => {
    const length = Number(c.req.header("content-length"));
    if (!Number.isSafeInteger(length)) throw new InvalidParameterError("POST needs Content-Length");
    return c.json(await s.blobs.putUnnamed(requestBody(c), length));
  });
  app.put("/v1/agent/blobs/:digest", async (c) => {
    const length = Number(c.req.header("content-length"));
    if (!Number.isSafeInteger(length)) throw new InvalidParameterError("PUT needs Content-Length");
    await s.blobs.put(c.req.param("digest"), requestBody(c), length);
    return c.body(null, 204);
  });
  return app;
}
