import { Readable } from "node:stream";
import { createRoute, z } from "@hono/zod-openapi";
import {
  AgentPoll,
  AgentPollQuery,
  AGENT_FEATURES,
  AgentSession,
  BaseList,
  BaseUpdateBody,
  CommitBody,
  isPlainBaseUpdate,
  isPlainCommitBody,
  isPlainDigestsBody,
  unpackBaseUpserts,
  CommitResult,
  BLOB_FRAMES_CONTENT_TYPE,
  ContextHead,
  encodeBlobFrames,
  decodeUploadFrames,
  decodeUnnamedFrames,
  DigestsBody,
  ErrorBody,
  MissingBlobs,
  StoredBlobs,
  UnnamedBlobsStored,
  UnnamedBlobStored,
  FileRecordList,
  MountPathQuery,
  PrefixQuery,
  TaskFinishBody,
  TaskProgressBody,
} from "../api/index.js";
import { InvalidParameterError, PayloadTooLargeError } from "../errors/index.js";
import type { AppDeps } from "./app-deps.js";
import { requestBody, streamResponse } from "./node-streams.js";
import {
  commonErrors, unsupportedMedia,
  conflict,
  DigestParams,
  IdParams,
  json,
  jsonBody,
  noContent,
  notFound,
  octets,
  sessionTokenSecurity,
  type App,
} from "./openapi-parts.js";

const tags = ["agent"];
const base = { tags, security: sessionTokenSecurity };
/** Told to every agent that attaches, so a newer agent uses nothing this server would not understand. */
const SERVER_AGENT_FEATURES = Object.values(AGENT_FEATURES);

/**
 * /v1/agent: what the agent of an external session does with its session token (AgentService): claim
 * and finish tasks, and the store calls of the engine's upload and download, limited to the session's
 * scope. Every call counts as a heartbeat (auth.ts).
 */
