import { describe, expect, it } from "vitest";
import { CommitConflictError, ContextNotFoundError } from "../errors/index.js";
import { SqliteMetaStore, type FileChange } from "../store/index.js";
import { commitAtHead, MAX_COMMIT_ATTEMPTS } from "./commit-at-head.js";

const put = (key: string, digest: string): FileChange => ({
  kind: "put",
  key,
  meta: { type: "file", digest, sizeBytes: 1, mode: 0o644, mtimeMs: 0, linkTarget: null },
  expiresAtMs: null,
});
const clock = { now: () => 1_000 };

async function setup() {
  const meta = SqliteMetaStore.open(":memory:");
  const tenantId = await meta.ensureTenant("t");
  const ctx = await meta.createContext(tenantId, "c", 0);
  const target = { tenantId, contextId: ctx.id, sessionId: null };
  return { meta, tenantId, target };
}

describe("commitAtHead", () => {
  it("plans again against the new head when another writer committed first", async () => {
    const { meta, target } = await setup();
    const heads: number[] = [];
    const gen = await commitAtHead({ meta, clock }, target, async ({ headGeneration, attempt }) => {
      heads.push(headGeneration);
      // Another writer wins the race once, between our read of the head and our commit.
      if (attempt === 1) await meta.commitGeneration({ contextId: target.contextId, expectedHead: headGeneration, sessionId: null, timeMs: 1, changes: [put("/other", "b".repeat(64))] });
      return { changes: [put("/mine", "a".repeat(64))] };
    });
    expect(heads).toEqual([0, 1]);
    expect(gen).toBe(2);
    expect((await meta.listLiveFiles(target.contextId, "/", 2_000)).map((f) => f.key)).toEqual(["/mine", "/other"]);
  });

  it("gives up with CommitConflictError after losing every race, having committed nothing of its own", async () => {
    const { meta, target } = await setup();
    let n = 0;
    const attempt = commitAtHead({ meta, clock }, target, async ({ headGeneration }) => {
      n++;
      await meta.commitGeneration({ contextId: target.contextId, expectedHead: headGeneration, sessionId: null, timeMs: 1, changes: [put(`/other${n}`, "b".repeat(64))] });
      return { changes: [put("/mine", "a".repeat(64))] };
    });
    await expect(attempt).rejects.toThrow(CommitConflictError);
    await expect(attempt).rejects.toThrow(`after ${MAX_COMMIT_ATTEMPTS} attempts`);
    expect(n).toBe(MAX_COMMIT_ATTEMPTS);
    expect(await meta.getLiveFile(target.contextId, "/mine", 2_000)).toBeUndefined();
  });

  it("commits nothing and returns the head when the plan is empty", async () => {
    const { meta, target } = await setup();
    expect(await commitAtHead({ meta, clock }, target, async () => ({ changes: [] }))).toBe(0);
    expect(await meta.listGenerations(target.contextId, 10)).toEqual([]);
  });

  it("rejects with ContextNotFoundError for a context of another tenant", async () => {
    const { meta, target } = await setup();
    const other = await meta.ensureTenant("other");
    await expect(commitAtHead({ meta, clock }, { ...target, tenantId: other }, async () => ({ changes: [] }))).rejects.toThrow(ContextNotFoundError);
  });
});
