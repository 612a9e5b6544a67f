import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../api/index.js";
import { openTestServer, type TestServer } from "./test-server.js";

interface Ctx {
  id: string;
  name: string;
  state: string;
}

describe("/v1/contexts", () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await openTestServer();
  });
  afterEach(() => t.close());

  const create = (name: string) => t.json<Ctx>("POST", apiPaths.contexts, { key: t.keyA, json: { name } });
  const putFile = async (contextId: string, path: string, content: string) => {
    const { url } = await t.json<{ url: string }>("POST", apiPaths.contextFileUrls(contextId), { key: t.keyA, json: { path, method: "PUT" } });
    expect((await t.app.request(url, { method: "PUT", body: content })).status).toBe(200);
  };
  const files = async (contextId: string, parent = "/") =>
    (await t.json<{ entries: { filePath: string }[] }>("GET", `${apiPaths.contextFiles(contextId)}?parent=${parent}`, { key: t.keyA })).entries.map((e) => e.filePath);

  it("creates a context once per name, gets, renames and deletes it", async () => {
    const a = await create("notes");
    expect(a).toMatchObject({ name: "notes", state: "available", id: expect.stringMatching(/^ctx-/) });
    expect(await create("notes")).toEqual(a);
    expect(await t.json("GET", apiPaths.context(a.id), { key: t.keyA })).toEqual(a);
    expect(await t.json("PATCH", apiPaths.context(a.id), { key: t.keyA, json: { name: "renamed" } })).toMatchObject({ id: a.id, name: "renamed" });
    const b = await create("other");
    const clash = await t.request("PATCH", apiPaths.context(b.id), { key: t.keyA, json: { name: "renamed" } });
    expect(clash.status).toBe(409);
    expect(await clash.json()).toMatchObject({ code: "ContextNameConflict" });
    expect((await t.request("DELETE", apiPaths.context(a.id), { key: t.keyA })).status).toBe(204);
    expect((await t.request("GET", apiPaths.context(a.id), { key: t.keyA })).status).toBe(404);
  });

  it("lists in pages with nextToken, and finds one by name", async () => {
    for (const n of ["c1", "c2", "c3"]) await create(n);
    const first = await t.json<{ contexts: Ctx[]; nextToken?: string; totalCount: number; maxResults: number }>("GET", `${apiPaths.contexts}?maxResults=2`, { key: t.keyA });
    expect(first).toMatchObject({ totalCount: 3, maxResults: 2 });
    expect(first.contexts.map((c) => c.name)).toEqual(["c1", "c2"]);
    const second = await t.json<{ contexts: Ctx[]; nextToken?: string }>("GET", `${apiPaths.contexts}?maxResults=2&nextToken=${first.nextToken}`, { key: t.keyA });
    expect(second.contexts.map((c) => c.name)).toEqual(["c3"]);
    expect(second.nextToken).toBeUndefined();
    expect((await t.json<{ contexts: Ctx[] }>("GET", `${apiPaths.contexts}?name=c2`, { key: t.keyA })).contexts.map((c) => c.name)).toEqual(["c2"]);
    expect((await t.json<{ contexts: Ctx[] }>("GET", `${apiPaths.contexts}?name=none`, { key: t.keyA })).contexts).toEqual([]);
    const bad = await t.request("GET", `${apiPaths.contexts}?maxResults=0`, { key: t.keyA });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringMatching(/query\.maxResults/) });
  });

  it("rejects a body that is not JSON with 400 and says why", async () => {
    const res = await t.request("POST", apiPaths.contexts, { key: t.keyA, body: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringMatching(/JSON/) });
  });

  it("clears a context in the background: clearing at once, available later, files gone, id and history kept", async () => {
    const ctx = await create("big");
    for (let i = 0; i < 5; i++) await putFile(ctx.id, `/d/f${i}.txt`, `file ${i}`);
    const started = await t.json<{ contextId: string; status: string }>("POST", apiPaths.contextClear(ctx.id), { key: t.keyA });
    expect(started).toEqual({ contextId: ctx.id, status: "clearing" });
    let status = "clearing";
    while (status === "clearing") {
      status = (await t.json<{ status: string }>("GET", apiPaths.contextClear(ctx.id), { key: t.keyA })).status;
      if (status === "clearing") await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe("available");
    expect(await files(ctx.id)).toEqual([]);
    expect(await t.json("GET", apiPaths.context(ctx.id), { key: t.keyA })).toMatchObject({ id: ctx.id, name: "big", state: "available" });
    const gens = await t.json<{ generations: { generation: number; removed: number }[] }>("GET", apiPaths.contextGenerations(ctx.id), { key: t.keyA });
    expect(gens.generations[0]).toEqual(expect.objectContaining({ generation: 6, removed: 5 }));
    // History survives a clear: restore brings the files back.
    expect(await t.json("POST", apiPaths.contextRestore(ctx.id), { key: t.keyA, json: { generation: 5 } })).toEqual({ generation: 7 });
    expect(await files(ctx.id, "/d")).toHaveLength(5);
  });

  it("resumes a clear that a stopped server left unfinished", async () => {
    const ctx = await create("half");
    await putFile(ctx.id, "/a.txt", "a");
    await t.stores.meta.setContextState(ctx.id, "clearing");
    const { ServerJobs } = await import("./jobs.js");
    const jobs = new ServerJobs({ ...t.deps, gc: { retentionMs: 1, minBlobAgeMs: 1 } });
    jobs.start();
    try {
      while ((await t.json<{ status: string }>("GET", apiPaths.contextClear(ctx.id), { key: t.keyA })).status === "clearing") {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await jobs.stop();
    }
    expect(await t.json("GET", apiPaths.context(ctx.id), { key: t.keyA })).toMatchObject({ state: "available" });
    expect(await files(ctx.id)).toEqual([]);
  });

  it("deletes one file, and deleting a missing file is no error", async () => {
    const ctx = await create("f");
    await putFile(ctx.id, "/a.txt", "a");
    await putFile(ctx.id, "/b.txt", "b");
    expect((await t.request("DELETE", `${apiPaths.contextFiles(ctx.id)}?path=/a.txt`, { key: t.keyA })).status).toBe(204);
    expect((await t.request("DELETE", `${apiPaths.contextFiles(ctx.id)}?path=/a.txt`, { key: t.keyA })).status).toBe(204);
    expect(await files(ctx.id)).toEqual(["/b.txt"]);
  });
});
