import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { apiPaths, BLOB_FRAMES_CONTENT_TYPE, blobFrameHeader, UNNAMED_DIGEST } from "../api/index.js";
import { detectLostSessions } from "../service/index.js";
import type { FileMeta, LocalDirBlobStore } from "../store/index.js";
import { FakeClock } from "../../test/helpers/fake-clock.js";
import { openTestServer, type TestServer } from "./test-server.js";

interface Task {
  id: string;
  taskType: string;
  status: string;
  errorMessage: string;
  filesDone: number;
  path: string;
}
interface Poll {
  sessionStatus: string;
  tasks: { id: string; taskType: string; mount: { contextId: string; path: string; namespace: string; policy: Record<string, unknown> } }[];
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const fileMeta = (content: string) => ({ type: "file", digest: sha(content), sizeBytes: Buffer.byteLength(content), mode: 0o644, mtimeMs: 1_700_000_000_000, linkTarget: null });

/** A test drives the agent's side by hand, with the session token, the way `ctxsync agent` would. */
describe("external sessions over HTTP with a hand-driven agent", () => {
  let t: TestServer;
  let ctx: string;
  beforeEach(async () => {
    t = await openTestServer({ options: { external: { heartbeatTimeoutMs: 60_000, pollIntervalMs: 10 } } });
    ctx = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyA, json: { name: "work" } })).id;
    const { url } = await t.json<{ url: string }>("POST", apiPaths.contextFileUrls(ctx), { key: t.keyA, json: { path: "/w/a.txt", method: "PUT" } });
    expect((await t.app.request(url, { method: "PUT", body: "from the store" })).status).toBe(200);
  });
  afterEach(() => t.close());

  const createSession = (contextSync: unknown[] = [{ contextId: ctx, path: "/w" }]) =>
    t.json<{ session: { id: string; status: string }; sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyA, json: { contextSync } });
  const tasksOf = async (sessionId: string) => (await t.json<{ tasks: Task[] }>("GET", apiPaths.sessionTasks(sessionId), { key: t.keyA })).tasks;
  const poll = (token: string, waitSeconds = 0) => t.json<Poll>("GET", `${apiPaths.agentTasks}?waitSeconds=${waitSeconds}`, { key: token });
  const finish = (token: string, taskId: string, status = "Success", errorMessage = "") =>
    t.request("POST", apiPaths.agentTaskFinish(taskId), { key: token, json: { status, errorMessage } });

  it("moves the initial download Pending → Running → Success through the agent routes", async () => {
    const { session, sessionToken } = await createSession();
    expect(sessionToken).toMatch(/^cst_/);
    expect(await tasksOf(session.id)).toMatchObject([{ taskType: "download", status: "Pending", path: "/w" }]);

    const me = await t.json<{ sessionId: string; status: string; mounts: unknown[] }>("GET", apiPaths.agentSession, { key: sessionToken });
    expect(me).toMatchObject({ sessionId: session.id, status: "running", mounts: [{ contextId: ctx, path: "/w", namespace: "/w" }] });

    const claimed = await poll(sessionToken);
    expect(claimed).toMatchObject({ sessionStatus: "running", tasks: [{ taskType: "download", mount: { contextId: ctx, path: "/w", namespace: "/w" } }] });
    expect(claimed.tasks[0]!.mount.policy).toMatchObject({ uploadPolicy: { autoUpload: true } });
    expect(await tasksOf(session.id)).toMatchObject([{ status: "Running" }]);
    expect((await poll(sessionToken)).tasks).toEqual([]);

    const { files } = await t.json<{ files: { key: string; digest: string }[] }>("GET", `${apiPaths.agentContextFiles(ctx)}?prefix=/w`, { key: sessionToken });
    expect(files).toMatchObject([{ key: "/w/a.txt", digest: sha("from the store") }]);
    const blob = await t.request("GET", apiPaths.agentBlob(files[0]!.digest), { key: sessionToken });
    expect(await blob.text()).toBe("from the store");
    const base = { key: "/w/a.txt", ...fileMeta("from the store") };
    expect((await t.request("POST", apiPaths.agentBases, { key: sessionToken, json: { mountPath: "/w", upserts: [base], deletes: [] } })).status).toBe(204);
    expect(await t.json("GET", `${apiPaths.agentBases}?path=/w`, { key: sessionToken })).toEqual({ entries: [base] });

    const taskId = claimed.tasks[0]!.id;
    const progress = { filesDone: 1, filesTotal: 1, bytesDone: 14, bytesTotal: 14 };
    expect((await t.request("POST", apiPaths.agentTaskProgress(taskId), { key: sessionToken, json: progress })).status).toBe(204);
    expect((await finish(sessionToken, taskId)).status).toBe(204);
    expect(await tasksOf(session.id)).toMatchObject([{ status: "Success", filesDone: 1, errorMessage: "" }]);
    const again = await finish(sessionToken, taskId, "Failed", "late");
    expect(again.status).toBe(400);
  });

  it("offers a task again when a new agent attaches after the one that claimed it went away", async () => {
    const { session, sessionToken } = await createSession();
    const [claimed] = (await poll(sessionToken)).tasks;
    expect(await tasksOf(session.id)).toMatchObject([{ id: claimed!.id, status: "Running" }]);
    expect((await poll(sessionToken)).tasks).toEqual([]);

    const attached = await t.json<{ sessionId: string; status: string }>("POST", apiPaths.agentSession, { key: sessionToken });
    expect(attached).toMatchObject({ sessionId: session.id, status: "running" });
    expect(await tasksOf(session.id)).toMatchObject([{ id: claimed!.id, status: "Pending" }]);
    expect((await poll(sessionToken)).tasks).toMatchObject([{ id: claimed!.id, taskType: "download" }]);
    expect((await finish(sessionToken, claimed!.id)).status).toBe(204);
    // A finished task stays finished when yet another agent attaches.
    await t.json("POST", apiPaths.agentSession, { key: sessionToken });
    expect(await tasksOf(session.id)).toMatchObject([{ id: claimed!.id, status: "Success" }]);
  });

  it("uploads through blob PUT and commit, stamped with the session; a stale head is 409 CommitConflict", async () => {
    const { session, sessionToken } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    expect(await tasksOf(session.id)).toEqual([]);
    const accepted = await t.json<{ tasks: Task[] }>("POST", apiPaths.sessionSync(session.id), { key: t.keyA, json: {} });
    expect(accepted.tasks).toMatchObject([{ taskType: "upload", status: "Pending" }]);
    const [task] = (await poll(sessionToken)).tasks;
    expect(task).toMatchObject({ taskType: "upload" });

    const content = "written in the sandbox";
    const digest = sha(content);
    expect((await t.request("HEAD", apiPaths.agentBlob(digest), { key: sessionToken })).status).toBe(404);
    const putRes = await t.request("PUT", apiPaths.agentBlob(digest), { key: sessionToken, body: content, headers: { "content-length": String(content.length) } });
    expect(putRes.status).toBe(204);
    expect((await t.request("HEAD", apiPaths.agentBlob(digest), { key: sessionToken })).status).toBe(200);
    const bad = await t.request("PUT", apiPaths.agentBlob(sha("other")), { key: sessionToken, body: content, headers: { "content-length": String(content.length) } });
    expect(bad.status).toBe(422);

    const head = await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: sessionToken });
    expect(head).toEqual({ contextId: ctx, headGeneration: 1 });
    const commit = {
      contextId: ctx,
      expectedHead: 1,
      changes: [{ kind: "put", key: "/w/b.txt", meta: fileMeta(content), expiresAtMs: null }],
      base: { mountPath: "/w", upserts: [{ key: "/w/b.txt", ...fileMeta(content) }], deletes: [] },
    };
    expect(await t.json("POST", apiPaths.agentCommits, { key: sessionToken, json: commit })).toEqual({ generation: 2 });
    const stale = await t.request("POST", apiPaths.agentCommits, { key: sessionToken, json: commit });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ code: "CommitConflict" });
    const missingBlob = await t.request("POST", apiPaths.agentCommits, {
      key: sessionToken,
      json: { ...commit, expectedHead: 2, changes: [{ kind: "put", key: "/w/c.txt", meta: fileMeta("never uploaded"), expiresAtMs: null }] },
    });
    expect(missingBlob.status).toBe(404);
    expect(await missingBlob.json()).toMatchObject({ code: "BlobNotFound" });

    expect((await finish(sessionToken, task!.id)).status).toBe(204);
    const gens = await t.json<{ generations: { generation: number; sessionId: string | null }[] }>("GET", apiPaths.contextGenerations(ctx), { key: t.keyA });
    expect(gens.generations[0]).toMatchObject({ generation: 2, sessionId: session.id });
    expect(await tasksOf(session.id)).toMatchObject([{ taskType: "upload", status: "Success" }]);
  });

  it("a session learns of, and may commit, only blobs its scope references or it sent itself, whatever another tenant stored", async () => {
    // Tenant A's context holds "from the store" (beforeEach); tenant B knows, or guesses, the content.
    const secret = "from the store";
    const theirs = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyB, json: { name: "guess" } })).id;
    const contextSync = [{ contextId: theirs, path: "/g", policy: { downloadPolicy: { autoDownload: false } } }];
    const { sessionToken: b } = await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyB, json: { contextSync } });
    const head = async (token: string) => (await t.request("HEAD", apiPaths.agentBlob(sha(secret)), { key: token })).status;
    const commitGuess = () =>
      t.request("POST", apiPaths.agentCommits, {
        key: b,
        json: { contextId: theirs, expectedHead: 0, changes: [{ kind: "put", key: "/g/pin.txt", meta: fileMeta(secret), expiresAtMs: null }] },
      });
    const put = (body: string) => t.request("PUT", apiPaths.agentBlob(sha(secret)), { key: b, body, headers: { "content-length": String(body.length) } });

    expect(await head(b)).toBe(404);
    expect(await t.json("POST", apiPaths.agentBlobsMissing, { key: b, json: { digests: [sha(secret)] } })).toEqual({ missing: [sha(secret)] });
    const guessed = await commitGuess();
    expect(guessed.status).toBe(404);
    expect(await guessed.json()).toMatchObject({ code: "BlobNotFound" });
    // Bytes that do not match are refused even though the store has the blob, and entitle nothing.
    expect((await put("from the stork")).status).toBe(422);
    expect((await commitGuess()).status).toBe(404);
    // Sending the bytes shows B holds them: then B may commit them, and A's session still sees its own.
    expect((await put(secret)).status).toBe(204);
    expect(await head(b)).toBe(200);
    expect((await commitGuess()).status).toBe(200);
    const { sessionToken: a } = await createSession();
    expect(await head(a)).toBe(200);
  });

  it("bytes sent unnamed entitle the session to commit them, and the answer never tells whether another tenant stored them", async () => {
    const secret = "from the store"; // in tenant A's context (beforeEach)
    const fresh = "never stored anywhere";
    const theirs = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyB, json: { name: "guess" } })).id;
    const contextSync = [{ contextId: theirs, path: "/g", policy: { downloadPolicy: { autoDownload: false } } }];
    const { sessionToken: b } = await t.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: t.keyB, json: { contextSync } });
    const unnamed = (...contents: string[]) =>
      t.request("POST", apiPaths.agentBlobsUnnamed, {
        key: b,
        body: Buffer.concat(contents.flatMap((c) => [blobFrameHeader(UNNAMED_DIGEST, "unnamed", Buffer.byteLength(c)), Buffer.from(c)])),
        headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE },
      });
    const res = await unnamed(secret, fresh);
    expect(res.status).toBe(200);
    // The same answer for content stored before (by tenant A) as for content no one had.
    expect(await res.json()).toEqual({ digests: [sha(secret), sha(fresh)], failed: [] });
    // Another session (of tenant A, which stored `secret` itself) may not name what B sent: what this
    // server remembers of fresh uploads is per session.
    const { sessionToken: a } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    const { headGeneration } = await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: a });
    const borrowed = await t.request("POST", apiPaths.agentCommits, {
      key: a,
      json: { contextId: ctx, expectedHead: headGeneration, changes: [{ kind: "put", key: "/w/borrowed.txt", meta: fileMeta(fresh), expiresAtMs: null }] },
    });
    expect(borrowed.status).toBe(404);
    expect(await borrowed.json()).toMatchObject({ code: "BlobNotFound" });

    const changes = [secret, fresh].map((c, i) => ({ kind: "put", key: `/g/${i}.txt`, meta: fileMeta(c), expiresAtMs: null }));
    expect(await t.json("POST", apiPaths.agentCommits, { key: b, json: { contextId: theirs, expectedHead: 0, changes } })).toEqual({ generation: 1 });
  });

  it("a blob sent unnamed on its own (POST /v1/agent/blobs) is named by its hash and entitles only the session that sent it", async () => {
    const fresh = "a large file, in spirit";
    const { sessionToken: b } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    const res = await t.request("POST", apiPaths.agentBlobs, { key: b, body: fresh, headers: { "content-type": "application/octet-stream", "content-length": String(fresh.length) } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ digest: sha(fresh), sizeBytes: fresh.length });
    expect(await t.stores.blobs.has(sha(fresh))).toBe(true);

    const commitAs = async (token: string) => {
      const { headGeneration } = await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: token });
      return t.request("POST", apiPaths.agentCommits, {
        key: token,
        json: { contextId: ctx, expectedHead: headGeneration, changes: [{ kind: "put", key: "/w/big.bin", meta: fileMeta(fresh), expiresAtMs: null }] },
      });
    };
    const { sessionToken: other } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    const borrowed = await commitAs(other);
    expect(borrowed.status).toBe(404);
    expect(await borrowed.json()).toMatchObject({ code: "BlobNotFound" });
    expect((await commitAs(b)).status).toBe(200);
  });

  it("drops a commit's upload records after answering it, in the background", async () => {
    const { session, sessionToken } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    const content = "committed, then forgotten";
    await t.request("PUT", apiPaths.agentBlob(sha(content)), { key: sessionToken, body: content, headers: { "content-length": String(content.length) } });
    expect(await t.stores.meta.uploadedBlobSizes(session.id, [sha(content)])).toEqual(new Map([[sha(content), content.length]]));
    const { headGeneration } = await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: sessionToken });
    const changes = [{ kind: "put", key: "/w/kept.txt", meta: fileMeta(content), expiresAtMs: null }];
    expect(await t.json("POST", apiPaths.agentCommits, { key: sessionToken, json: { contextId: ctx, expectedHead: headGeneration, changes } })).toEqual({
      generation: headGeneration + 1,
    });
    await vi.waitFor(async () => expect(await t.stores.meta.uploadedBlobSizes(session.id, [sha(content)])).toEqual(new Map()), { timeout: 5000 });
    expect(t.logged).toEqual([]);
  });

  it("refuses a put whose sizeBytes is not the size of its blob, sent by the session or referenced in its scope", async () => {
    const { sessionToken } = await createSession();
    const sent = "sent by this agent";
    const batched = "batched by this agent";
    const putRes = await t.request("PUT", apiPaths.agentBlob(sha(sent)), { key: sessionToken, body: sent, headers: { "content-length": String(sent.length) } });
    expect(putRes.status).toBe(204);
    const frames = Buffer.concat([blobFrameHeader(sha(batched), "ok", batched.length), Buffer.from(batched)]);
    const batch = await t.request("POST", apiPaths.agentBlobsBatch, { key: sessionToken, body: frames, headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
    expect(batch.status).toBe(200);
    const { headGeneration } = await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: sessionToken });
    const commitClaiming = (content: string, sizeBytes: number) =>
      t.request("POST", apiPaths.agentCommits, {
        key: sessionToken,
        json: { contextId: ctx, expectedHead: headGeneration, changes: [{ kind: "put", key: "/w/x.txt", meta: { ...fileMeta(content), sizeBytes }, expiresAtMs: null }] },
      });

    for (const content of [sent, batched, "from the store"]) {
      const res = await commitClaiming(content, content.length + 1);
      expect(res.status, content).toBe(400);
      expect(await res.json()).toMatchObject({
        code: "InvalidParameter",
        message: `File /w/x.txt says sizeBytes ${content.length + 1}, but its content (blob ${sha(content)}) is ${content.length} bytes. Send the size of the bytes the digest was taken of.`,
      });
    }
    expect((await t.json<{ headGeneration: number }>("GET", apiPaths.agentContext(ctx), { key: sessionToken })).headGeneration).toBe(headGeneration);
    expect((await commitClaiming(sent, sent.length)).status).toBe(200);

    // A version written before sizes were checked may record a wrong size: the right one still commits.
    const stored = "from the store";
    const wrong: FileMeta = { type: "file", digest: sha(stored), sizeBytes: 999, mode: 0o644, mtimeMs: 1_700_000_000_000, linkTarget: null };
    await t.stores.meta.commitGeneration({ contextId: ctx, expectedHead: headGeneration + 1, sessionId: null, timeMs: Date.now(), changes: [{ kind: "put", key: "/w/old.txt", meta: wrong, expiresAtMs: null }] });
    const right = await t.request("POST", apiPaths.agentCommits, {
      key: sessionToken,
      json: { contextId: ctx, expectedHead: headGeneration + 2, changes: [{ kind: "put", key: "/w/again.txt", meta: fileMeta(stored), expiresAtMs: null }] },
    });
    expect(right.status).toBe(200);
  });

  it("a commit touches the blobs it names, except those this server saw absent and then stored, within the window", async () => {
    const clock = new FakeClock();
    const own = await openTestServer({ clock });
    try {
      const context = (await own.json<{ id: string }>("POST", apiPaths.contexts, { key: own.keyA, json: { name: "work" } })).id;
      const contextSync = [{ contextId: context, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }];
      const { sessionToken: token } = await own.json<{ sessionToken: string }>("POST", apiPaths.sessions, { key: own.keyA, json: { contextSync } });
      const blobs = own.stores.blobs as LocalDirBlobStore;
      const fileOf = (content: string) => path.join(blobs.dir, sha(content).slice(0, 2), sha(content));
      const longAgo = new Date(Date.now() - 48 * 3600_000);
      const isOld = (content: string) => fs.statSync(fileOf(content)).mtimeMs < Date.now() - 47 * 3600_000;
      const headStatus = async (content: string) => (await own.request("HEAD", apiPaths.agentBlob(sha(content)), { key: token })).status;
      const putStatus = async (content: string, body = content) =>
        (await own.request("PUT", apiPaths.agentBlob(sha(content)), { key: token, body, headers: { "content-length": String(body.length) } })).status;
      // Not created here: two files the context holds already (the session may name them), one of them
      // found present by the agent (its touch may be lost to a collection deleting at that moment, on S3).
      const found = "found by this agent";
      const old = "stored long ago";
      for (const [name, content] of [["found", found], ["old", old]]) {
        const { url } = await own.json<{ url: string }>("POST", apiPaths.contextFileUrls(context), { key: own.keyA, json: { path: `/w/${name}`, method: "PUT" } });
        expect((await own.app.request(url, { method: "PUT", body: content })).status).toBe(200);
      }
      let head = (await own.json<{ headGeneration: number }>("GET", apiPaths.agentContext(context), { key: token })).headGeneration;
      const commit = async (...contents: string[]) => {
        const changes = contents.map((content, i) => ({ kind: "put", key: `/w/${head}-${i}.txt`, meta: fileMeta(content), expiresAtMs: null }));
        const res = await own.request("POST", apiPaths.agentCommits, { key: token, json: { contextId: context, expectedHead: head, changes } });
        if (res.status === 200) head++;
        return res;
      };

      // Created here: one streamed (HEAD 404, PUT), one batched (missing, frames).
      const sent = "sent by this agent";
      const batched = "batched by this agent";
      expect(await headStatus(sent)).toBe(404);
      expect(await putStatus(sent)).toBe(204);
      expect(await own.json("POST", apiPaths.agentBlobsMissing, { key: token, json: { digests: [sha(batched)] } })).toEqual({ missing: [sha(batched)] });
      const frames = Buffer.concat([blobFrameHeader(sha(batched), "ok", batched.length), Buffer.from(batched)]);
      const batch = await own.request("POST", apiPaths.agentBlobsBatch, { key: token, body: frames, headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
      expect(await batch.json()).toEqual({ stored: 1, failed: [] });
      // And one sent unnamed: written anew whether or not it was stored, so fresh with no absence seen.
      const unnamed = "sent unnamed by this agent";
      const body = Buffer.concat([blobFrameHeader(UNNAMED_DIGEST, "unnamed", unnamed.length), Buffer.from(unnamed)]);
      const named = await own.request("POST", apiPaths.agentBlobsUnnamed, { key: token, body, headers: { "content-type": BLOB_FRAMES_CONTENT_TYPE } });
      expect(await named.json()).toEqual({ digests: [sha(unnamed)], failed: [] });
      expect(await own.json("POST", apiPaths.agentBlobsMissing, { key: token, json: { digests: [sha(found)] } })).toEqual({ missing: [] });
      for (const content of [sent, batched, unnamed, found, old]) fs.utimesSync(fileOf(content), longAgo, longAgo);

      expect((await commit(sent, batched, unnamed, found, old)).status).toBe(200);
      expect([sent, batched, unnamed, found, old].map(isOld)).toEqual([true, true, true, false, false]);

      // Past the window, a blob created here is touched like any other.
      fs.utimesSync(fileOf(sent), longAgo, longAgo);
      clock.advance(16 * 60_000);
      expect((await commit(sent)).status).toBe(200);
      expect(isOld(sent)).toBe(false);

      // Seen absent, but its upload was refused: the commit finds it missing.
      const refused = "refused upload";
      expect(await headStatus(refused)).toBe(404);
      expect(await putStatus(refused, "other bytes!!!")).toBe(422);
      const missing = await commit(refused);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: "BlobNotFound" });
    } finally {
      await own.close();
    }
  });

  it("takes base upserts that repeat a put as its index (upsertPuts); an index of no put, or one named twice, is 400", async () => {
    const { sessionToken } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    // Advertised to agents, which use the compact form (and unnamed blobs, small and large) only with a server that lists it.
    expect(await t.json("POST", apiPaths.agentSession, { key: sessionToken })).toMatchObject({ features: ["commit.upsertPuts", "blobs.unnamed", "blobs.unnamedStream"] });
    const content = "written in the sandbox";
    await t.request("PUT", apiPaths.agentBlob(sha(content)), { key: sessionToken, body: content, headers: { "content-length": String(content.length) } });
    const changes = [
      { kind: "delete", key: "/w/a.txt" },
      { kind: "put", key: "/w/b.txt", meta: fileMeta(content), expiresAtMs: null },
    ];
    const notAPut = await t.request("POST", apiPaths.agentCommits, {
      key: sessionToken,
      json: { contextId: ctx, expectedHead: 1, changes, base: { mountPath: "/w", upserts: [], upsertPuts: [0], deletes: [] } },
    });
    expect(notAPut.status).toBe(400);
    expect(await notAPut.json()).toMatchObject({ code: "InvalidParameter" });
    // Each index expands to a whole entry: repeats would let a small body build a huge base.
    const twice = await t.request("POST", apiPaths.agentCommits, {
      key: sessionToken,
      json: { contextId: ctx, expectedHead: 1, changes, base: { mountPath: "/w", upserts: [], upsertPuts: [1, 1], deletes: [] } },
    });
    expect(twice.status).toBe(400);
    expect(await t.json("GET", apiPaths.agentContext(ctx), { key: sessionToken })).toMatchObject({ headGeneration: 1 });

    const base = { mountPath: "/w", upserts: [{ key: "/w/c.txt", ...fileMeta("seen before") }], upsertPuts: [1], deletes: ["/w/a.txt"] };
    expect(await t.json("POST", apiPaths.agentCommits, { key: sessionToken, json: { contextId: ctx, expectedHead: 1, changes, base } })).toEqual({ generation: 2 });
    const { entries } = await t.json<{ entries: { key: string }[] }>("GET", `${apiPaths.agentBases}?path=/w`, { key: sessionToken });
    expect(entries).toEqual([
      { key: "/w/b.txt", ...fileMeta(content) },
      { key: "/w/c.txt", ...fileMeta("seen before") },
    ]);
  });

  it("answers DELETE /v1/sessions/{id} only after the agent finished the release upload", async () => {
    const { session, sessionToken } = await createSession();
    const [download] = (await poll(sessionToken)).tasks;
    await finish(sessionToken, download!.id);

    let answered = false;
    const release = t.request("DELETE", apiPaths.session(session.id), { key: t.keyA }).then(async (r) => {
      answered = true;
      return { status: r.status, body: (await r.json()) as unknown };
    });
    // The upload is queued (waking this poll) just before the session turns releasing.
    const during = await poll(sessionToken, 5);
    expect(during).toMatchObject({ sessionStatus: expect.stringMatching(/^(running|releasing)$/), tasks: [{ taskType: "upload", mount: { path: "/w" } }] });
    expect(answered).toBe(false);
    await vi.waitFor(async () => expect((await t.json<{ status: string }>("GET", apiPaths.session(session.id), { key: t.keyA })).status).toBe("releasing"));
    expect(answered).toBe(false);
    expect((await finish(sessionToken, during.tasks[0]!.id)).status).toBe(204);
    expect(await release).toEqual({ status: 200, body: { uploadsSucceeded: true } });

    expect((await t.json<{ status: string }>("GET", apiPaths.session(session.id), { key: t.keyA })).status).toBe("released");
    expect(await poll(sessionToken)).toEqual({ sessionStatus: "released", tasks: [] });
    const after = await t.request("GET", `${apiPaths.agentContextFiles(ctx)}?prefix=/w`, { key: sessionToken });
    expect(after.status).toBe(409);
    expect(await after.json()).toMatchObject({ code: "SessionNotActive" });
  });

  it("reports a failed release upload with the agent's message", async () => {
    const { session, sessionToken } = await createSession([{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }]);
    const release = t.json<{ uploadsSucceeded: boolean; errorMessage?: string }>("DELETE", apiPaths.session(session.id), { key: t.keyA });
    const { tasks } = await poll(sessionToken, 5);
    await finish(sessionToken, tasks[0]!.id, "Failed", "disk on fire");
    expect(await release).toEqual({ uploadsSucceeded: false, errorMessage: "/w: disk on fire" });
  });

  it("binds another context to a running session and queues its download", async () => {
    const { session, sessionToken } = await createSession([]);
    const other = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyA, json: { name: "other" } })).id;
    const bound = await t.json<{ tasks: Task[] }>("POST", apiPaths.sessionBindings(session.id), { key: t.keyA, json: { contextSync: [{ contextId: other, path: "/o" }] } });
    expect(bound.tasks).toMatchObject([{ taskType: "download", path: "/o", status: "Pending" }]);
    expect(await t.json("GET", apiPaths.sessionBindings(session.id), { key: t.keyA })).toMatchObject({
      bindings: [{ contextId: other, contextName: "other", path: "/o" }],
    });
    expect((await poll(sessionToken)).tasks).toMatchObject([{ mount: { contextId: other, path: "/o" } }]);
  });

  it("gives an ad-hoc sync path a mount of its own with the default policy", async () => {
    const { session, sessionToken } = await createSession([]);
    await t.json("POST", apiPaths.sessionSync(session.id), { key: t.keyA, json: { contextId: ctx, path: "/elsewhere", mode: "download" } });
    const { tasks } = await poll(sessionToken);
    expect(tasks).toMatchObject([{ taskType: "download", mount: { contextId: ctx, path: "/elsewhere", namespace: "/elsewhere" } }]);
    expect(tasks[0]!.mount.policy).toMatchObject({ downloadPolicy: { autoDownload: true } });
    expect((await t.request("GET", `${apiPaths.agentContextFiles(ctx)}?prefix=/elsewhere`, { key: sessionToken })).status).toBe(200);
  });
});

