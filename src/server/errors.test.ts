import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ContextNotFoundError, ServerStoppingError, StoreUnavailableError } from "../errors/index.js";
import { errorHandler, requestIdMiddleware } from "./errors.js";
import type { ServerEnv } from "./server-env.js";

/** An app whose one route throws `err`, with the server's error handling; `logged` gets what it logs. */
function appThrowing(err: Error, logged: string[]): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.onError(errorHandler((message, e) => logged.push(`${message}: ${String(e)}`)));
  app.use("*", requestIdMiddleware);
  app.get("/x", () => {
    throw err;
  });
  return app;
}

describe("errorHandler", () => {
  it("answers StoreUnavailable with 503 and a generic message; the store's name and reason go to the log", async () => {
    const logged: string[] = [];
    const app = appThrowing(new StoreUnavailableError('S3 bucket "acme-prod-blobs" at minio.internal:9000 is not usable (AccessDenied)'), logged);
    const res = await app.request("/x");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { code: string; message: string; requestId: string };
    expect(body.code).toBe("StoreUnavailable");
    expect(body.message).toBe(`The server's storage is unavailable; retry later. The server log has the details under request id ${body.requestId}.`);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(body.requestId);
    expect(logged[0]).toContain("acme-prod-blobs");
  });

  it("keeps the message of an error meant for the caller", async () => {
    const logged: string[] = [];
    const res = await appThrowing(new ContextNotFoundError("ctx-nope"), logged).request("/x");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain("ctx-nope");
    expect(logged).toEqual([]);
  });

  it("answers ServerStopping with 503 and its own message, and does not log it as a failure", async () => {
    const logged: string[] = [];
    const res = await appThrowing(new ServerStoppingError("the agent of session s-1 to finish its tasks"), logged).request("/x");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "ServerStopping", message: expect.stringContaining("the agent of session s-1") });
    expect(logged).toEqual([]);
  });
});
