import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "./api-client.js";

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
