import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blobFrameHeader } from "../api/index.js";
import { InvalidParameterError } from "../errors/index.js";
import { patternBytes, runBlobStoreContract, sha256 } from "../store/blob/contract.test-suite.js";
import type { BlobStore } from "../store/index.js";
import { ApiClient } from "./api-client.js";
import { RemoteApiError } from "./remote-api-error.js";
import { PROBE_FILES } from "./dedup-probe.js";
import { RemoteBlobStore } from "./remote-blob-store.js";
import { startAgentApiStub, type AgentApiStub } from "./test-agent-api-stub.js";

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// The contract, over HTTP. An agent never lists or deletes blobs (only the server collects garbage), so
// the harness lists and deletes through the server's own store: every other call goes over the wire.
runBlobStoreContract("RemoteBlobStore (agent routes, HTTP)", async () => {
  const dir = tempDir("ctxsync-remote-blobs-");
  const stub = await startAgentApiStub(dir);
  const remote = new RemoteBlobStore(new ApiClient(stub.endpoint, stub.token), { unnamedBlobs: true, unnamedStream: true });
  const store: BlobStore = {
    has: (d) => remote.has(d),
    touch: (d) => remote.touch(d),
    touchMany: (d) => remote.touchMany(d),
    putMany: (b) => remote.putMany(b),
    ingestMany: (b) => remote.ingestMany(b),
    getMany: (d) => remote.getMany(d),
    put: (d, body, n) => remote.put(d, body, n),
    putUnnamed: (body, n) => remote.putUnnamed(body, n),
    get: (d) => remote.get(d),
    ingestFiles: (items, p) => remote.ingestFiles(items, p),
    fetchFiles: (items, p) => remote.fetchFiles(items, p),
    flush: () => remote.flush(),
    list: () => stub.blobs.list(),
    delete: (d, opts) => stub.blobs.delete(d, opts),
  };
  return {
    store,
    cleanup: async () => {
      await stub.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    backdate: async (digest, storedAtMs) => {
      const when = new Date(storedAtMs);
      fs.utimesSync(path.join(dir, "blobs", digest.slice(0, 2), digest), when, when);
    },
  };
});

// Every call twice: with the download thread (blob fetches written into files there) and without it.
describe.each([
  { where: "download thread", downloadThread: true },
  { where: "no download thread", downloadThread: false },
])("RemoteBlobStore over HTTP ($where)", ({ downloadThread }) => {
  let dir: string;
  let stub: AgentApiStub;
  let store: RemoteBlobStore;

  beforeEach(async () => {
    dir = tempDir("ctxsync-remote-blobs-");
    stub = await startAgentApiStub(path.join(dir, "server"));
    store = new RemoteBlobStore(new ApiClient(stub.endpoint, stub.token, { downloadThread }), { concurrency: 4 });
  });
  afterEach(async () => {
    await stub.close().catch(() => undefined); // one test closes it itself
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, bytes: Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return { path: p, sizeBytes: bytes.length };
  };

  it("sends only the files whose content the server does not have yet", async () => {
    const known = patternBytes(5000, 1);
    await store.ingestFiles([write("known", known)]);
    stub.requests.length = 0;
    stub.batched.length = 0;
    const fresh = patternBytes(7000, 2);
    const results = await store.ingestFiles([write("a", known), write("b", fresh), write("c", known), write("d", fresh)]);
    expect(results).toEqual([
      { digest: sha256(known), sizeBytes: 5000 },
      { digest: sha256(fresh), sizeBytes: 7000 },
      { digest: sha256(known), sizeBytes: 5000 },
      { digest: sha256(fresh), sizeBytes: 7000 },
    ]);
    expect(stub.requests).toEqual(["POST /v1/agent/blobs/missing", "POST /v1/agent/blobs/batch"]);
    expect(stub.batched).toEqual([sha256(fresh)]);
  });

  it("ingestMany hashes the blobs itself and sends them named to a server that takes no unnamed blobs", async () => {
    const blobs = [patternBytes(100, 31), Buffer.alloc(0)];
    stub.requests.length = 0;
    expect(await store.ingestMany(blobs)).toEqual(blobs.map((b) => ({ digest: sha256(b), sizeBytes: b.length })));
    expect(stub.requests).toEqual(["POST /v1/agent/blobs/batch"]);
    expect(stub.batched).toEqual(blobs.map(sha256));
  });

  describe("with a server that takes unnamed blobs", () => {
    let unnamed: RemoteBlobStore;
    beforeEach(() => {
      unnamed = new RemoteBlobStore(new ApiClient(stub.endpoint, stub.token, { downloadThread }), { concurrency: 4, unnamedBlobs: true });
    });

    it("sends thousands of new small files unnamed after a probe or a few, and the server names them right", async () => {
      const files = Array.from({ length: 2500 }, (_, i) => write(`n${i}`, patternBytes(100 + (i % 50), 7000 + i)));
      stub.requests.length = 0;
      stub.batched.length = 0;
      const results = await unnamed.ingestFiles(files);
      expect(results).toEqual(files.map((f) => ({ digest: sha256(fs.readFileSync(f.path)), sizeBytes: f.sizeBytes })));
      expect(stub.requests[0]).toBe("POST /v1/agent/blobs/missing");
      // Probes are only the batches begun before the first probe answered (the next batch begins once a
      // send is done when two are in flight), each of PROBE_FILES files; every other file went unnamed,
      // hashed only by the server.
      const named = stub.batched.filter((d) => d !== "unnamed").length;
      expect(named).toBeGreaterThanOrEqual(PROBE_FILES);
      expect(named).toBeLessThanOrEqual(3 * PROBE_FILES);
      expect(stub.batched.length).toBe(2500);
      for (const r of results) expect("digest" in r && (await stub.blobs.has(r.digest))).toBe(true);
    });

    it("keeps asking first, and sends nothing, while the server has the content already", async () => {
      const contents = Array.from({ length: 2500 }, (_, i) => patternBytes(100 + (i % 50), 9000 + i));
      await unnamed.ingestFiles(contents.map((b, i) => write(`first${i}`, b)));
      stub.requests.length = 0;
      stub.batched.length = 0;
      const results = await unnamed.ingestFiles(contents.map((b, i) => write(`again${i}`, b)));
      expect(results).toEqual(contents.map((b) => ({ digest: sha256(b), sizeBytes: b.length })));
      expect(stub.batched).toEqual([]);
      expect(new Set(stub.requests)).toEqual(new Set(["POST /v1/agent/blobs/missing"]));
    });

    describe("and large ones unnamed (blobs.unnamedStream)", () => {
      let streams: RemoteBlobStore;
      beforeEach(() => {
        streams = new RemoteBlobStore(new ApiClient(stub.endpoint, stub.token, { downloadThread }), { concurrency: 4, unnamedBlobs: true, unnamedStream: true });
      });
      const smallAndLarge = (tag: string, seed: number) => [
        ...Array.from({ length: 2500 }, (_, i) => patternBytes(100 + (i % 50), seed + i)),
        patternBytes((1 << 20) + 1, seed - 1),
        patternBytes(2 << 20, seed - 2),
      ].map((b, i) => ({ bytes: b, file: write(`${tag}${i}`, b) }));

      it("sends the large files of new content at once, unhashed (no HEAD, no PUT), once a probe found the content new", async () => {
        const files = smallAndLarge("new", 20_000);
        stub.requests.length = 0;
        const results = await streams.ingestFiles(files.map((f) => f.file));
        expect(results).toEqual(files.map((f) => ({ digest: sha256(f.bytes), sizeBytes: f.bytes.length })));
        expect(stub.requests.filter((r) => r === "POST /v1/agent/blobs")).toHaveLength(2);
        expect(stub.requests.filter((r) => r.startsWith("HEAD") || r.startsWith("PUT"))).toEqual([]);
        for (const f of files.slice(-2)) expect(await stub.blobs.has(sha256(f.bytes))).toBe(true);
      });

      it("asks first about large files while the content is not new, and sends none the server has", async () => {
        const files = smallAndLarge("first", 30_000);
        await streams.ingestFiles(files.map((f) => f.file));
        stub.requests.length = 0;
        const again = files.map((f, i) => write(`again${i}`, f.bytes));
        const results = await streams.ingestFiles(again);
        expect(results).toEqual(files.map((f) => ({ digest: sha256(f.bytes), sizeBytes: f.bytes.length })));
        expect(stub.requests.filter((r) => r.startsWith("HEAD"))).toHaveLength(2);
        expect(stub.requests.filter((r) => r.startsWith("PUT") || r === "POST /v1/agent/blobs")).toEqual([]);
      });

      it("asks first about large files that come without small ones: nothing tells yet that their content is new", async () => {
        const big = patternBytes((1 << 20) + 5, 41);
        stub.requests.length = 0;
        expect(await streams.ingestFiles([write("alone", big)])).toEqual([{ digest: sha256(big), sizeBytes: big.length }]);
        expect(stub.requests).toEqual([`HEAD /v1/agent/blobs/${sha256(big)}`, `PUT /v1/agent/blobs/${sha256(big)}`]);
      });
    });
  });

  it("putUnnamed hashes the bytes here and PUTs them named to a server that takes no unnamed streams", async () => {
    const bytes = patternBytes(3 << 20, 5);
    stub.requests.length = 0;
    expect(await store.putUnnamed(Readable.from([bytes]), bytes.length)).toEqual({ digest: sha256(bytes), sizeBytes: bytes.length });
    expect(stub.requests).toEqual([`PUT /v1/agent/blobs/${sha256(bytes)}`]);
    await expect(store.putUnnamed(Readable.from([bytes]), bytes.length + 1)).rejects.toBeInstanceOf(InvalidParameterError);
  });

  it("sends a small file that grew past its scanned size alone, streamed, as it is now", async () => {
    const grown = patternBytes(5000, 21);
    const file = write("grown", grown);
    stub.requests.length = 0;
    const [result] = await store.ingestFiles([{ path: file.path, sizeBytes: 100 }]); // scanned at 100 bytes
    expect(result).toEqual({ digest: sha256(grown), sizeBytes: 5000 });
    expect(stub.requests).toContain(`PUT /v1/agent/blobs/${sha256(grown)}`);
    expect(stub.requests).not.toContain("POST /v1/agent/blobs/batch");
  });

  it("sends the missing frames of a batch with the known ones left out between them", async () => {
    const known = [patternBytes(900, 11), patternBytes(800, 12)];
    await store.ingestFiles(known.map((b, i) => write(`k${i}`, b)));
    stub.batched.length = 0;
    const fresh = [patternBytes(700, 13), patternBytes(600, 14), patternBytes(500, 15)];
    const order = [known[0]!, fresh[0]!, known[1]!, fresh[1]!, fresh[2]!];
    const results = await store.ingestFiles(order.map((b, i) => write(`m${i}`, b)));
    expect(results).toEqual(order.map((b) => ({ digest: sha256(b), sizeBytes: b.length })));
    expect(stub.batched).toEqual(fresh.map(sha256));
    const targets = order.map((b, i) => ({ digest: sha256(b), targetPath: path.join(dir, `back${i}`), sizeBytes: b.length }));
    expect(await store.fetchFiles(targets)).toEqual(order.map(() => null));
    for (const [i, b] of order.entries()) expect(fs.readFileSync(targets[i]!.targetPath).equals(b)).toBe(true);
  });

  it("sends a few hundred small files in one batch", async () => {
    const files = Array.from({ length: 300 }, (_, i) => write(`f${i}`, patternBytes(100 + (i % 50), i)));
    stub.requests.length = 0;
    expect((await store.ingestFiles(files)).every((r) => "digest" in r)).toBe(true);
    expect(stub.requests).toEqual(["POST /v1/agent/blobs/missing", "POST /v1/agent/blobs/batch"]);
  });

  it("moves thousands of small files in a few batch requests each way, at most two batches at once", async () => {
    const files = Array.from({ length: 2500 }, (_, i) => write(`s${i}`, patternBytes(100 + (i % 50), i)));
    stub.requests.length = 0;
    const results = await store.ingestFiles(files);
    expect(results.every((r) => "digest" in r)).toBe(true);
    // 64 and 256 files first, so the server has work at once; then 1024 a batch: 64 + 256 + 1024 + 1024 + 132.
    expect(stub.requests.filter((r) => r === "POST /v1/agent/blobs/missing")).toHaveLength(5);
    expect(stub.requests.filter((r) => r === "POST /v1/agent/blobs/batch")).toHaveLength(5);
    expect(stub.requests).toHaveLength(10);
    expect(stub.maxInFlight()).toBeLessThanOrEqual(2);

    stub.requests.length = 0;
    const targets = files.map((f, i) => ({ digest: sha256(fs.readFileSync(f.path)), targetPath: path.join(dir, `out${i}`), sizeBytes: f.sizeBytes }));
    expect(await store.fetchFiles(targets)).toEqual(files.map(() => null));
    // Smaller fetch batches (128 files), so the server reads one while the agent writes another.
    expect(stub.requests).toEqual(Array.from({ length: Math.ceil(2500 / 128) }, () => "POST /v1/agent/blobs/fetch"));
    expect(stub.maxInFlight()).toBeLessThanOrEqual(2);
    for (const [i, f] of files.entries()) expect(fs.readFileSync(targets[i]!.targetPath).equals(fs.readFileSync(f.path))).toBe(true);
  });

  it("fails only the items of a fetch that cannot be written, and leaves files it did not create alone", async () => {
    const a = write("a", patternBytes(300, 1));
    const b = write("b", patternBytes(400, 2));
    await store.ingestFiles([a, b]);
    const occupied = path.join(dir, "occupied");
    fs.writeFileSync(occupied, "someone else's");
    const errors = await store.fetchFiles([
      { digest: sha256(fs.readFileSync(a.path)), targetPath: path.join(dir, "outA"), sizeBytes: 300 },
      { digest: sha256(Buffer.from("never stored")), targetPath: path.join(dir, "outX"), sizeBytes: 12 },
      { digest: sha256(fs.readFileSync(b.path)), targetPath: occupied, sizeBytes: 400 },
    ]);
    expect(errors[0]).toBeNull();
    expect(errors[1]).toMatchObject({ code: "BlobNotFound" });
    expect(errors[2]).toMatchObject({ code: "EEXIST" });
    expect(fs.readFileSync(path.join(dir, "outA")).equals(fs.readFileSync(a.path))).toBe(true);
    expect(fs.existsSync(path.join(dir, "outX"))).toBe(false);
    expect(fs.readFileSync(occupied, "utf8")).toBe("someone else's");
  });

  it("fails a file whose blob the server holds damaged with BlobUnreadable, small or streamed, and creates no file", async () => {
    const small = write("small", patternBytes(3000, 5));
    const large = write("large", patternBytes(3 << 20, 6));
    await store.ingestFiles([small, large]);
    const [ds, dl] = [small, large].map((f) => sha256(fs.readFileSync(f.path)));
    // The server checks each blob as it reads it: a small one comes back as "unreadable", a streamed one
    // is cut short after its last byte, when the check fails.
    for (const d of [ds!, dl!]) {
      const blob = path.join(dir, "server", "blobs", d.slice(0, 2), d);
      const bytes = fs.readFileSync(blob);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      fs.writeFileSync(blob, bytes);
    }
    const errors = await store.fetchFiles([
      { digest: ds!, targetPath: path.join(dir, "outS"), sizeBytes: small.sizeBytes },
      { digest: dl!, targetPath: path.join(dir, "outL"), sizeBytes: large.sizeBytes },
    ]);
    expect(errors).toEqual([expect.objectContaining({ code: "BlobUnreadable" }), expect.objectContaining({ code: "BlobUnreadable" })]);
    expect(errors[0]!.message).toContain(`could not send blob ${ds}: its stored copy is damaged`);
    expect(fs.existsSync(path.join(dir, "outS"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "outL"))).toBe(false);
  });

  it("fails a file with BlobUnreadable when the server cannot hand out its blob in a batch, and creates no file", async () => {
    const large = write("large", patternBytes(3 << 20, 7));
    await store.ingestFiles([large]);
    // Announced as small, so it is asked for in a batch, where the server refuses blobs over 1 MiB.
    const [err] = await store.fetchFiles([{ digest: sha256(fs.readFileSync(large.path)), targetPath: path.join(dir, "out"), sizeBytes: 10 }]);
    expect(err).toMatchObject({ code: "BlobUnreadable", message: expect.stringContaining("could not send blob") });
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
  });

  it("getMany brings back 65 blobs of 1 MiB, more than one fetch answer may carry", async () => {
    const blobs = Array.from({ length: 65 }, (_, i) => patternBytes(1 << 20, 100 + i));
    expect(await store.putMany(blobs.map((bytes) => ({ digest: sha256(bytes), bytes })))).toEqual(blobs.map(() => null));
    const got = await store.getMany(blobs.map(sha256));
    expect(got.every((b, i) => Buffer.isBuffer(b) && b.equals(blobs[i]!))).toBe(true);
  });

  it("streams files over 1 MiB one by one, keeping at most `concurrency` transfers in flight, results in item order", async () => {
    const files = Array.from({ length: 6 }, (_, i) => write(`f${i}`, patternBytes((1 << 20) + 1 + i, i)));
    stub.requests.length = 0;
    const results = await store.ingestFiles(files);
    expect(results.map((r) => ("digest" in r ? r.sizeBytes : -1))).toEqual(files.map((f) => f.sizeBytes));
    expect(stub.requests.filter((r) => r.startsWith("PUT"))).toHaveLength(6);
    expect(stub.maxInFlight()).toBeGreaterThan(1);
    expect(stub.maxInFlight()).toBeLessThanOrEqual(4);
    const targets = files.map((f, i) => ({ digest: sha256(fs.readFileSync(f.path)), targetPath: path.join(dir, `out${i}`), sizeBytes: f.sizeBytes }));
    expect(await store.fetchFiles(targets)).toEqual(files.map(() => null));
    for (const [i, f] of files.entries()) expect(fs.readFileSync(targets[i]!.targetPath).equals(fs.readFileSync(f.path))).toBe(true);
    expect(stub.maxInFlight()).toBeLessThanOrEqual(4);
  });

  it("fails the items of a fetch answer that is cut short or out of order, and creates none of their files", async () => {
    const a = patternBytes(300, 1);
    const b = patternBytes(400, 2);
    // A server that answers every fetch with b's frame only, or with a's frame cut in half.
    let answer: Buffer = Buffer.alloc(0);
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.end(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const bad = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }));
      const items = [a, b].map((bytes, i) => ({ digest: sha256(bytes), targetPath: path.join(dir, `bad${i}`), sizeBytes: bytes.length }));
      for (const body of [
        Buffer.concat([blobFrameHeader(sha256(b), "ok", b.length), b]),
        Buffer.concat([blobFrameHeader(sha256(a), "ok", a.length), a.subarray(0, 100)]),
      ]) {
        answer = body;
        const errors = await bad.fetchFiles(items);
        expect(errors.every((e) => e instanceof Error)).toBe(true);
        for (const item of items) expect(fs.existsSync(item.targetPath)).toBe(false);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("takes a refusal in an unnamed answer as that blob's error, and refuses an answer that does not account for every blob, or names no digest", async () => {
    const blobs = [patternBytes(30, 3), patternBytes(40, 4)];
    // A server whose answers to unnamed uploads are set by the test.
    let answer: unknown;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const bad = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }), { unnamedBlobs: true });
      answer = { digests: [sha256(blobs[0]!), null], failed: [{ index: 1, code: "StoreUnavailable", message: "refused" }] };
      const [ok, refused] = await bad.ingestMany(blobs);
      expect(ok).toEqual({ digest: sha256(blobs[0]!), sizeBytes: 30 });
      expect(refused).toMatchObject({ error: { code: "StoreUnavailable", message: "refused" } });
      for (const wrong of [
        { digests: [sha256(blobs[0]!)], failed: [] }, // one digest for two blobs
        { digests: [sha256(blobs[0]!), null], failed: [] }, // a blob neither named nor refused
        { digests: [sha256(blobs[0]!), "not a digest"], failed: [] },
        { stored: 2, failed: [] }, // a named batch's answer
      ]) {
        answer = wrong;
        await expect(bad.ingestMany(blobs), JSON.stringify(wrong)).rejects.toThrow(/unnamed upload/);
      }
      // One large blob sent unnamed: the answer must name it with a digest and its size.
      const streams = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }), { unnamedStream: true });
      const big = patternBytes(2 << 20, 6);
      answer = { digest: sha256(big), sizeBytes: big.length };
      expect(await streams.putUnnamed(Readable.from([big]), big.length)).toEqual({ digest: sha256(big), sizeBytes: big.length });
      for (const wrong of [{}, { digest: "not a digest", sizeBytes: big.length }, { digest: sha256(big), sizeBytes: big.length - 1 }]) {
        answer = wrong;
        await expect(streams.putUnnamed(Readable.from([big]), big.length), JSON.stringify(wrong)).rejects.toThrow(/unnamed upload/);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("stops a whole ingest at the first SessionNotActive instead of reading and failing every file", async () => {
    // The session was released or lost meanwhile: every request is refused alike.
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      req.resume();
      const body = JSON.stringify({ code: "SessionNotActive", message: "Session s is released; it takes no more transfers.", requestId: "r" });
      req.on("end", () => res.writeHead(409, { "content-type": "application/json" }).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const bad = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }));
      const items = Array.from({ length: 3000 }, (_, i) => {
        const p = path.join(dir, `f${i}`);
        fs.writeFileSync(p, `file ${i}`);
        return { path: p, sizeBytes: fs.statSync(p).size };
      });
      await expect(bad.ingestFiles(items)).rejects.toMatchObject({ code: "SessionNotActive" });
      expect(requests).toBeLessThanOrEqual(4);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("maps the server's refusals to their blobs, and rejects a refusal that names a blob not at its position", async () => {
    const [a, b] = [patternBytes(300, 1), patternBytes(400, 2)];
    // A server that refuses whatever `refuse` says, for every batch.
    let refuse: { index: number; digest: string }[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      const failed = refuse.map((r) => ({ ...r, code: "BlobDigestMismatch", message: `Content hash mismatch: got ${"e".repeat(64)}.` }));
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ stored: 0, failed })));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const bad = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }));
      const blobs = [a, b].map((bytes) => ({ digest: sha256(bytes), bytes }));
      refuse = [{ index: 1, digest: sha256(b) }];
      expect(await bad.putMany(blobs)).toEqual([null, expect.objectContaining({ code: "BlobDigestMismatch", actual: "e".repeat(64) })]);
      refuse = [{ index: 0, digest: sha256(b) }];
      await expect(bad.putMany(blobs)).rejects.toThrow(/refused blob [0-9a-f]{64} at position 0 of a batch that has no such blob there/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("rejects the whole fetch with StoreUnavailable when the connection breaks midway, and leaves no file", async () => {
    const a = patternBytes(300, 1);
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.concat([blobFrameHeader(sha256(a), "ok", a.length), a.subarray(0, 10)]));
        setTimeout(() => res.socket?.destroy(), 20); // cut inside the frame, without ending the answer
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const bad = new RemoteBlobStore(new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "t", { downloadThread }));
      const target = path.join(dir, "cut");
      const err = await bad.fetchFiles([{ digest: sha256(a), targetPath: target, sizeBytes: a.length }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteApiError);
      expect(err).toMatchObject({ code: "StoreUnavailable", message: expect.stringContaining("broke during a blob fetch") });
      expect(fs.existsSync(target)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("rejects the whole call with StoreUnavailable when the server is gone, instead of failing file by file", async () => {
    await stub.close();
    const err = await store.ingestFiles([write("x", Buffer.from("x"))]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteApiError);
    expect(err).toMatchObject({ code: "StoreUnavailable" });
    expect((err as Error).message).toContain(`Cannot reach the ctxsync server at ${stub.endpoint}`);
  });

  it("a wrong token is Unauthorized, and the token never shows in messages or when printed", async () => {
    const api = new ApiClient(stub.endpoint, "wrong-secret-token", { downloadThread });
    const err = await new RemoteBlobStore(api).has(sha256(Buffer.from("x"))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "Unauthorized", httpStatus: 401 });
    expect(String((err as Error).message)).not.toContain("wrong-secret-token");
    expect(JSON.stringify(api)).not.toContain("wrong-secret-token");
    expect((await import("node:util")).inspect(api)).not.toContain("wrong-secret-token");
  });

  it("list and delete are refused: agents never collect garbage", async () => {
    await expect(store.delete(sha256(Buffer.from("x")))).rejects.toThrow("only the server collects garbage");
    const iterate = async () => {
      for await (const _ of store.list()) break;
    };
    await expect(iterate()).rejects.toThrow("only the server collects garbage");
  });
});
