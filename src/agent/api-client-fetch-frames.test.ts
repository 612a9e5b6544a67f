import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blobFrameHeader, MAX_FRAMED_BLOB_BYTES } from "../api/index.js";
import { patternBytes } from "../store/blob/contract.test-suite.js";
import { ApiClient } from "./api-client.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const a = patternBytes(5000, 1);
const b = patternBytes(70_000, 2);
const frame = (bytes: Buffer) => Buffer.concat([blobFrameHeader(sha(bytes), "ok", bytes.length), bytes]);

/**
 * A server whose answer to every POST is `answer.body`, written `answer.piece` bytes at a time (each
 * write a chunk of its own: chunk boundaries fall inside frame headers and bodies), then cut off when
 * `answer.cut`; or an error answer with `answer.status`.
 */
async function startFramesServer() {
  const answer: { body: Buffer; piece: number; cut?: boolean; status?: number } = { body: Buffer.alloc(0), piece: 1 << 20 };
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      bodies.push(body);
      if (answer.status) {
        res.writeHead(answer.status, { "content-type": "application/json", "x-request-id": "req-9" });
        return void res.end(JSON.stringify({ code: "SessionNotActive", message: "Session s is released.", requestId: "req-9" }));
      }
      res.writeHead(200, { "content-type": "application/vnd.ctxsync.blob-frames" });
      for (let off = 0; off < answer.body.length; off += answer.piece) res.write(answer.body.subarray(off, off + answer.piece));
      if (answer.cut) setTimeout(() => res.socket?.destroy(), 20);
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer,
    bodies,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("ApiClient.fetchFramesIntoFiles (on the download thread)", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startFramesServer>>;
  let api: ApiClient;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-frames-"));
    server = await startFramesServer();
    api = new ApiClient(server.endpoint, "secret-token");
  });
  afterEach(async () => {
    await api.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const at = (name: string) => path.join(dir, name);
  const fetchInto = (digests: string[], targets: string[][], onBytes?: (n: number) => void) =>
    api.fetchFramesIntoFiles("/fetch", { digests }, targets, { maxBlobBytes: MAX_FRAMED_BLOB_BYTES, onBytes });

  it("writes each blob into all its files, whatever the chunking, and says how each file ended", async () => {
    const missing = sha(Buffer.from("missing"));
    const damaged = sha(Buffer.from("damaged"));
    server.answer.body = Buffer.concat([frame(a), blobFrameHeader(missing, "notFound", 0), frame(b), blobFrameHeader(damaged, "unreadable", 0)]);
    server.answer.piece = 7; // boundaries inside every header and body
    fs.writeFileSync(at("taken"), "someone else's");
    let reported = 0;
    const got = await fetchInto(
      [sha(a), missing, sha(b), damaged],
      [[at("a1"), at("a2")], [at("m")], [at("taken"), at("b")], [at("d")]],
      (n) => (reported += n),
    );
    expect(got?.fault).toBeUndefined();
    expect(got?.outcomes).toEqual([[null, null], [{ status: "notFound" }], [{ error: expect.objectContaining({ code: "EEXIST" }) }, null], [{ status: "unreadable" }]]);
    expect(fs.readFileSync(at("a1")).equals(a) && fs.readFileSync(at("a2")).equals(a) && fs.readFileSync(at("b")).equals(b)).toBe(true);
    expect(fs.readFileSync(at("taken"), "utf8")).toBe("someone else's");
    expect(fs.existsSync(at("m")) || fs.existsSync(at("d"))).toBe(false);
    expect(reported).toBe(2 * a.length + b.length);
    expect(JSON.parse(server.bodies[0]!)).toEqual({ digests: [sha(a), missing, sha(b), damaged] });
  });

  it("an answer out of order, cut inside a frame, short of a blob or with one over the limit is a fault after the frames before it", async () => {
    server.answer.body = Buffer.concat([frame(a), frame(b)]);
    const outOfOrder = await fetchInto([sha(a), sha(Buffer.from("x")), sha(b)], [[at("a")], [at("x")], [at("b")]]);
    expect(outOfOrder?.outcomes).toEqual([[null], undefined, undefined]);
    expect(outOfOrder?.fault?.message).toMatch(/out of order: blob [0-9a-f]{64} instead of/);
    expect(fs.existsSync(at("x")) || fs.existsSync(at("b"))).toBe(false);

    server.answer.body = Buffer.concat([frame(a), frame(b).subarray(0, 1000)]);
    const ended = await fetchInto([sha(a), sha(b)], [[at("a2")], [at("b2")]]);
    expect(ended?.fault?.message).toContain(`ended inside the frame of blob ${sha(b)}`);
    expect(ended?.outcomes).toEqual([[null], undefined]);
    expect(fs.existsSync(at("b2"))).toBe(false);

    server.answer.body = frame(a);
    const short = await fetchInto([sha(a), sha(b)], [[at("a3")], [at("b3")]]);
    expect(short?.fault?.message).toContain(`ended before blob ${sha(b)}`);

    server.answer.body = Buffer.concat([frame(a), frame(b)]);
    const tooLarge = await api.fetchFramesIntoFiles("/fetch", { digests: [sha(a), sha(b)] }, [[at("a4")], [at("b4")]], { maxBlobBytes: 10_000 });
    expect(tooLarge?.fault?.message).toContain(`Blob ${sha(b)} in a fetch answer has 70000 bytes, over the 10000`);
    expect(tooLarge?.outcomes).toEqual([[null], undefined]);
    expect(fs.existsSync(at("b4"))).toBe(false);
  });

  it("a connection that breaks midway rejects with the transfer's error; the file in progress is removed, finished ones stay", async () => {
    server.answer.body = Buffer.concat([frame(a), frame(b).subarray(0, 30_000)]);
    server.answer.cut = true;
    await expect(fetchInto([sha(a), sha(b)], [[at("a")], [at("b")]])).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(fs.readFileSync(at("a")).equals(a)).toBe(true);
    expect(fs.existsSync(at("b"))).toBe(false);
  });

  it("an error answer rejects with the server's code; without a thread the fetch is left to the caller", async () => {
    server.answer.status = 409;
    await expect(fetchInto([sha(a)], [[at("a")]])).rejects.toMatchObject({ code: "SessionNotActive", httpStatus: 409, requestId: "req-9" });
    expect(fs.existsSync(at("a"))).toBe(false);
    const opts = { maxBlobBytes: MAX_FRAMED_BLOB_BYTES };
    expect(await new ApiClient(server.endpoint, "t", { downloadThread: false }).fetchFramesIntoFiles("/fetch", { digests: [sha(a)] }, [[at("a")]], opts)).toBeUndefined();
  });

  it("a server that cannot be reached rejects with StoreUnavailable, over https as over http", async () => {
    const opts = { maxBlobBytes: MAX_FRAMED_BLOB_BYTES };
    for (const endpoint of ["http://127.0.0.1:1", "https://127.0.0.1:1"]) {
      const unreachable = new ApiClient(endpoint, "t");
      try {
        await expect(unreachable.fetchFramesIntoFiles("/fetch", { digests: [sha(a)] }, [[at("a")]], opts)).rejects.toMatchObject({ code: "StoreUnavailable" });
      } finally {
        await unreachable.close();
      }
    }
    expect(fs.existsSync(at("a"))).toBe(false);
  });
});
