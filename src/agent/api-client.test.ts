import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { patternBytes } from "../store/blob/contract.test-suite.js";
import { ApiClient, type FileBody } from "./api-client.js";

describe("ApiClient", () => {
  // A server that takes requests and never answers: a connection that died without a word.
  let server: http.Server;
  let endpoint: string;
  beforeEach(async () => {
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("refuses a key no header can carry without quoting it, and drops whitespace around one", () => {
    for (const bad of ["csk_secret\nX", "csk secret", "csk_\u2026secret", "csk_\u0007"]) {
      let err: unknown;
      try {
        new ApiClient("http://127.0.0.1:1", bad);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: "InvalidParameter", message: expect.stringContaining("character a key never has") });
      expect((err as Error).message).not.toContain("secret");
    }
    expect(() => new ApiClient("http://127.0.0.1:1", " csk_fine\r\n")).not.toThrow();
    expect(() => new ApiClient("http://127.0.0.1:1", "geheimer-schlüssel-für-das-team-2024")).not.toThrow();
  });

  it("fails a call that gets no answer within its deadline as an unreachable server, saying so", async () => {
    const api = new ApiClient(endpoint, "t");
    const err = await api.json("GET", "/v1/agent/tasks", { timeoutMs: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "StoreUnavailable", httpStatus: 0 });
    expect(String((err as Error).message)).toContain("no answer within 200 ms");
  });

  it("rejects with the caller's own abort reason, not as a timeout", async () => {
    const api = new ApiClient(endpoint, "t");
    const stop = new AbortController();
    const call = api.json("GET", "/v1/agent/tasks", { signal: stop.signal });
    stop.abort(new Error("the agent is stopping"));
    await expect(call).rejects.toThrow("the agent is stopping");
  });

  it("a proxy's answer that is not JSON is an unreachable server, with the proxy's words, and the requestId left to the SDK", async () => {
    const proxy = http.createServer((req, res) => {
      res.writeHead(req.method === "GET" ? 200 : 502, { "content-type": "text/html" });
      res.end("<html>Sign in to the corporate proxy</html>");
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const api = new ApiClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, "t");
      await expect(api.json("GET", "/v1/contexts")).rejects.toMatchObject({
        code: "StoreUnavailable",
        httpStatus: 200,
        requestId: "",
        message: expect.stringContaining("HTTP 200 but not with JSON (\"<html>Sign in to the corporate proxy</html>\")"),
      });
      await expect(api.json("POST", "/v1/contexts", { json: {} })).rejects.toMatchObject({ code: "StoreUnavailable", httpStatus: 502, requestId: "" });
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe("ApiClient.stream with a file body", () => {
  // Answers a PUT with the SHA-256 and length of what it received; /slow starts reading only after a
  // while, so the client's writes back up.
  let server: http.Server;
  let endpoint: string;
  let dir: string;
  let received: number[];
  beforeEach(async () => {
    received = [];
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-file-body-"));
    server = http.createServer((req, res) => {
      const hash = createHash("sha256");
      let n = 0;
      if (req.url === "/slow") {
        req.pause();
        setTimeout(() => req.resume(), 100);
      }
      req.on("data", (c: Buffer) => (hash.update(c), (n += c.length)));
      req.on("end", () => {
        received.push(n);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ sha256: hash.digest("hex"), n }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const send = async (bytes: Buffer, sizeBytes: number, p = "/put", onBytes: (n: number) => void = () => undefined) => {
    const file = path.join(dir, "blob");
    fs.writeFileSync(file, bytes);
    const handle = await fs.promises.open(file, "r");
    try {
      const body: FileBody = { handle, sizeBytes, what: "the test blob", onBytes };
      const res = await new ApiClient(endpoint, "t").stream("PUT", p, { body, headers: { "content-length": String(sizeBytes) } });
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString("utf8")) as { sha256: string; n: number };
    } finally {
      await handle.close();
    }
  };

  it("sends the file's first sizeBytes exactly, through more chunks than it has buffers, reporting every byte", async () => {
    // 16 MiB to a server that waits before reading: writes queue up behind full socket buffers, and a
    // buffer reused before its write went out would show in the digest (random bytes: no two chunks alike).
    const bytes = randomBytes((16 << 20) + 123);
    let reported = 0;
    const answer = await send(bytes, bytes.length, "/slow", (n) => (reported += n));
    expect(answer).toEqual({ sha256: createHash("sha256").update(bytes).digest("hex"), n: bytes.length });
    expect(reported).toBe(bytes.length);
    const shorter = await send(bytes, 3 << 20);
    expect(shorter).toEqual({ sha256: createHash("sha256").update(bytes.subarray(0, 3 << 20)).digest("hex"), n: 3 << 20 });
    expect(await send(Buffer.alloc(0), 0)).toEqual({ sha256: createHash("sha256").digest("hex"), n: 0 });
  });

  it("fails with InvalidParameter, naming the body, when the file holds fewer bytes than announced", async () => {
    await expect(send(patternBytes(1000, 1), 5000)).rejects.toMatchObject({
      code: "InvalidParameter",
      message: "The body of the test blob has 1000 bytes, not the 5000 announced.",
    });
    expect(received).toEqual([]);
  });

  it("rejects with the server's error when it answers before taking the whole body, and stops sending it", async () => {
    // A server that answers 413 on the head and keeps reading (and dropping) whatever comes, connection
    // open: node:http would close it (the client asks for that), and the client's next write would fail first.
    let taken = 0;
    let closedByClient!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closedByClient = resolve));
    const refusing = net.createServer((socket) => {
      socket.on("close", () => closedByClient());
      let answered = false;
      socket.on("data", (c: Buffer) => {
        taken += c.length;
        if (answered) return;
        answered = true;
        const body = JSON.stringify({ code: "PayloadTooLarge", message: "too large", requestId: "r" });
        socket.write(`HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      });
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    const size = 64 << 20;
    const file = path.join(dir, "large");
    fs.writeFileSync(file, Buffer.alloc(size, 2));
    const handle = await fs.promises.open(file, "r");
    let reported = 0;
    try {
      const api = new ApiClient(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}`, "t");
      const body: FileBody = { handle, sizeBytes: size, what: "the test blob", onBytes: (n) => (reported += n) };
      await expect(api.stream("PUT", "/refuse", { body, headers: { "content-length": String(size) } })).rejects.toMatchObject({ code: "PayloadTooLarge", httpStatus: 413 });
      // With the file still open, the client drops the connection rather than sending the rest.
      await connectionClosed;
    } finally {
      await handle.close();
      await new Promise((resolve) => refusing.close(resolve));
    }
    expect(reported).toBeLessThan(size / 2);
    expect(taken).toBeLessThan(size / 2);
  });
});

