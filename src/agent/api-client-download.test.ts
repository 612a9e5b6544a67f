import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { patternBytes } from "../store/blob/contract.test-suite.js";
import { ApiClient } from "./api-client.js";
import { ThreadStoppedError } from "../store/index.js";
import { DownloadThread } from "./download-thread.js";

/**
 * A server that answers by path: /bytes/N (N bytes), /missing (404), /denied (401), /cut (cut short
 * after 2 MiB of 4), /stall (2 MiB of 4, then nothing). It keeps the headers it was sent.
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

  it("an answer cut short rejects with ECONNRESET and leaves no file", async () => {
    const target = path.join(dir, "out");
    await expect(api.download("/cut", target)).rejects.toMatchObject({ code: "ECONNRESET" });
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

  it("answers a request it cannot make, or a file it cannot create, as that download's failure and goes on", async () => {
    const thread = new DownloadThread();
    const noUrl = await thread.download({ ...request("", path.join(dir, "x")), url: "not a url" }, () => undefined);
    expect(noUrl).toMatchObject({ failed: "request", error: { code: "ERR_INVALID_URL" } });
    const notAPath = await thread.download(request("/bytes/10", 42 as unknown as string), () => undefined);
    expect(notAPath).toMatchObject({ failed: "body", error: { code: "ERR_INVALID_ARG_TYPE" } });
    const target = path.join(dir, "out");
    expect(await thread.download(request("/bytes/10", target), () => undefined)).toEqual({ status: 200, saved: true });
    await thread.stop();
  });
});