describe("an agent that stops sending heartbeats", () => {
  let t: TestServer;
  let ctx: string;
  beforeEach(async () => {
    t = await openTestServer({ options: { external: { heartbeatTimeoutMs: 300, pollIntervalMs: 10 } } });
    ctx = (await t.json<{ id: string }>("POST", apiPaths.contexts, { key: t.keyA, json: { name: "work" } })).id;
  });
  afterEach(() => t.close());

  const waitFor = async <T>(probe: () => Promise<T | undefined>): Promise<T> => {
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it("makes its session lost, and its Pending and Running tasks fail saying why", async () => {
    const { session, sessionToken } = await t.json<{ session: { id: string }; sessionToken: string }>("POST", apiPaths.sessions, {
      key: t.keyA,
      json: { contextSync: [{ contextId: ctx, path: "/w" }, { contextId: ctx, path: "/v" }] },
    });
    // The agent claims both downloads, then goes silent.
    expect((await t.json<Poll>("GET", `${apiPaths.agentTasks}?waitSeconds=0`, { key: sessionToken })).tasks).toHaveLength(2);
    await t.json("POST", apiPaths.sessionSync(session.id), { key: t.keyA, json: {} });

    await waitFor(async () => {
      await detectLostSessions({ meta: t.stores.meta, clock: t.deps.clock }, t.deps.options.external);
      const s = await t.json<{ status: string }>("GET", apiPaths.session(session.id), { key: t.keyA });
      return s.status === "lost" ? s : undefined;
    });
    const { tasks } = await t.json<{ tasks: Task[] }>("GET", apiPaths.sessionTasks(session.id), { key: t.keyA });
    expect(tasks).toHaveLength(4);
    for (const task of tasks) {
      expect(task.status).toBe("Failed");
      expect(task.errorMessage).toMatch(/agent stopped sending heartbeats/);
    }
    expect(await t.json("GET", `${apiPaths.agentTasks}?waitSeconds=0`, { key: sessionToken })).toEqual({ sessionStatus: "lost", tasks: [] });
    const sync = await t.request("POST", apiPaths.sessionSync(session.id), { key: t.keyA, json: {} });
    expect(sync.status).toBe(409);
    expect(await t.json("DELETE", apiPaths.session(session.id), { key: t.keyA })).toMatchObject({
      uploadsSucceeded: false,
      errorMessage: expect.stringMatching(/heartbeats/),
    });
  });

  it("ends a release that waits on it, with the upload failed", async () => {
    const { session, sessionToken } = await t.json<{ session: { id: string }; sessionToken: string }>("POST", apiPaths.sessions, {
      key: t.keyA,
      json: { contextSync: [{ contextId: ctx, path: "/w", policy: { downloadPolicy: { autoDownload: false } } }] },
    });
    const release = t.json<{ uploadsSucceeded: boolean; errorMessage?: string }>("DELETE", apiPaths.session(session.id), { key: t.keyA });
    await waitFor(async () => ((await t.json<Poll>("GET", `${apiPaths.agentTasks}?waitSeconds=0`, { key: sessionToken })).tasks[0]));
    const result = await release;
    expect(result.uploadsSucceeded).toBe(false);
    expect(result.errorMessage).toMatch(/\/w: The session's agent stopped sending heartbeats/);
    expect((await t.json<{ status: string }>("GET", apiPaths.session(session.id), { key: t.keyA })).status).toBe("released");
  });

  it("keeps a session whose agent keeps calling in, and loses it once the agent stops", async () => {
    const clock = { ms: Date.now(), now() { return this.ms; } };
    const clocked = await openTestServer({ clock, options: { external: { heartbeatTimeoutMs: 30_000 } } });
    try {
      const { session, sessionToken } = await clocked.json<{ session: { id: string }; sessionToken: string }>("POST", apiPaths.sessions, { key: clocked.keyA, json: {} });
      const check = () => detectLostSessions({ meta: clocked.stores.meta, clock }, { heartbeatTimeoutMs: 30_000, agentStartTimeoutMs: 120_000 });
      const status = async () => (await clocked.json<{ status: string }>("GET", apiPaths.session(session.id), { key: clocked.keyA })).status;
      for (let i = 0; i < 5; i++) {
        clock.ms += 20_000;
        await clocked.json("GET", `${apiPaths.agentTasks}?waitSeconds=0`, { key: sessionToken });
        clock.ms += 20_000;
        expect(await check()).toEqual([]);
      }
      expect(await status()).toBe("running");
      clock.ms += 11_000;
      expect(await check()).toEqual([session.id]);
      expect(await status()).toBe("lost");
    } finally {
      await clocked.close();
    }
  });
});
