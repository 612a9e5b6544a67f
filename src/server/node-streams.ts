import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import type { Logger } from "./app-deps.js";

/**
 * Bulk bytes in and out of route handlers as Node streams. Behind `serve` (@hono/node-server) the
 * handler reads the request from, and writes the answer to, the Node objects directly: going through
 * web streams copies every chunk twice, which for a 100 MiB blob costs more than the disk. Elsewhere
 * (tests calling `app.request`) the same handlers use the web Request and Response.
 */

/** What @hono/node-server passes as the environment of each request. */
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

function nodeBindings(c: Context): NodeBindings {
  return (c.env ?? {}) as NodeBindings;
}

/** True for the answer of a handler that wrote to the Node response itself (streamResponse). */
export function isAlreadySent(res: Response): boolean {
  return res.headers.get(ALREADY_SENT_HEADER) !== null;
}

/** The header @hono/node-server marks RESPONSE_ALREADY_SENT with. */
const ALREADY_SENT_HEADER = [...RESPONSE_ALREADY_SENT.headers.keys()][0] ?? "x-hono-already-sent";

/** The request body as a Node stream (empty when there is none). Read it once. */
export function requestBody(c: Context): Readable {
  const { incoming } = nodeBindings(c);
  // readableDidRead: something (a middleware) already consumed it through the web Request.
  if (incoming && !incoming.readableDidRead && incoming.method !== "GET" && incoming.method !== "HEAD") return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as WebReadableStream<Uint8Array>) : Readable.from([]);
}

/**
 * Answers 200 with `body` streamed out. A failure of `body` midway (bytes that no longer match) cuts the
 * connection, so the client sees a broken answer rather than a short one that looks complete, and is
 * logged with the request id: the client can only say that its answer broke.
 */
export function streamResponse(c: Context, body: Readable, headers: Record<string, string>, log: Logger): Response {
  const { outgoing } = nodeBindings(c);
  const requestId = c.get("requestId") as string;
  const { method, path } = c.req;
  body.once("error", (err) => log.error(`request ${requestId} ${method} ${path}: the answer was cut short`, err));
  if (!outgoing) return new Response(Readable.toWeb(body) as ReadableStream, { status: 200, headers });
  outgoing.writeHead(200, { ...headers, "x-request-id": requestId });
  body.on("error", (err) => outgoing.destroy(err));
  outgoing.on("close", () => body.destroy());
  body.pipe(outgoing);
  return RESPONSE_ALREADY_SENT;
}
