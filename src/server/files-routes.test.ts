import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths } from "../api/index.js";
import { openTestServer, type TestServer } from "./test-server.js";

describe("signed file URLs", () => {
  let t: TestServer;
  let ctx: string;
  beforeEach(async () => {
    t = await openTestServer({ options: { maxFileBytes: 1024 } });
    ctx = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyA, json: { name: "docs" } })).id;
  });
  afterEach(() => t.close());

  const sign = (path: string, method: "GET" | "PUT", extra: Record<string, unknown> = {}, key = t.keyA) =>
    t.json<{ url: string; expireTime: number }>("POST", apiPaths.contextFileUrls(ctx), { key, json: { path, method, ...extra } });
  const put = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    t.app.request(url, { method: "PUT", body: new Uint8Array(Buffer.from(body)), headers });
  const get = (url: string) => t.app.request(url, { method: "GET" });
  const listed = async (parent: string) =>
    (await t.json<{ entries: { filePath: string; size: number }[] }>("GET", `${apiPaths.contextFiles(ctx)}?parent=${encodeURIComponent(parent)}`, { key: t.keyA })).entries;
  /** The URL with one query parameter's value replaced. */
  const withParam = (url: string, name: string, value: string) => {
    const u = new URL(url);
    u.searchParams.set(name, value);
    return u.toString();
  };

  it("uploads with PUT, downloads the same bytes with GET, lists the file, and 404s after deleteFile", async () => {
    const up = await sign("/data/notes/a.txt", "PUT");
    expect(up.url).toMatch(/^http:\/\/localhost\/v1\/files\/ctx-/);
    expect(up.expireTime).toBeGreaterThan(Date.now() / 1000 + 3500);
    const putRes = await put(up.url, "hello, world");
    expect(putRes.status).toBe(200);
    expect(putRes.headers.get("etag")).toMatch(/^"[0-9a-f]{64}"$/);

    const down = await sign("/data/notes/a.txt", "GET");
    const getRes = await get(down.url);
    expect(getRes.status).toBe(200);
    expect(await getRes.text()).toBe("hello, world");
    expect(await listed("/data/notes")).toMatchObject([{ filePath: "/data/notes/a.txt", size: 12 }]);
    expect(await listed("/data")).toMatchObject([{ filePath: "/data/notes", size: 12 }]);

    const del = await t.request("DELETE", `${apiPaths.contextFiles(ctx)}?path=/data/notes/a.txt`, { key: t.keyA });
    expect(del.status).toBe(204);
    const gone = await get(down.url);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: "FileNotFound" });
  });

  it("replaces the file when a second PUT writes it again", async () => {
    const up = await sign("/f.bin", "PUT");
    expect((await put(up.url, "first")).status).toBe(200);
    expect((await put(up.url, "second version")).status).toBe(200);
    expect(await (await get((await sign("/f.bin", "GET")).url)).text()).toBe("second version");
    const gens = await t.json<{ generations: { added: number; changed: number }[] }>("GET", apiPaths.contextGenerations(ctx), { key: t.keyA });
    expect(gens.generations).toMatchObject([{ added: 0, changed: 1 }, { added: 1, changed: 0 }]);
  });

  it("refuses (400) a file where the context has a folder, below a file, or at / itself, keeping the context downloadable", async () => {
    expect((await put((await sign("/w/a/b.txt", "PUT")).url, "inner")).status).toBe(200);
    for (const path of ["/w/a", "/w/a/b.txt/c", "/"]) {
      const res = await put((await sign(path, "PUT")).url, "clash");
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: "InvalidKey" });
    }
    expect((await listed("/w/a")).map((e) => e.filePath)).toEqual(["/w/a/b.txt"]);
    expect((await put((await sign("/w/ab", "PUT")).url, "a sibling is fine")).status).toBe(200);
  });

  it("normalises the signed path, so a Windows path names the same file", async () => {
    expect((await put((await sign("C:\\Users\\A\\f.txt", "PUT")).url, "win")).status).toBe(200);
    expect(await (await get((await sign("/c:/Users/A/f.txt", "GET")).url)).text()).toBe("win");
  });

  describe("refuses with 403 Forbidden and stores nothing", () => {
    const cases: { name: string; alter: (url: string, t: TestServer) => string | Promise<string>; method?: string }[] = [
      { name: "a URL with one character of the signature changed", alter: (u) => withParam(u, "sig", flip(new URL(u).searchParams.get("sig")!)) },
      { name: "a URL with one character of the path changed", alter: (u) => withParam(u, "path", "/data/b.txt") },
      { name: "a URL replayed with another path", alter: (u) => withParam(u, "path", "/other/place.txt") },
      { name: "a URL with another tenant", alter: (u, t) => withParam(u, "tenant", t.tenantB) },
      { name: "a URL for another context", alter: (u) => u.replace(/ctx-[0-9A-Z]+/, "ctx-01J00000000000000000000000") },
      { name: "a URL with a later expiry", alter: (u) => withParam(u, "expires", String(Number(new URL(u).searchParams.get("expires")) + 1)) },
      { name: "a URL without its signature", alter: (u) => { const x = new URL(u); x.searchParams.delete("sig"); return x.toString(); } },
      { name: "a URL with a parameter given twice", alter: (u) => `${u}&path=/data/a.txt` },
      { name: "a URL used with another method", alter: (u) => u, method: "GET" },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { url } = await sign("/data/a.txt", "PUT");
        const altered = await c.alter(url, t);
        const res = await t.app.request(altered, { method: c.method ?? "PUT", body: c.method === "GET" ? undefined : "x" });
        expect(res.status).toBe(403);
        expect(await res.json()).toMatchObject({ code: "Forbidden" });
        expect(await listed("/")).toEqual([]);
      });
    }

    it("an expired URL", async () => {
      const clock = { ms: Date.now(), now() { return this.ms; } };
      const clocked = await openTestServer({ clock });
      try {
        const id = (await clocked.json<{ id: string }>("POST", apiPaths.contexts, { key: clocked.keyA, json: { name: "c" } })).id;
        const signedAt = (method: string) =>
          clocked.json<{ url: string }>("POST", apiPaths.contextFileUrls(id), { key: clocked.keyA, json: { path: "/a", method, expiresInSeconds: 60 } });
        const { url } = await signedAt("PUT");
        expect((await clocked.app.request(url, { method: "PUT", body: "fresh" })).status).toBe(200);
        const download = (await signedAt("GET")).url;
        clock.ms += 61_000;
        for (const [u, method] of [[url, "PUT"], [download, "GET"]] as const) {
          const res = await clocked.app.request(u, { method, body: method === "PUT" ? "late" : undefined });
          expect(res.status).toBe(403);
          expect(await res.json()).toMatchObject({ code: "Forbidden", message: expect.stringMatching(/expired/) });
        }
        clock.ms -= 61_000;
        expect(await (await clocked.app.request(download)).text()).toBe("fresh");
      } finally {
        await clocked.close();
      }
    });
  });

  it("refuses (400) a PUT whose body is not as long as its Content-Length says, storing nothing", async () => {
    const { url } = await sign("/short.txt", "PUT");
    const res = await put(url, "hello", { "content-length": "10" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "InvalidParameter" });
    expect(await listed("/")).toEqual([]);
    expect(await blobCount(t)).toBe(0);
  });

  describe("refuses a PUT larger than maxFileBytes with 413 and stores nothing", () => {
    it("when Content-Length announces it", async () => {
      const { url } = await sign("/big.bin", "PUT");
      const res = await put(url, Buffer.alloc(2048, 1), { "content-length": "2048" });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: "PayloadTooLarge" });
      expect(await listed("/")).toEqual([]);
    });

    it("when the body streams past the limit without a Content-Length", async () => {
      const { url } = await sign("/big.bin", "PUT");
      const body = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(600));
          controller.close();
        },
      });
      const res = await t.app.request(url, { method: "PUT", body, duplex: "half" } as RequestInit);
      expect(res.status).toBe(413);
      expect(await listed("/")).toEqual([]);
      expect(await blobCount(t)).toBe(0);
    });
  });

  it("refuses to sign a path with .. or NUL (400) and another tenant's context (404)", async () => {
    for (const path of ["/a/../b", "/a/\0b", "relative/x"]) {
      const res = await t.request("POST", apiPaths.contextFileUrls(ctx), { key: t.keyA, json: { path, method: "GET" } });
      expect(res.status, path).toBe(400);
    }
    const res = await t.request("POST", apiPaths.contextFileUrls(ctx), { key: t.keyB, json: { path: "/a", method: "GET" } });
    expect(res.status).toBe(404);
  });
});

function flip(hex: string): string {
  const last = hex.at(-1) === "0" ? "1" : "0";
  return hex.slice(0, -1) + last;
}

async function blobCount(t: TestServer): Promise<number> {
  let n = 0;
  for await (const _ of t.stores.blobs.list()) n++;
  return n;
}