export function registerAgentRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/session",
      summary: "The token's session: status and mounts",
      responses: { 200: json(AgentSession, "The session"), ...commonErrors },
    }),
    async (c) => c.json({ ...(await c.get("agent").describe()), features: SERVER_AGENT_FEATURES, maxFileBytes: deps.options.maxFileBytes }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/session",
      summary: "Attach an agent: tasks an earlier agent of this session left Running are offered again",
      description: "An agent calls this once when it starts. One agent per session: a second one attaching takes over the first one's unfinished tasks.",
      responses: { 200: json(AgentSession, "The session"), ...commonErrors },
    }),
    async (c) => c.json({ ...(await c.get("agent").attach()), features: SERVER_AGENT_FEATURES, maxFileBytes: deps.options.maxFileBytes }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/tasks",
      summary: "Long poll: claim the session's Pending tasks",
      description:
        "Marks Pending tasks Running and returns them with their mount; waits up to waitSeconds (default 20) for some. Returns no tasks once the session is no longer running or releasing: the agent should then exit.",
      request: { query: AgentPollQuery },
      responses: { 200: json(AgentPoll, "Claimed tasks (maybe none) and the session status"), ...commonErrors },
    }),
    async (c) => {
      const signal = AbortSignal.any([deps.stopping, c.req.raw.signal]);
      const poll = await c.get("agent").claimTasks(c.req.valid("query").waitSeconds ?? 20, signal);
      return c.json(poll, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/tasks/{id}/progress",
      summary: "Report a Running task's progress",
      request: { params: IdParams, body: jsonBody(TaskProgressBody) },
      responses: { ...noContent, ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      await c.get("agent").reportProgress(c.req.valid("param").id, c.req.valid("json"));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/tasks/{id}/finish",
      summary: "End a Running task as Success or Failed",
      request: { params: IdParams, body: jsonBody(TaskFinishBody) },
      responses: { ...noContent, ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await c.get("agent").finishTask(c.req.valid("param").id, body.status, body.errorMessage);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/contexts/{id}",
      summary: "Head generation of a context the session syncs",
      request: { params: IdParams },
      responses: { 200: json(ContextHead, "The head"), ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => c.json(await c.get("agent").getContextHead(c.req.valid("param").id), 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/contexts/{id}/files",
      summary: "Live files under a prefix inside one of the session's namespaces",
      request: { params: IdParams, query: PrefixQuery },
      responses: { 200: json(FileRecordList, "Live files ordered by key"), ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      const files = await c.get("agent").listLiveFiles(c.req.valid("param").id, c.req.valid("query").prefix);
      return c.json({ files }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/bases",
      summary: "The session's base of one synced path",
      request: { query: MountPathQuery },
      responses: { 200: json(BaseList, "Base entries"), ...commonErrors, ...conflict },
    }),
    async (c) => c.json({ entries: await c.get("agent").getBase(c.req.valid("query").path) }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/bases",
      summary: "Update the session's base of one synced path (after a download)",
      request: { body: jsonBody(BaseUpdateBody, isPlainBaseUpdate) },
      responses: { ...noContent, ...commonErrors, ...unsupportedMedia, ...conflict },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await c.get("agent").updateBase(body.mountPath, body.upserts, body.deletes);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/commits",
      summary: "Commit a generation (409 CommitConflict when the head moved)",
      description: "The server stamps the commit with the session and its own time. Every blob a put names must be stored first.",
      request: { body: jsonBody(CommitBody, isPlainCommitBody) },
      responses: { 200: json(CommitResult, "The new generation (the head when nothing changed)"), ...commonErrors, ...unsupportedMedia, ...notFound, ...conflict },
    }),
    async (c) => {
      const { base, ...commit } = c.req.valid("json");
      const generation = await c.get("agent").commit({
        ...commit,
        base: base && { mountPath: base.mountPath, upserts: unpackBaseUpserts(commit.changes, base), deletes: base.deletes },
      });
      return c.json({ generation }, 200);
    },
  );

  registerBlobBatchRoutes(app, deps);

  // HEAD is served by the GET handler (hono dispatches HEAD as GET); it is documented on its own.
  app.openAPIRegistry.registerPath({
    ...base,
    method: "head",
    path: "/v1/agent/blobs/{digest}",
    summary: "Whether a blob is stored; refreshes it so garbage collection keeps it (BlobStore.touch)",
    request: { params: DigestParams },
    responses: {
      200: { description: "Stored" },
      404: { description: "Not stored, or not this session's to name" },
      401: { description: "Unauthorized" },
      409: { description: "The session is not running (SessionNotActive)" },
      503: { description: "The server's storage is unavailable" },
    },
  });

  app.openapi(
    createRoute({
      ...base,
      method: "get",
      path: "/v1/agent/blobs/{digest}",
      summary: "A blob some version of a context of the session references, verified",
      request: { params: DigestParams },
      responses: { 200: { description: "The bytes", content: octets }, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      const { digest } = c.req.valid("param");
      const agent = c.get("agent");
      if (c.req.method === "HEAD") return c.body(null, (await agent.touchBlob(digest)) ? 200 : 404);
      const body = await agent.getBlob(digest);
      return streamResponse(c, body, { "Content-Type": "application/octet-stream" }, deps.log);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "put",
      path: "/v1/agent/blobs/{digest}",
      summary: "Store a blob under its SHA-256 (Content-Length required; verified, 422 on mismatch)",
      request: { params: DigestParams, body: { content: octets, required: true } },
      responses: { ...noContent, ...commonErrors, ...conflict, 422: json(ErrorBody, "The bytes do not hash to the digest (BlobDigestMismatch)") },
    }),
    async (c) => {
      const sizeBytes = announcedBlobSize(c.req.header("content-length"), deps.options.maxFileBytes);
      await c.get("agent").putBlob(c.req.valid("param").digest, requestBody(c), sizeBytes);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/blobs",
      summary: "Store one blob sent without its digest: the server hashes it and answers with the digest (Content-Length required)",
      description:
        "For servers that list the `blobs.unnamedStream` feature: the large-file counterpart of /v1/agent/blobs/unnamed, for content the agent expects the server not to have. " +
        "The bytes are hashed here as they arrive, which names them; sending them entitles the session to name the blob in a commit.",
      request: { body: { content: octets, required: true } },
      responses: { 200: json(UnnamedBlobStored, "The digest the bytes were stored under"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      const sizeBytes = announcedBlobSize(c.req.header("content-length"), deps.options.maxFileBytes);
      return c.json(await c.get("agent").putUnnamedBlob(requestBody(c), sizeBytes), 200);
    },
  );
}

/** Batch blob transfers: many small blobs per request instead of one request (or two) per blob. */
function registerBlobBatchRoutes(app: App, deps: AppDeps): void {
  const frames = { [BLOB_FRAMES_CONTENT_TYPE]: { schema: z.string().openapi({ type: "string", format: "binary" }) } };

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/blobs/missing",
      summary: "Which of these blobs are not stored; refreshes the stored ones so garbage collection keeps them",
      request: { body: jsonBody(DigestsBody, isPlainDigestsBody) },
      responses: { 200: json(MissingBlobs, "The digests not stored, in the order given"), ...commonErrors, ...unsupportedMedia, ...conflict },
    }),
    async (c) => c.json({ missing: await c.get("agent").missingBlobs(c.req.valid("json").digests) }, 200),
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/blobs/batch",
      summary: "Store many small blobs sent as blob frames (each ≤ 1 MiB, verified; refused ones are listed)",
      description:
        "The body is a sequence of frames: 32-byte raw SHA-256, status byte 0, 4-byte big-endian size, then the bytes (see src/api/blob-frames.ts). " +
        "Blobs are stored as they arrive. A blob whose bytes do not hash to its digest is listed under `failed` (BlobDigestMismatch) and not stored; " +
        "a malformed body is 400 and the blobs before the error stay stored.",
      request: { body: { content: frames, required: true } },
      responses: { 200: json(StoredBlobs, "How many blobs were stored, and which were refused"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      return c.json(await c.get("agent").putBlobs(decodeUploadFrames(requestBody(c))), 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/blobs/unnamed",
      summary: "Store many small blobs sent without digests: the server hashes each and answers with the digests",
      description:
        "For servers that list the `blobs.unnamed` feature. The body is blob frames with status byte 3 and a zero digest (see /v1/agent/blobs/batch). " +
        "Each blob is hashed here, which both names and checks it, and stored as it arrives; the answer gives every blob's digest in order. " +
        "An agent sends this way the files it expects the server not to have (asking first would cost a hash on each side and a round trip). " +
        "A malformed body is 400 and the blobs before the error stay stored.",
      request: { body: { content: frames, required: true } },
      responses: { 200: json(UnnamedBlobsStored, "The digest of each blob, and which were refused"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      return c.json(await c.get("agent").putUnnamedBlobs(decodeUnnamedFrames(requestBody(c))), 200);
    },
  );

  app.openapi(
    createRoute({
      ...base,
      method: "post",
      path: "/v1/agent/blobs/fetch",
      summary: "Many small blobs as blob frames, in the order asked",
      description:
        "One frame per digest: status 0 with the bytes, 1 when no version of the session's contexts references it (or it is not stored), " +
        "2 when the server cannot hand it out (its stored bytes no longer match, or it cannot read them). Blobs over 1 MiB must be fetched one by one.",
      request: { body: jsonBody(DigestsBody, isPlainDigestsBody) },
      responses: { 200: { description: "Blob frames", content: frames }, ...commonErrors, ...unsupportedMedia, ...conflict },
    }),
    async (c) => {
      const results = await c.get("agent").readBlobs(c.req.valid("json").digests);
      const body = Readable.from(encodeBlobFrames(results));
      return streamResponse(c, body, { "Content-Type": BLOB_FRAMES_CONTENT_TYPE }, deps.log);
    },
  );
}

/** A blob upload's Content-Length: required (the exact byte count), and within the server's limit. */
function announcedBlobSize(length: string | undefined, maxFileBytes: number): number {
  if (length === undefined || !/^[0-9]{1,15}$/.test(length)) {
    throw new InvalidParameterError("A blob upload needs a Content-Length header with the exact byte count.");
  }
  const sizeBytes = Number(length);
  if (sizeBytes > maxFileBytes) throw new PayloadTooLargeError(maxFileBytes, "The blob");
  return sizeBytes;
}
