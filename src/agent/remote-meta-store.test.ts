import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readTree, statTree, writeTree } from "../../test/helpers/tree.js";
import { downloadMount, MountLayout, systemClock, uploadMount } from "../engine/index.js";
import { CommitConflictError, StoreUnavailableError } from "../errors/index.js";
import { SyncPolicy, UploadMode, type SyncPolicyInput } from "../policy/index.js";
import { ApiClient } from "./api-client.js";
import { RemoteBlobStore } from "./remote-blob-store.js";
import { RemoteMetaStore } from "./remote-meta-store.js";
import { startAgentApiStub, type AgentApiStub } from "./test-agent-api-stub.js";

const MOUNT = "/home/user/work";

describe("the engine over the agent's HTTP stores", () => {
  let dir: string;
  let stub: AgentApiStub;
  let deps: { meta: RemoteMetaStore; blobs: RemoteBlobStore; clock: typeof systemClock };
  let contextId: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-remote-engine-"));
    stub = await startAgentApiStub(path.join(dir, "server"));
    const api = new ApiClient(stub.endpoint, stub.token);
    deps = { meta: new RemoteMetaStore(api), blobs: new RemoteBlobStore(api), clock: systemClock };
    contextId = (await stub.meta.createContext(stub.tenantId, "work", Date.now())).id;
  });
  afterEach(async () => {
    await stub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const layout = (root: string, policy: SyncPolicyInput = {}) =>
    new MountLayout(path.join(dir, root), { contextId, path: MOUNT, namespace: MOUNT, policy: new SyncPolicy(policy) });
  const upload = (root: string, policy?: SyncPolicyInput) =>
    uploadMount(deps, { tenantId: stub.tenantId, sessionId: stub.sessionId, layout: layout(root, policy) });
  const download = (root: string, policy?: SyncPolicyInput) =>
    downloadMount(deps, { sessionId: stub.sessionId, layout: layout(root, policy) });

  it("uploads a mount and downloads it elsewhere with identical bytes, modes and mtimes", async () => {
    const src = path.join(dir, "a", MOUNT);
    writeTree(src, { "a.txt": "alpha", "empty.txt": "", sub: { "big.bin": Buffer.alloc(3 << 20, 7), "b.txt": "beta" } });
    fs.chmodSync(path.join(src, "a.txt"), 0o600);
    fs.symlinkSync("a.txt", path.join(src, "link"));
    const up = await upload("a");
    expect(up).toMatchObject({ generation: 1, written: 5, problems: [] });

    const down = await download("b");
    expect(down).toMatchObject({ written: 5, problems: [] });
    const dst = path.join(dir, "b", MOUNT);
    expect(statTree(dst)).toEqual(statTree(src));
    expect(fs.readlinkSync(path.join(dst, "link"))).toBe("a.txt");
    // The download recorded its base over HTTP: nothing changed, so the next upload commits nothing.
    expect(await upload("b")).toMatchObject({ generation: 1, written: 0, deleted: 0 });
  });

  it("round-trips ARCHIVE mode and switches back to FILE mode", async () => {
    writeTree(path.join(dir, "a", MOUNT), { "x.txt": "x", d: { "y.txt": "y" } });
    const archive = { uploadPolicy: { uploadMode: UploadMode.ARCHIVE } };
    expect((await upload("a", archive)).problems).toEqual([]);
    expect((await stub.meta.listLiveFiles(contextId, MOUNT, Date.now())).map((f) => f.key)).toEqual([`${MOUNT}/.ctxsync-archive.tar.gz`]);
    expect((await download("b", archive)).problems).toEqual([]);
    expect(readTree(path.join(dir, "b", MOUNT))).toEqual({ "x.txt": "x", d: { "y.txt": "y" } });

    writeTree(path.join(dir, "b", MOUNT), { "z.txt": "z" });
    expect((await upload("b")).problems).toEqual([]);
    expect((await stub.meta.listLiveFiles(contextId, MOUNT, Date.now())).map((f) => f.key)).toEqual([
      `${MOUNT}/d/y.txt`,
      `${MOUNT}/x.txt`,
      `${MOUNT}/z.txt`,
    ]);
    expect((await download("c")).problems).toEqual([]);
    expect(readTree(path.join(dir, "c", MOUNT))).toEqual({ "x.txt": "x", "z.txt": "z", d: { "y.txt": "y" } });
  });

  it("a commit planned against a head that moved rejects with CommitConflictError, so the engine re-plans", async () => {
    writeTree(path.join(dir, "a", MOUNT), { "a.txt": "a" });
    await upload("a");
    const stale = deps.meta.commitGeneration({ contextId, expectedHead: 0, sessionId: null, timeMs: 0, changes: [{ kind: "delete", key: `${MOUNT}/a.txt` }] });
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError);
    expect((await stub.meta.getContext(stub.tenantId, contextId))?.headGeneration).toBe(1);
  });

  it("sends every base upsert whole to a server that does not list commit.upsertPuts", async () => {
    // The stub, like a server older than that feature, reads `base.upserts` only.
    writeTree(path.join(dir, "a", MOUNT), { "a.txt": "a", d: { "b.txt": "b" } });
    await upload("a");
    expect([...(await stub.meta.getBase(stub.sessionId, MOUNT)).keys()].sort()).toEqual([`${MOUNT}/a.txt`, `${MOUNT}/d/b.txt`]);
    expect(await upload("a")).toMatchObject({ written: 0 });
  });

  it("a download the store fails midway rejects and leaves no temp file behind", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 600; i++) files[`f${i}.txt`] = `file ${i}`;
    writeTree(path.join(dir, "a", MOUNT), files);
    expect((await upload("a")).problems).toEqual([]);
    // The third batch's files are written, then its connection breaks (fetchFiles rejects).
    let calls = 0;
    const flaky = Object.create(deps.blobs) as RemoteBlobStore;
    flaky.fetchFiles = async (items, onProgress) => {
      const results = await deps.blobs.fetchFiles(items, onProgress);
      if (++calls === 3) throw new StoreUnavailableError("the connection to the server broke midway");
      return results;
    };
    const layoutB = layout("b");
    await expect(downloadMount({ ...deps, blobs: flaky }, { sessionId: stub.sessionId, layout: layoutB })).rejects.toThrow("broke midway");
    const left = fs.readdirSync(path.join(dir, "b", MOUNT));
    expect(left.filter((n) => n.startsWith(".ctxsync-tmp-"))).toEqual([]);
    expect(left.length).toBeGreaterThan(0); // batches placed before the failure stay
  });

  it("reads an unknown context as absent", async () => {
    expect(await deps.meta.getContext(stub.tenantId, "ctx-unknown")).toBeUndefined();
  });
});
