import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { patternBytes } from "../store/blob/contract.test-suite.js";
import { ApiClient } from "./api-client.js";
import { ThreadStoppedError } from "../store/index.js";
import { DownloadThread } from "./download-thread.js";

/**
 * A server that answers by path: /bytes/N (N bytes), /chunked/N (N bytes, chunked, as ctxsync's server
 * sends blobs), /missing (404), /denied (401), /cut and /chunked-cut (cut short after 2 MiB of 4),
 * /stall (2 MiB of 4, then nothing). It keeps the headers it was sent.
 */
async function startScriptedServer(): Promise<{ endpoint: string; seen: http.IncomingHttpHeaders[]; close(): Promise<void> }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = req.url ?? "";
    const error = (status: number, code: string) => {
      res.writeHead(status, { "content-type": "application/json", "x-request-id": "req-1" });
      res.end(JSON.stringify({ code, message: `${code} from the server`, requestId: "req-1" }));
    };
    if (url.startsWith("/bytes/")) {
      const bytes = patternBytes(Number(url.slice("/bytes/".length)), 3);
      res.writeHead(200, { "content-length": String(bytes.length) });
      return void res.end(bytes);
    }
    if (url.startsWith("/chunked/")) {
      // No Content-Length: chunked, in pieces of odd sizes so chunk boundaries fall inside reads.
      const bytes = patternBytes(Number(url.slice("/chunked/".length)), 5);
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (let off = 0; off < bytes.length; off += 77_777) res.write(bytes.subarray(off, off + 77_777));
      return void res.end();
    }
    if (url === "/chunked-cut") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(patternBytes(2 << 20, 4));
      return void setTimeout(() => res.socket?.destroy(), 20);
    }
    if (url === "/error-cut") {
      // An error answer that breaks off: a proxy failing, say.
      res.writeHead(503, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"code":"Sto');
      return void setTimeout(() => res.socket?.destroy(), 20);
    }
    if (url === "/missing") return error(404, "BlobNotFound");
    if (url === "/denied") return error(401, "Unauthorized");
    if (url !== "/cut" && url !== "/stall") return error(404, "NotFound");
    res.writeHead(200, { "content-length": String(4 << 20) });
    res.write(patternBytes(2 << 20, 4));
    if (url === "/cut") setTimeout(() => res.socket?.destroy(), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.each([
  { where: "on the download thread", downloadThread: true },
  { where: "on the calling thread", downloadThread: false },
])("ApiClient.download, $where", ({ downloadThread }) => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startScriptedServer>>;
  let api: ApiClient;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-download-"));
    server = await startScriptedServer();
    api = new ApiClient(server.endpoint, "secret-token", { downloadThread });
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes a 2xx answer into a new file, reporting every byte, with the client's credential and headers", async () => {
    api.setHeader("x-ctxsync-attach", "7");
    const size = (3 << 20) + 5;
    let reported = 0;
    const target = path.join(dir, "out");
    expect(await api.download(`/bytes/${size}`, target, { onBytes: (n) => (reported += n) })).toBe(200);
    expect(fs.readFileSync(target).equals(patternBytes(size, 3))).toBe(true);
    expect(reported).toBe(size);
    expect(server.seen[0]).toMatchObject({ authorization: "Bearer secret-token", "x-ctxsync-attach": "7" });
  });

  it("writes a chunked answer (how the server sends blobs) whole", async () => {
    const size = (5 << 20) + 3;
    const target = path.join(dir, "out");
    expect(await api.download(`/chunked/${size}`, target)).toBe(200);
    expect(fs.readFileSync(target).equals(patternBytes(size, 5))).toBe(true);
  });

  it("writes each of many answers exactly, at once and one after another (read buffers are reused)", async () => {
    const sizes = [(3 << 20) + 1, 700_001, 5, (2 << 20) + 9, 1, 300_003, 64 << 10, 2];
    await Promise.all(sizes.slice(0, 4).map((size, i) => api.download(`/chunked/${size}`, path.join(dir, `at-once-${i}`))));
    for (const [i, size] of sizes.entries()) await api.download(`/bytes/${size}`, path.join(dir, `in-turn-${i}`));
    sizes.slice(0, 4).forEach((size, i) => expect(fs.readFileSync(path.join(dir, `at-once-${i}`)).equals(patternBytes(size, 5))).toBe(true));
    sizes.forEach((size, i) => expect(fs.readFileSync(path.join(dir, `in-turn-${i}`)).equals(patternBytes(size, 3))).toBe(true));
  });

  it("resolves with an accepted status and creates no file; rejects an error answer with the server's code and request id", async () => {
    const target = path.join(dir, "out");
    expect(await api.download("/missing", target, { accept: [404] })).toBe(404);
    await expect(api.download("/denied", target)).rejects.toMatchObject({ code: "Unauthorized", httpStatus: 401, requestId: "req-1", message: "Unauthorized from the server" });
    expect(fs.existsSync(target)).toBe(false);
  });

  it("never overwrites: an existing target fails with EEXIST and is left as it was", async () => {
    const target = path.join(dir, "taken");
    fs.writeFileSync(target, "someone else's");
    await expect(api.download("/bytes/5000", target)).rejects.toMatchObject({ code: "EEXIST" });
    expect(fs.readFileSync(target, "utf8")).toBe("someone else's");
  });

  it.each(["/cut", "/chunked-cut"])("an answer cut short (%s) rejects with ECONNRESET and leaves no file", async (p) => {
    const target = path.join(dir, "out");
    await expect(api.download(p, target)).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(fs.existsSync(target)).toBe(false);
  });

  it("stops when its signal aborts, with the signal's reason, and leaves no file", async () => {
    const target = path.join(dir, "out");
    const stop = new AbortController();
    let started!: () => void;
    const receiving = new Promise<void>((resolve) => (started = resolve));
    const call = api.download("/stall", target, { signal: stop.signal, onBytes: () => started() });
    await receiving;
    stop.abort(new Error("the agent is stopping"));
    await expect(call).rejects.toThrow("the agent is stopping");
    expect(fs.existsSync(target)).toBe(false);
  });

  it("an error answer cut short is StoreUnavailable for the whole call, and no file", async () => {
    const target = path.join(dir, "out");
    await expect(api.download("/error-cut", target)).rejects.toMatchObject({ code: "StoreUnavailable" });
    expect(fs.existsSync(target)).toBe(false);
  });

  it("a server that cannot be reached is StoreUnavailable, naming it and not the credential", async () => {
    await server.close();
    const err = await api.download("/bytes/10", path.join(dir, "out")).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "StoreUnavailable", httpStatus: 0, message: expect.stringContaining(`Cannot reach the ctxsync server at ${server.endpoint}`) });
    expect((err as Error).message).not.toContain("secret-token");
  });
});

