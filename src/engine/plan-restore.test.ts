import { describe, expect, it } from "vitest";
import type { FileMeta, FileRecord } from "../store/index.js";
import { planRestore } from "./plan-restore.js";

const NOW = 1_700_000_000_000;
const F1: FileMeta = { type: "file", digest: "1".repeat(64), sizeBytes: 1, mode: 0o644, mtimeMs: 1000, linkTarget: null };
const F2: FileMeta = { type: "file", digest: "2".repeat(64), sizeBytes: 2, mode: 0o644, mtimeMs: 2000, linkTarget: null };
const F1_EXEC: FileMeta = { ...F1, mode: 0o755 };
const LINK: FileMeta = { type: "symlink", digest: null, sizeBytes: 5, mode: 0o777, mtimeMs: 3000, linkTarget: "a.txt" };

function rec(key: string, meta: FileMeta, expiresAtMs: number | null = null): FileRecord {
  return { key, ...meta, generation: 1, writtenAtMs: NOW - 10_000, expiresAtMs };
}

/** A change as [kind, key, digest-or-target, expiresAtMs] for compact expectations. */
type Row = ["put", string, string | null, number | null] | ["delete", string];

describe("planRestore", () => {
  const cases: { name: string; then: FileRecord[]; live: FileRecord[]; want: Row[] }[] = [
    { name: "puts back a file the generation had and that is gone now", then: [rec("/w/a", F1)], live: [], want: [["put", "/w/a", F1.digest, null]] },
    { name: "puts back the old version of a file changed since", then: [rec("/w/a", F1)], live: [rec("/w/a", F2)], want: [["put", "/w/a", F1.digest, null]] },
    { name: "puts back the old mode of a file whose bytes are the same", then: [rec("/w/a", F1)], live: [rec("/w/a", F1_EXEC)], want: [["put", "/w/a", F1.digest, null]] },
    { name: "deletes a file added since", then: [], live: [rec("/w/new", F2)], want: [["delete", "/w/new"]] },
    { name: "leaves a file that is as it was alone, its expiry included", then: [rec("/w/a", F1)], live: [rec("/w/a", F1, NOW + 5)], want: [] },
    { name: "treats a version that has expired since as absent, so it stays deleted", then: [rec("/w/e", F1, NOW)], live: [], want: [] },
    {
      name: "deletes the live file of a key whose version then has expired since",
      then: [rec("/w/e", F1, NOW - 1)],
      live: [rec("/w/e", F2)],
      want: [["delete", "/w/e"]],
    },
    { name: "restores a version that has not expired yet as one that never expires", then: [rec("/w/r", F1, NOW + 1)], live: [], want: [["put", "/w/r", F1.digest, null]] },
    { name: "puts back a symlink as a symlink with its target", then: [rec("/w/l", LINK)], live: [rec("/w/l", F1)], want: [["put", "/w/l", "a.txt", null]] },
    {
      name: "orders puts and deletes by key",
      then: [rec("/w/b", F1), rec("/w/d", F1)],
      live: [rec("/w/a", F1), rec("/w/c", F1), rec("/w/d", F2)],
      want: [["delete", "/w/a"], ["put", "/w/b", F1.digest, null], ["delete", "/w/c"], ["put", "/w/d", F1.digest, null]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rows: Row[] = planRestore(c.then, c.live, NOW).map((ch) =>
        ch.kind === "put" ? ["put", ch.key, ch.meta.digest ?? ch.meta.linkTarget, ch.expiresAtMs] : ["delete", ch.key],
      );
      expect(rows).toEqual(c.want);
    });
  }

  it("puts back the exact metadata of the old version", () => {
    const [change] = planRestore([rec("/w/a", F1_EXEC)], [], NOW);
    expect(change).toEqual({ kind: "put", key: "/w/a", meta: F1_EXEC, expiresAtMs: null });
  });
});
