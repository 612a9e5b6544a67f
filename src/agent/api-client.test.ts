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
});