describe("DownloadThread", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startScriptedServer>>;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-download-"));
    server = await startScriptedServer();
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const request = (p: string, target: string) => ({ url: `${server.endpoint}${p}`, headers: {}, target, idleTimeoutMs: 60_000, maxErrorBodyBytes: 1000 });

  it("fails the downloads of a thread that stops with ThreadStoppedError, and starts a new one for the next", async () => {
    const thread = new DownloadThread();
    let started!: () => void;
    const receiving = new Promise<void>((resolve) => (started = resolve));
    const stalled = thread.download(request("/stall", path.join(dir, "stalled")), () => started());
    await receiving;
    await thread.stop();
    await expect(stalled).rejects.toBeInstanceOf(ThreadStoppedError);
    const target = path.join(dir, "out");
    expect(await thread.download(request("/bytes/1000", target), () => undefined)).toEqual({ status: 200, saved: true });
    expect(fs.readFileSync(target).equals(patternBytes(1000, 3))).toBe(true);
    await thread.stop();
  });

  it("gives up on an answer that stalls for the idle timeout, and removes its partial file", async () => {
    const thread = new DownloadThread();
    const target = path.join(dir, "stalled");
    const answer = await thread.download({ ...request("/stall", target), idleTimeoutMs: 300 }, () => undefined);
    expect(answer).toMatchObject({ failed: "body", error: { message: "no data either way for 0.3 s" } });
    expect(fs.existsSync(target)).toBe(false);
    await thread.stop();
  });

  it("answers a request it cannot make, or a file it cannot create, as that download's failure and goes on", async () => {
    const thread = new DownloadThread();
    const noUrl = await thread.download({ ...request("", path.join(dir, "x")), url: "not a url" }, () => undefined);
    expect(noUrl).toMatchObject({ failed: "request", error: { code: "ERR_INVALID_URL" } });
    const notHttp = await thread.download({ ...request("", path.join(dir, "x")), url: "ftp://127.0.0.1/blob" }, () => undefined);
    expect(notHttp).toMatchObject({ failed: "request", error: { code: "ERR_INVALID_PROTOCOL" } });
    const notAPath = await thread.download(request("/bytes/10", 42 as unknown as string), () => undefined);
    expect(notAPath).toMatchObject({ failed: "body", error: { code: "ERR_INVALID_ARG_TYPE" } });
    const target = path.join(dir, "out");
    expect(await thread.download(request("/bytes/10", target), () => undefined)).toEqual({ status: 200, saved: true });
    await thread.stop();
  });

  /** A TCP server that answers every connection with `answer` (after the request head), then closes. */
  async function rawServer(answer: Buffer | string): Promise<{ url: string; received: string[]; close(): Promise<void> }> {
    const received: string[] = [];
    const srv = net.createServer((sock) => {
      let head = "";
      sock.on("data", (d: Buffer) => {
        head += d.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        received.push(head);
        sock.end(answer);
      });
      sock.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/blob`, received, close: () => new Promise((resolve) => srv.close(() => resolve())) };
  }

  it("reads answers framed by the connection's end, and skips interim 1xx heads", async () => {
    const thread = new DownloadThread();
    const byEnd = await rawServer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    const interim = await rawServer("HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    try {
      const a = path.join(dir, "a");
      const b = path.join(dir, "b");
      expect(await thread.download({ ...request("", a), url: byEnd.url }, () => undefined)).toEqual({ status: 200, saved: true });
      expect(await thread.download({ ...request("", b), url: interim.url }, () => undefined)).toEqual({ status: 200, saved: true });
      expect(fs.readFileSync(a, "utf8")).toBe("until the end");
      expect(fs.readFileSync(b, "utf8")).toBe("hello");
    } finally {
      await Promise.all([byEnd.close(), interim.close(), thread.stop()]);
    }
  });

  it("fails an answer that is not HTTP, or a chunked body that is malformed, and leaves no file", async () => {
    const thread = new DownloadThread();
    const notHttp = await rawServer("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    const badChunk = await rawServer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
    try {
      const a = path.join(dir, "a");
      expect(await thread.download({ ...request("", a), url: notHttp.url }, () => undefined)).toMatchObject({ failed: "request", error: { message: expect.stringContaining("not HTTP/1.1") } });
      expect(await thread.download({ ...request("", a), url: badChunk.url }, () => undefined)).toMatchObject({ failed: "body", error: { message: expect.stringContaining("bad chunk size") } });
      expect(fs.existsSync(a)).toBe(false);
    } finally {
      await Promise.all([notHttp.close(), badChunk.close(), thread.stop()]);
    }
  });

  it("refuses a header with a line break in it before sending anything", async () => {
    const thread = new DownloadThread();
    const srv = await rawServer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    try {
      const answer = await thread.download({ ...request("", path.join(dir, "a")), url: srv.url, headers: { "x-evil": "a\r\nx-injected: 1" } }, () => undefined);
      expect(answer).toMatchObject({ failed: "request", error: { code: "ERR_INVALID_CHAR" } });
      expect(srv.received).toEqual([]);
    } finally {
      await Promise.all([srv.close(), thread.stop()]);
    }
  });
});
