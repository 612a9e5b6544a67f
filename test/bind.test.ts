import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ContextSync, SyncPolicy } from "../src/sdk/index.js";
import { useHarness } from "./helpers/harness.js";
import { readTree, writeTree } from "./helpers/tree.js";

describe("session.context.bind", () => {
  const h = useHarness();

  /** Two contexts seeded by an earlier session, and a running session with one other mount at /work. */
  async function setup() {
    const ctxA = await h().newContext("bind-a");
    const ctxB = await h().newContext("bind-b");
    const work = await h().newContext("bind-work");
    const seed = await h().session("seed", [
      [ctxA, "/mnt/a"],
      [ctxB, "/mnt/b"],
    ]);
    writeTree(h().local("seed", "/mnt/a"), { "a.txt": "a", deep: { "x.txt": "x" } });
    writeTree(h().local("seed", "/mnt/b"), { "b.txt": "b", "skip.log": "not in the white list" });
    expect(await seed.delete()).toMatchObject({ success: true });
    const s = await h().session("rs", [[work, "/work"]]);
    return { ctxA, ctxB, work, s };
  }

  const B_POLICY = { bwList: { whiteLists: [{ path: "", excludePaths: ["skip.log"] }] } };

  it("binds two seeded contexts to a running session and downloads both", async () => {
    const { ctxA, ctxB, work, s } = await setup();
    const r = await s.context.bind([ContextSync.new(ctxA, "/mnt/a"), ContextSync.new(ctxB, "/mnt/b", B_POLICY)]);
    expect(r).toMatchObject({ success: true, data: true });

    expect(readTree(h().local("rs", "/mnt/a"))).toEqual({ "a.txt": "a", deep: { "x.txt": "x" } });
    expect(readTree(h().local("rs", "/mnt/b"))).toEqual({ "b.txt": "b" }); // the bound policy applies
    const downloads = (await s.context.infoWithParams(undefined, undefined, "download")).contextStatusData;
    expect(downloads.map((t) => [t.path, t.contextId, t.status]).sort()).toEqual([
      ["/mnt/a", ctxA, "Success"],
      ["/mnt/b", ctxB, "Success"],
      ["/work", work, "Success"],
    ]);
  });

  it("listBindings shows contextId, contextName, path, policy and bindTime of every mount", async () => {
    const { ctxA, ctxB, work, s } = await setup();
    const before = Math.floor(Date.now() / 1000);
    await s.context.bind([ContextSync.new(ctxA, "/mnt/a"), ContextSync.new(ctxB, "/mnt/b/", B_POLICY)]);
    const after = Math.ceil(Date.now() / 1000);

    const r = await s.context.listBindings();
    expect(r.success).toBe(true);
    const byPath = Object.fromEntries(r.bindings.map((b) => [b.path, b]));
    expect(Object.keys(byPath).sort()).toEqual(["/mnt/a", "/mnt/b", "/work"]); // "/mnt/b/" normalised
    expect(byPath["/work"]).toMatchObject({ contextId: work });
    expect(byPath["/mnt/a"]).toMatchObject({ contextId: ctxA });
    expect(byPath["/mnt/b"]).toMatchObject({ contextId: ctxB });
    for (const b of r.bindings) {
      expect(Object.keys(b).sort()).toEqual(["bindTime", "contextId", "contextName", "path", "policy"]);
      expect(Number.isInteger(b.bindTime)).toBe(true);
      expect(b.bindTime).toBeLessThanOrEqual(after);
      expect(b.policy).toEqual(expect.any(String));
    }
    for (const p of ["/mnt/a", "/mnt/b"]) expect(byPath[p]!.bindTime).toBeGreaterThanOrEqual(before);
    // The policy is the full wire JSON, defaults filled in.
    expect(JSON.parse(byPath["/mnt/a"]!.policy)).toEqual(new SyncPolicy().toJSON());
    expect(JSON.parse(byPath["/mnt/b"]!.policy)).toEqual(new SyncPolicy(B_POLICY).toJSON());
  });

  it("binding a path that is already bound fails with PathAlreadyBound and binds nothing of the call", async () => {
    const { ctxA, ctxB, work, s } = await setup();
    expect(await s.context.bind([ContextSync.new(ctxA, "/mnt/a")])).toMatchObject({ success: true });
    const bindings = (await s.context.listBindings()).bindings;

    for (const attempt of [
      [ContextSync.new(ctxB, "/mnt/a")], // another context on a bound path
      [ContextSync.new(ctxA, "/mnt/a/")], // the same mount, spelled with a trailing slash
      [ContextSync.new(ctxB, "/work")], // a create-time mount
      [ContextSync.new(ctxB, "/mnt/b"), ContextSync.new(work, "/mnt/a")], // one good, one taken
      [ContextSync.new(ctxB, "/mnt/b"), ContextSync.new(ctxA, "/mnt/b")], // twice in one call
    ]) {
      const r = await s.context.bind(attempt);
      expect(r, JSON.stringify(attempt.map((c) => c.path))).toMatchObject({ success: false, errorCode: "PathAlreadyBound" });
      expect(r.errorMessage).toContain("already bound");
    }
    expect((await s.context.listBindings()).bindings).toEqual(bindings);
    expect(fs.existsSync(h().local("rs", "/mnt/b"))).toBe(false); // the good half of a failed call did not download
    expect(readTree(h().local("rs", "/mnt/a"))).toEqual({ "a.txt": "a", deep: { "x.txt": "x" } });
  });

  it("bind with an empty list fails with the reference's message", async () => {
    const { s } = await setup();
    const r = await s.context.bind([]);
    expect(r).toMatchObject({ success: false, errorCode: "InvalidParameter" });
    expect(r.errorMessage).toContain("At least one context is required");
    expect((await s.context.listBindings()).bindings).toHaveLength(1);
  });

  it("bind of an unknown context fails with ContextNotFound and binds nothing of the call", async () => {
    const { ctxA, s } = await setup();
    const r = await s.context.bind([ContextSync.new(ctxA, "/mnt/a"), ContextSync.new("ctx-does-not-exist", "/mnt/x")]);
    expect(r).toMatchObject({ success: false, errorCode: "ContextNotFound" });
    expect(r.errorMessage).toContain("ctx-does-not-exist");
    expect((await s.context.listBindings()).bindings.map((b) => b.path)).toEqual(["/work"]);
    expect(fs.existsSync(h().local("rs", "/mnt/a"))).toBe(false);
  });

  it("bind on a released session fails with SessionNotActive", async () => {
    const { ctxA, s } = await setup();
    await s.delete();
    expect(await s.context.bind([ContextSync.new(ctxA, "/mnt/a")])).toMatchObject({ success: false, errorCode: "SessionNotActive" });
  });

  it("a bound mount is uploaded on release like the create-time ones", async () => {
    const { ctxA, ctxB, work, s } = await setup();
    await s.context.bind([ContextSync.new(ctxA, "/mnt/a"), ContextSync.new(ctxB, "/mnt/b", B_POLICY)]);
    writeTree(h().local("rs", "/mnt/a"), { "a.txt": "a edited", "new.txt": "added after bind" });
    fs.rmSync(h().local("rs", "/mnt/a/deep/x.txt"));
    writeTree(h().local("rs", "/mnt/b"), { "b2.txt": "b2" });
    writeTree(h().local("rs", "/work"), { "w.txt": "w" });
    expect(await s.delete()).toMatchObject({ success: true });

    await h().session("next", [
      [ctxA, "/mnt/a"],
      [ctxB, "/mnt/b"],
      [work, "/work"],
    ]);
    expect(readTree(h().local("next", "/"))).toEqual({
      mnt: {
        a: { "a.txt": "a edited", "new.txt": "added after bind" },
        b: { "b.txt": "b", "b2.txt": "b2", "skip.log": "not in the white list" },
      },
      work: { "w.txt": "w" },
    });
  });
});
