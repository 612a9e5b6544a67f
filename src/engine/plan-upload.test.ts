import { describe, expect, it } from "vitest";
import type { FileMeta } from "../store/index.js";
import { planUpload } from "./plan-upload.js";

const file = (digest: string, mtimeMs = 1000, mode = 0o644): FileMeta => ({
  type: "file",
  digest,
  sizeBytes: 1,
  mode,
  mtimeMs,
  linkTarget: null,
});
const F1 = file("1".repeat(64));
const F2 = file("2".repeat(64));
const F3 = file("3".repeat(64));
const LINK: FileMeta = { type: "symlink", digest: null, sizeBytes: 1, mode: 0o777, mtimeMs: 1000, linkTarget: "x" };
const m = (o: Record<string, FileMeta>) => new Map(Object.entries(o));

describe("planUpload", () => {
  const cases: {
    name: string;
    base: Record<string, FileMeta>;
    local: Record<string, FileMeta>;
    remote: Record<string, FileMeta>;
    syncLocalFile?: boolean;
    want: { puts?: string[]; deletes?: string[]; keptRemote?: string[] };
  }[] = [
    { name: "writes a new local file", base: {}, local: { "/w/a": F1 }, remote: {}, want: { puts: ["/w/a"] } },
    { name: "writes nothing when local equals remote", base: {}, local: { "/w/a": F1 }, remote: { "/w/a": F1 }, want: {} },
    { name: "writes a file changed locally since the base", base: { "/w/a": F1 }, local: { "/w/a": F2 }, remote: { "/w/a": F1 }, want: { puts: ["/w/a"] } },
    {
      name: "keeps another session's change to a file we did not touch",
      base: { "/w/a": F1 }, local: { "/w/a": F1 }, remote: { "/w/a": F2 }, want: {},
    },
    {
      name: "later upload wins when both sides changed a file",
      base: { "/w/a": F1 }, local: { "/w/a": F3 }, remote: { "/w/a": F2 }, want: { puts: ["/w/a"] },
    },
    {
      name: "does not resurrect a file another session deleted that we did not touch",
      base: { "/w/a": F1 }, local: { "/w/a": F1 }, remote: {}, want: {},
    },
    { name: "re-adds a file another session deleted that we changed", base: { "/w/a": F1 }, local: { "/w/a": F2 }, remote: {}, want: { puts: ["/w/a"] } },
    { name: "deletes a file we downloaded and then removed", base: { "/w/a": F1 }, local: {}, remote: { "/w/a": F1 }, want: { deletes: ["/w/a"] } },
    {
      name: "keeps a file we removed when syncLocalFile is false",
      base: { "/w/a": F1 }, local: {}, remote: { "/w/a": F1 }, syncLocalFile: false, want: {},
    },
    {
      name: "keeps a file we removed that another session changed meanwhile",
      base: { "/w/a": F1 }, local: {}, remote: { "/w/a": F2 }, want: { keptRemote: ["/w/a"] },
    },
    { name: "keeps files another session added since our download", base: {}, local: {}, remote: { "/w/b": F2 }, want: {} },
    { name: "ignores a removed file that is already gone from the context", base: { "/w/a": F1 }, local: {}, remote: {}, want: {} },
    { name: "records a mode change", base: { "/w/a": F1 }, local: { "/w/a": file(F1.digest!, 1000, 0o600) }, remote: { "/w/a": F1 }, want: { puts: ["/w/a"] } },
    { name: "records an mtime change", base: { "/w/a": F1 }, local: { "/w/a": file(F1.digest!, 2000) }, remote: { "/w/a": F1 }, want: { puts: ["/w/a"] } },
    { name: "writes a file that became a symlink", base: { "/w/a": F1 }, local: { "/w/a": LINK }, remote: { "/w/a": F1 }, want: { puts: ["/w/a"] } },
    {
      name: "a file written below one the context has as a file replaces it, though this session never saw it",
      base: {}, local: { "/w/a/b/c": F1 }, remote: { "/w/a": F2, "/w/x": F3 }, want: { puts: ["/w/a/b/c"], deletes: ["/w/a"] },
    },
    {
      name: "a file written where the context has a folder replaces the folder's files",
      base: {}, local: { "/w/a": F1 }, remote: { "/w/a/b": F2, "/w/a/c/d": F3, "/w/ab": F3 }, want: { puts: ["/w/a"], deletes: ["/w/a/b", "/w/a/c/d"] },
    },
    {
      name: "a file we turned into a folder goes, though another session changed it and syncLocalFile is false",
      base: { "/w/a": F1 }, local: { "/w/a/new": F1 }, remote: { "/w/a": F2 }, syncLocalFile: false, want: { puts: ["/w/a/new"], deletes: ["/w/a"] },
    },
    {
      name: "a kept remote change in the way of a put is replaced, not kept",
      base: { "/w/a": F1 }, local: { "/w/a/new": F1 }, remote: { "/w/a": F2 }, want: { puts: ["/w/a/new"], deletes: ["/w/a"] },
    },
    { name: "nothing written, nothing replaced", base: { "/w/a": F1 }, local: { "/w/a": F1 }, remote: { "/w/a": F1, "/w/a/x": F2 }, want: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planUpload({ base: m(c.base), local: m(c.local), remote: m(c.remote), syncLocalFile: c.syncLocalFile ?? true });
      expect({ puts: plan.puts.map((p) => p.key), deletes: plan.deletes, keptRemote: plan.keptRemote }).toEqual({
        puts: c.want.puts ?? [],
        deletes: c.want.deletes ?? [],
        keptRemote: c.want.keptRemote ?? [],
      });
    });
  }

  it("does not write a file whose folder the context has as a file outside the upload's scope, and says which", () => {
    const plan = planUpload({ base: m({}), local: m({ "/w/a/b/c": F1, "/w/x": F2 }), remote: m({}), outside: new Set(["/w/a"]), syncLocalFile: true });
    expect(plan.puts.map((p) => p.key)).toEqual(["/w/x"]);
    expect(plan.blocked).toEqual([{ key: "/w/a/b/c", by: "/w/a" }]);
    expect(plan.deletes).toEqual([]);
  });

  it("does not write a file where the context has a folder with files outside the upload's scope", () => {
    const plan = planUpload({ base: m({}), local: m({ "/w/a": F1 }), remote: m({ "/w/a/in": F2 }), outside: new Set(["/w/a/secret"]), syncLocalFile: true });
    expect(plan.puts).toEqual([]);
    expect(plan.blocked).toEqual([{ key: "/w/a", by: "/w/a/secret" }]);
    expect(plan.deletes).toEqual([]); // nothing replaced for a put that is not made
  });
});
