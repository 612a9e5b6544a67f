import { compileErrors, validate } from "@readme/openapi-parser";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../api/index.js";
import { openTestServer, type TestServer } from "./test-server.js";

/** Every method and path of src/api/paths.ts, as OpenAPI templates: what the server must serve and document. */
const EXPECTED_ROUTES = [
  ["post", apiPaths.contexts],
  ["get", apiPaths.contexts],
  ["get", apiPaths.context("{id}")],
  ["patch", apiPaths.context("{id}")],
  ["delete", apiPaths.context("{id}")],
  ["get", apiPaths.contextFiles("{id}")],
  ["delete", apiPaths.contextFiles("{id}")],
  ["post", apiPaths.contextFileUrls("{id}")],
  ["post", apiPaths.contextClear("{id}")],
  ["get", apiPaths.contextClear("{id}")],
  ["get", apiPaths.contextGenerations("{id}")],
  ["post", apiPaths.contextRestore("{id}")],
  ["put", apiPaths.signedFile("{contextId}")],
  ["get", apiPaths.signedFile("{contextId}")],
  ["post", apiPaths.sessions],
  ["get", apiPaths.sessions],
  ["get", apiPaths.session("{id}")],
  ["delete", apiPaths.session("{id}")],
  ["post", apiPaths.sessionSync("{id}")],
  ["get", apiPaths.sessionTasks("{id}")],
  ["post", apiPaths.sessionBindings("{id}")],
  ["get", apiPaths.sessionBindings("{id}")],
  ["get", apiPaths.agentSession],
  ["post", apiPaths.agentSession],
  ["get", apiPaths.agentTasks],
  ["post", apiPaths.agentTaskProgress("{id}")],
  ["post", apiPaths.agentTaskFinish("{id}")],
  ["get", apiPaths.agentContext("{id}")],
  ["get", apiPaths.agentContextFiles("{id}")],
  ["get", apiPaths.agentBases],
  ["post", apiPaths.agentBases],
  ["post", apiPaths.agentCommits],
  ["head", apiPaths.agentBlob("{digest}")],
  ["get", apiPaths.agentBlob("{digest}")],
  ["put", apiPaths.agentBlob("{digest}")],
  ["post", apiPaths.agentBlobsMissing],
  ["post", apiPaths.agentBlobs],
  ["post", apiPaths.agentBlobsBatch],
  ["post", apiPaths.agentBlobsUnnamed],
  ["post", apiPaths.agentBlobsFetch],
  ["post", apiPaths.adminKeys],
  ["get", apiPaths.adminKeys],
  ["delete", apiPaths.adminKey("{id}")],
].map(([method, path]) => `${method} ${decodeURIComponent(path!)}`);

describe("/v1/openapi.json", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer();
  });
  afterEach(() => t.close());

  const fetchDoc = async () => t.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>("GET", apiPaths.openapi);

  it("is served without a key and validates as OpenAPI 3", async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toMatch(/^3\./);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("lists exactly the routes of src/api/paths.ts", async () => {
    const doc = await fetchDoc();
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual([...EXPECTED_ROUTES].sort());
  });

  it("declares a bearer security scheme on every route but the signed file URLs", async () => {
    const doc = await fetchDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const security = (op as { security?: unknown[] }).security;
        if (path.startsWith("/v1/files/")) expect(security, `${method} ${path}`).toBeUndefined();
        else expect(security, `${method} ${path}`).toHaveLength(1);
      }
    }
  });

  it("lists 503 on every route, and 415 on every route that takes a JSON body", async () => {
    const doc = await fetchDoc();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const { responses, requestBody } = op as { responses: Record<string, unknown>; requestBody?: { content: Record<string, unknown> } };
        expect(responses, `${method} ${path}`).toHaveProperty("503");
        if (requestBody?.content["application/json"]) expect(responses, `${method} ${path}`).toHaveProperty("415");
      }
    }
  });

  it("answers a JSON route's body of another type with 415 and says what to send", async () => {
    const res = await t.request("POST", apiPaths.contexts, { key: t.keyA, body: JSON.stringify({ name: "x" }), headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "UnsupportedMediaType", message: expect.stringContaining('"Content-Type: application/json" (this request had "text/plain")') });
    expect((await t.json<{ contexts: unknown[] }>("GET", apiPaths.contexts, { key: t.keyA })).contexts).toEqual([]);
  });
});
