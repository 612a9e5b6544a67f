import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiPaths, BLOB_FRAMES_CONTENT_TYPE, blobFrameHeader, decodeBlobFrames, MAX_FRAMED_BLOB_BYTES, UNNAMED_DIGEST } from "../api/index.js";
import type { LocalDirBlobStore } from "../store/index.js";
import { openTestServer, type TestServer } from "./test-server.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const frame = (bytes: Buffer, digest = sha(bytes)) => Buffer.concat([blobFrameHeader(digest, "ok", bytes.length), bytes]);

/** The agent's batch routes, driven by hand with a session token, on the real app and embedded stores. */
describe("blob batch routes", () => {
  let t: TestServer;
  let token: string;
  let theirs: string;
  beforeEach(async () => {
    t = await openTestServer();
    const newContext = async (name: string) => (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyA, json: { name } })).id;
    const putFile = async (contextId: string, path: string, content: string) => {
      const { url } = await t.json<{ url: string }>("POST", apiPaths.contextFileUrls(contextId), { key: t.keyA, json: { path, method: "PUT" } });
      expect((await t.app.request(url, { method: "PUT", body: content })).status).toBe(200);
    };
    const mine = await newContext("mine");
    theirs = await newContext("theirs");
    await putFile(mine, "/w/a.txt", "mine");
    await putFile(theirs, "/v/b.txt", "theirs");
    token = (await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: mine, path: "/w" }] } })).sessionToken;
  });
  afterEach(() => t.close());

  const sendBatch = (body: Buffer) => t.request("POST", apiPaths.agentBlobsBatch, { key: token, body, headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
  const isStored = async (digest: string) => (await t.request("HEAD", apiPaths.agentBlob(digest), { key: token })).status === 200;

  it("missing names exactly the digests not stored, in the order asked, and refreshes the stored ones", async () => {
    const blobs = t.stores.blobs as LocalDirBlobStore;
    const longAgo = new Date(Date.now() - 48 * 3600_000);
    fs.utimesSync(path.join(blobs.dir, sha("mine").slice(0, 2), sha("mine")), longAgo, longAgo);
    const answer = await t.json<{ missing: string[] }>("POST", apiPaths.agentBlobsMissing, { key: token, json: { digests: [sha("x"), sha("mine"), sha("y")] } });
    expect(answer).toEqual({ missing: [sha("x"), sha("y")] });
    // Refreshed: a collection that started before the answer must keep it.
    expect(await blobs.delete(sha("mine"), { ifStoredBeforeMs: Date.now() - 3600_000 })).toBe(false);
  });

  it("missing refuses an empty list, a malformed digest and more than 4096 digests with 400", async () => {
    for (const digests of [[], ["abc"], Array.from({ length: 4097 }, (_, i) => sha(String(i)))]) {
      const res = await t.request("POST", apiPaths.agentBlobsMissing, { key: token, json: { digests } });
      expect(res.status).toBe(400);
    }
  });

  it("batch stores every framed blob, verified, and says how many", async () => {
    const blobs = [Buffer.from("one"), Buffer.alloc(0), Buffer.alloc(MAX_FRAMED_BLOB_BYTES, 3)];
    const res = await sendBatch(Buffer.concat(blobs.map((b) => frame(b))));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: 3, failed: [] });
    for (const b of blobs) expect(await isStored(sha(b))).toBe(true);
  });

  it("batch refuses bytes that do not match their digest, naming them, and stores the others", async () => {
    const good = Buffer.from("good");
    const res = await sendBatch(Buffer.concat([frame(good), frame(Buffer.from("evil"), sha("claimed")), frame(Buffer.from("after"))]));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      stored: 2,
      failed: [{ index: 1, digest: sha("claimed"), code: "BlobDigestMismatch", message: expect.stringContaining(sha("evil")) }],
    });
    expect(await isStored(sha(good))).toBe(true);
    expect(await isStored(sha("after"))).toBe(true);
    expect(await isStored(sha("claimed"))).toBe(false);
    expect(await isStored(sha("evil"))).toBe(false);
  });

  it("batch answers 413 for a frame over 1 MiB and 400 for a body cut inside a frame, storing neither", async () => {
    const big = Buffer.alloc(MAX_FRAMED_BLOB_BYTES + 1, 1);
    const tooBig = await sendBatch(frame(big));
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ code: "PayloadTooLarge" });
    expect(await isStored(sha(big))).toBe(false);

    const cut = await sendBatch(frame(Buffer.from("cut short")).subarray(0, 40));
    expect(cut.status).toBe(400);
    expect(await cut.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringContaining("whole frames") });
    expect(await isStored(sha("cut short"))).toBe(false);
  });

  const sendUnnamed = (body: Buffer) => t.request("POST", apiPaths.agentBlobsUnnamed, { key: token, body, headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
  const unnamedFrame = (bytes: Buffer) => Buffer.concat([blobFrameHeader(UNNAMED_DIGEST, "unnamed", bytes.length), bytes]);

  it("unnamed stores every blob under the digest of its bytes and answers the digests in order", async () => {
    const blobs = [Buffer.from("one"), Buffer.alloc(0), Buffer.alloc(MAX_FRAMED_BLOB_BYTES, 4), Buffer.from("one")];
    const res = await sendUnnamed(Buffer.concat(blobs.map(unnamedFrame)));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ digests: blobs.map((b) => sha(b)), failed: [] });
    for (const b of blobs) expect(await isStored(sha(b))).toBe(true);
  });

  it("unnamed answers 400 for a named frame or a body cut inside a frame and 413 for a frame over 1 MiB, storing none of them", async () => {
    const named = await sendUnnamed(Buffer.concat([unnamedFrame(Buffer.from("before")), frame(Buffer.from("named"))]));
    expect(named.status).toBe(400);
    expect(await named.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringContaining("status 3 and a zero digest") });
    expect(await isStored(sha("named"))).toBe(false);

    const cut = await sendUnnamed(unnamedFrame(Buffer.from("cut short")).subarray(0, 40));
    expect(cut.status).toBe(400);
    expect(await isStored(sha("cut short"))).toBe(false);

    const big = Buffer.alloc(MAX_FRAMED_BLOB_BYTES + 1, 2);
    const tooBig = await sendUnnamed(unnamedFrame(big));
    expect(tooBig.status).toBe(413);
    expect(await isStored(sha(big))).toBe(false);
  });

  it("a blob sent unnamed on its own needs a Content-Length within maxFileBytes and the bytes it announces: 400, 413, 400, storing none", async () => {
    // The JSON limit is below the file limit: a blob body is not held to it.
    const small = await openTestServer({ options: { maxFileBytes: 16, maxAgentJsonBodyBytes: 8 } });
    try {
      const ctxId = (await small.json<{ id: string }>("POST", apiPaths.contexts, { key: small.keyA, json: { name: "c" } })).id;
      const { sessionToken } = await small.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: small.keyA, json: { contextSync: [{ contextId: ctxId, path: "/w" }] } });
      const send = (body: string, length?: number) =>
        small.request("POST", apiPaths.agentBlobs, {
          key: sessionToken,
          body,
          headers: { "content-type": "application/octet-stream", ...(length === undefined ? {} : { "content-length": String(length) }) },
        });
      const noLength = await send("no length");
      expect(noLength.status).toBe(400);
      expect(await noLength.json()).toMatchObject({ code: "InvalidParameter", message: expect.stringContaining("Content-Length") });
      const tooLarge = await send("seventeen bytes!!", 17);
      expect(tooLarge.status).toBe(413);
      expect(await tooLarge.json()).toMatchObject({ code: "PayloadTooLarge" });
      const short = await send("short", 9);
      expect(short.status).toBe(400);
      for (const b of ["no length", "seventeen bytes!!", "short"]) expect(await small.stores.blobs.has(sha(b))).toBe(false);
      const ok = await send("fits in a blob", 14);
      expect(await ok.json()).toEqual({ digest: sha("fits in a blob"), sizeBytes: 14 });
    } finally {
      await small.close();
    }
  });

  it("fetch answers one frame per digest in order: the session's blobs, notFound for another session's or unknown ones", async () => {
    const res = await t.request("POST", apiPaths.agentBlobsFetch, { key: token, json: { digests: [sha("theirs"), sha("mine"), sha("nowhere")] } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(BLOB_FRAMES_CONTENT_TYPE);
    const frames: [string, string, string][] = [];
    for await (const f of decodeBlobFrames(res.body as unknown as AsyncIterable<Uint8Array>)) frames.push([f.digest, f.status, f.bytes.toString()]);
    expect(frames).toEqual([
      [sha("theirs"), "notFound", ""],
      [sha("mine"), "ok", "mine"],
      [sha("nowhere"), "notFound", ""],
    ]);
  });

  it("a file listing lets the session it was given, and no other, fetch what it showed", async () => {
    const fetchOne = async (key: string, digest: string) => {
      const res = await t.request("POST", apiPaths.agentBlobsFetch, { key, json: { digests: [digest] } });
      const frames: string[] = [];
      for await (const f of decodeBlobFrames(res.body as unknown as AsyncIterable<Uint8Array>)) frames.push(f.status);
      return frames;
    };
    const theirsToken = (await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync: [{ contextId: theirs, path: "/v" }] } }))
      .sessionToken;
    const listing = await t.json<{ files: { digest: string }[] }>("GET", `${apiPaths.agentContextFiles(theirs)}?prefix=/v`, { key: theirsToken });
    expect(listing.files.map((f) => f.digest)).toEqual([sha("theirs")]);
    expect(await fetchOne(theirsToken, sha("theirs"))).toEqual(["ok"]);
    expect(await fetchOne(token, sha("theirs"))).toEqual(["notFound"]);
    // Listing a context out of its scope shows the session nothing, and grants nothing.
    expect((await t.request("GET", `${apiPaths.agentContextFiles(theirs)}?prefix=/v`, { key: token })).status).toBe(404);
    expect(await fetchOne(token, sha("theirs"))).toEqual(["notFound"]);
  });

  it("every batch route needs the session token", async () => {
    for (const [url, key] of [
      [apiPaths.agentBlobsMissing, t.keyA],
      [apiPaths.agentBlobsFetch, undefined],
      [apiPaths.agentBlobsBatch, "cst_wrong"],
      [apiPaths.agentBlobsUnnamed, undefined],
    ] as const) {
      const res = await t.request("POST", url, { key, json: { digests: [sha("mine")] } });
      expect(res.status, url).toBe(401);
    }
  });
});
