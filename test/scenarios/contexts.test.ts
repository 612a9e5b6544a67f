import { describe, expect, it } from "vitest";
import { CLIENT_KINDS, useClientHarness } from "../helpers/client-harness.js";
import { listAllKeys } from "../helpers/list-all-files.js";
import { writeTree } from "../helpers/tree.js";

describe.each(CLIENT_KINDS)("contexts (%s client)", (kind) => {
  const h = useClientHarness(kind);

  it("creates, gets, renames and deletes, with the same results and error codes", async () => {
    const c = h().client.context;
    const created = await c.create("crud");
    expect(created).toMatchObject({ success: true, context: { name: "crud", state: "available" } });
    expect(created.context?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await c.get("crud")).contextId).toBe(created.contextId);
    expect((await c.create("crud")).contextId).toBe(created.contextId); // create is get(name, true)
    const missing = await c.get("missing");
    expect(missing).toMatchObject({ success: false, errorCode: "ContextNotFound", contextId: "" });
    expect(missing.errorMessage).toBe('[ContextNotFound] Context "missing" not found. Create it (context.create(name), or `ctxsync context create NAME`) or check the id.');
    expect(await c.get("  ")).toMatchObject({ success: false, errorMessage: "[InvalidParameter] A context name must be a non-empty string." });

    const ctx = created.context!;
    ctx.name = "renamed";
    expect(await c.update(ctx)).toMatchObject({ success: true, data: true });
    expect((await c.get("renamed")).contextId).toBe(created.contextId);
    await c.create("taken");
    ctx.name = "taken";
    const conflict = await c.update(ctx);
    expect(conflict).toMatchObject({ success: false, errorCode: "ContextNameConflict" });
    expect(conflict.errorMessage).toBe('[ContextNameConflict] A context named "taken" already exists; context names are unique. Choose another name.');

    expect((await c.delete(ctx)).success).toBe(true);
    expect((await c.get("renamed")).success).toBe(false);
    expect(await c.delete(ctx)).toMatchObject({ success: false, errorCode: "ContextNotFound" });
  });

  it("an id that is empty, . or .. is an unknown id, whichever call names it", async () => {
    const c = h().client.context;
    for (const id of ["", ".", ".."]) {
      expect(await c.listFiles(id, "/"), JSON.stringify(id)).toMatchObject({ success: false, errorCode: "ContextNotFound" });
      expect(await c.getClearStatus(id), JSON.stringify(id)).toMatchObject({ success: false, errorCode: "ContextNotFound" });
      expect(await c.restore(id, 1), JSON.stringify(id)).toMatchObject({ success: false, errorCode: "ContextNotFound" });
      expect(await h().client.get(id), JSON.stringify(id)).toMatchObject({ success: false, errorCode: "SessionNotFound" });
    }
  });

  it("lists 15 contexts 10, 5 and 20 at a time, and page 2 via nextToken", async () => {
    for (let i = 0; i < 15; i++) await h().newContext(`page-${String(i).padStart(2, "0")}`);
    const c = h().client.context;
    const first = await c.list({ maxResults: 10 });
    expect(first).toMatchObject({ success: true, maxResults: 10, totalCount: 15 });
    expect(first.contexts).toHaveLength(10);
    expect(first.nextToken).toBeTruthy();
    expect((await c.list({ maxResults: 5 })).contexts).toHaveLength(5);
    expect((await c.list({ maxResults: 20 })).contexts).toHaveLength(15);
    const second = await c.list({ maxResults: 10, nextToken: first.nextToken });
    expect(second.contexts.map((x) => x.name)).toEqual(["page-10", "page-11", "page-12", "page-13", "page-14"]);
    expect(second.nextToken).toBeUndefined();
    expect((await c.list()).contexts).toHaveLength(10);
    expect(await c.list({ nextToken: "garbage" })).toMatchObject({ success: false, errorCode: "InvalidParameter" });
  });

  it("a context a running session mounts reads in-use, and available again once the session is released", async () => {
    const a = await h().newContext("a");
    await h().newContext("b");
    const s = await h().session("ra", [[a, "/data"]]);
    expect((await h().client.context.get("a")).context).toMatchObject({ state: "in-use" });
    expect((await h().client.context.list()).contexts.map((c) => [c.name, c.state])).toEqual([
      ["a", "in-use"],
      ["b", "available"],
    ]);
    expect((await h().client.context.list({ sessionId: s.sessionId })).contexts.map((c) => c.state)).toEqual(["in-use"]);
    // Clearing is about the files: its status ends available whether or not the context is mounted.
    expect(await h().client.context.clear(a, 10, 0.05)).toMatchObject({ success: true, status: "available" });
    await s.delete();
    expect((await h().client.context.get("a")).context).toMatchObject({ state: "available" });
  });

  it("refuses bad page sizes, page numbers, generations and labels with the same words from both clients", async () => {
    const c = h().client.context;
    const ctx = await h().newContext();
    const refused = async (r: Promise<{ success: boolean; errorMessage?: string }>, message: string) =>
      expect(await r).toMatchObject({ success: false, errorCode: "InvalidParameter", errorMessage: `[InvalidParameter] ${message}` });
    await refused(c.list({ maxResults: "3" as never }), 'maxResults must be a whole number from 1 to 1000; got "3".');
    await refused(c.list({ maxResults: 1001 }), "maxResults must be a whole number from 1 to 1000; got 1001.");
    await refused(c.listFiles(ctx, "/", 0), "pageNumber must be a whole number from 1; got 0.");
    await refused(c.listFiles(ctx, "/", 1, 2.5), "pageSize must be a whole number from 1 to 1000; got 2.5.");
    await refused(c.log(ctx, 0), "limit must be a whole number from 1 to 1000; got 0.");
    await refused(c.restore(ctx, 1.5), "A generation is a whole number (see context.log); got 1.5.");
    const created = await h().client.create({ root: `${h().dir}/labels`, labels: { team: 1 as never } });
    expect(created).toMatchObject({ success: false, errorCode: "InvalidParameter", errorMessage: '[InvalidParameter] Label "team" must have a string value; got a number.' });
  });

  it("lists a session's contexts", async () => {
    const a = await h().newContext("a");
    await h().newContext("b");
    const s = await h().session("ra", [[a, "/data"]]);
    const r = await h().client.context.list({ sessionId: s.sessionId });
    expect(r.contexts.map((c) => c.name)).toEqual(["a"]);
  });

  it("refuses file keys with .. or NUL, and deletes a file as a new generation", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "f.txt": "f", "g.txt": "g" });
    expect((await s.context.sync()).success).toBe(true);
    for (const bad of ["/data/../data/f.txt", "/data/f.txt\0", "/data//f.txt", `/${"a".repeat(5000)}`, `/${"a".repeat(70_000)}`]) {
      expect(await h().client.context.deleteFile(ctx, bad)).toMatchObject({ success: false, errorCode: "InvalidKey" });
      expect(await h().client.context.listFiles(ctx, bad)).toMatchObject({ success: false, errorCode: "InvalidKey" });
    }
    expect(await h().client.context.deleteFile(ctx, "")).toMatchObject({ success: false, errorCode: "InvalidKey", errorMessage: expect.stringContaining("it is empty") });
    expect((await h().client.context.deleteFile(ctx, "/data/f.txt")).success).toBe(true);
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["g.txt"]);
    const log = await h().client.context.log(ctx);
    expect(log.generations.map((g) => [g.generation, g.added, g.removed])).toEqual([
      [2, 0, 1],
      [1, 2, 0],
    ]);
    expect(await h().client.context.restore(ctx, 1)).toMatchObject({ success: true, generation: 3 });
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["f.txt", "g.txt"]);
    for (const missing of [0, -1, 99]) {
      expect(await h().client.context.restore(ctx, missing), String(missing)).toMatchObject({ success: false, errorCode: "GenerationNotFound" });
    }
    // An empty path is the whole context.
    expect(await h().client.context.restore(ctx, 2, { path: "" })).toMatchObject({ success: true, generation: 4 });
    expect((await h().client.context.listFiles(ctx, "/data")).entries.map((e) => e.fileName)).toEqual(["g.txt"]);
  });

  it("deleteFile refuses a folder, says what to do, and changes nothing; a missing file is no error", async () => {
    const ctx = await h().newContext();
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { sub: { "a.txt": "a" }, "subx.txt": "x" });
    expect((await s.context.sync()).success).toBe(true);
    const r = await h().client.context.deleteFile(ctx, "/data/sub");
    expect(r).toMatchObject({ success: false, errorCode: "InvalidParameter" });
    expect(r.errorMessage).toContain("/data/sub is a folder in this context (it holds /data/sub/a.txt); deleteFile deletes one file");
    expect(await h().client.context.deleteFile(ctx, "/data/su")).toMatchObject({ success: true });
    expect((await h().client.context.log(ctx)).generations).toHaveLength(1);
    expect(await listAllKeys(h().client, ctx, "/data")).toEqual(["/data/sub/a.txt", "/data/subx.txt"]);
  });

  it("clear() removes every file, keeps the context, and waits until it is available", async () => {
    const ctx = await h().newContext("to-clear");
    const s = await h().session("ra", [[ctx, "/data"]]);
    writeTree(h().local("ra", "/data"), { "a.txt": "a", sub: { "b.txt": "b" } });
    await s.context.sync();
    const started = await h().client.context.clearAsync(ctx);
    expect(started).toMatchObject({ success: true, contextId: ctx, status: "clearing" });
    const cleared = await h().client.context.clear(ctx, 10, 0.05);
    expect(cleared).toMatchObject({ success: true, contextId: ctx, status: "available" });
    expect((await h().client.context.listFiles(ctx, "/data")).entries).toEqual([]);
    expect((await h().client.context.get("to-clear")).contextId).toBe(ctx);
    expect(await h().client.context.clearAsync("ctx-nope")).toMatchObject({ success: false, errorCode: "ContextNotFound" });
  });
});
