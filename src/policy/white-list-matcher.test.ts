import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../errors/index.js";
import { BWList } from "./bw-list.js";
import { newSyncPolicy } from "./sync-policy.js";
import { compileWhiteList } from "./white-list-matcher.js";

const SRC_NO_MODULES = { whiteLists: [{ path: "/src", excludePaths: ["/node_modules", "gen/"] }] };
const TWO_ENTRIES = {
  whiteLists: [
    { path: "src", excludePaths: ["tmp"] },
    { path: "docs", excludePaths: [] },
  ],
};
// The same directory in two entries: an exclude of one entry does not remove what the other includes.
const OVERLAP = {
  whiteLists: [
    { path: "data", excludePaths: ["cache"] },
    { path: "data/cache/keep" },
  ],
};

describe("compileWhiteList: matches", () => {
  const cases: { name: string; bwList: ConstructorParameters<typeof BWList>[0]; yes: string[]; no: string[] }[] = [
    {
      name: "no bwList means the whole mount",
      bwList: undefined,
      yes: ["a.txt", "deep/er/file"],
      no: [],
    },
    {
      name: "empty whiteLists means the whole mount",
      bwList: { whiteLists: [] },
      yes: ["a.txt", "x/y"],
      no: [],
    },
    {
      name: "the default policy's white list means the whole mount",
      bwList: newSyncPolicy().bwList,
      yes: ["a.txt", "x/y"],
      no: [],
    },
    {
      name: "an entry covers its path and what lies below it by whole segments",
      bwList: { whiteLists: [{ path: "src" }] },
      yes: ["src", "src/a.ts", "src/deep/b.ts"],
      no: ["srcx/a", "srcx", "sr", "a.ts", "other/src/a.ts"],
    },
    {
      name: "a leading slash means the same as none; excludes are relative to their white-list path",
      bwList: SRC_NO_MODULES,
      yes: ["src/index.ts", "src/lib/node_modules_x/a", "src/generated/a"],
      no: ["src/node_modules/x/index.js", "src/node_modules", "src/gen/a.ts", "node_modules/a", "README.md"],
    },
    {
      name: "a file takes part when it is under any entry",
      bwList: TWO_ENTRIES,
      yes: ["src/a", "docs/b", "docs/tmp/c"],
      no: ["src/tmp/x", "lib/a"],
    },
    {
      name: "excludes apply only to their own entry",
      bwList: OVERLAP,
      yes: ["data/a", "data/cache/keep/k", "data/cache/keep"],
      no: ["data/cache/x", "data/cache"],
    },
    {
      name: "a single-file white list, as in AgentBay's browser and extension syncs",
      bwList: { whiteLists: [{ path: "/Local State" }, { path: "/Default/Cookies" }, { path: "ext_abc.zip" }] },
      yes: ["Local State", "Default/Cookies", "ext_abc.zip"],
      no: ["Default/Cookies-journal", "Default/History", "ext_abc.zip.part"],
    },
    {
      name: "an exclude of \"\" excludes its whole entry",
      bwList: { whiteLists: [{ path: "a", excludePaths: [""] }] },
      yes: [],
      no: ["a", "a/b"],
    },
    {
      name: "backslashes in policy paths count as separators",
      bwList: { whiteLists: [{ path: "\\Documents\\work", excludePaths: ["old\\"] }] },
      yes: ["Documents/work/a.docx"],
      no: ["Documents/work/old/a.docx", "Documents/a.docx"],
    },
  ];
  for (const c of cases) {
    describe(c.name, () => {
      const matcher = compileWhiteList(c.bwList);
      for (const p of c.yes) it(`includes ${p}`, () => expect(matcher.matches(p)).toBe(true));
      for (const p of c.no) it(`leaves out ${p}`, () => expect(matcher.matches(p)).toBe(false));
    });
  }
});

describe("compileWhiteList: mayContain", () => {
  const cases: { name: string; bwList: ConstructorParameters<typeof BWList>[0]; yes: string[]; no: string[] }[] = [
    { name: "whole mount", bwList: { whiteLists: [] }, yes: ["", "a", "a/b"], no: [] },
    {
      name: "descends towards a deep white-list path and anywhere below it",
      bwList: { whiteLists: [{ path: "a/b/c" }] },
      yes: ["", "a", "a/b", "a/b/c", "a/b/c/d"],
      no: ["x", "a/x", "a/b/cx", "ab"],
    },
    {
      name: "skips excluded directories",
      bwList: SRC_NO_MODULES,
      yes: ["", "src", "src/lib", "src/generated"],
      no: ["src/node_modules", "src/node_modules/pkg", "src/gen", "lib"],
    },
    {
      name: "enters an excluded directory when another entry lies inside it",
      bwList: OVERLAP,
      yes: ["", "data", "data/cache", "data/cache/keep", "data/cache/keep/sub"],
      no: ["data/cache/other", "elsewhere"],
    },
  ];
  for (const c of cases) {
    describe(c.name, () => {
      const matcher = compileWhiteList(c.bwList);
      for (const d of c.yes) it(`enters ${JSON.stringify(d)}`, () => expect(matcher.mayContain(d)).toBe(true));
      for (const d of c.no) it(`skips ${JSON.stringify(d)}`, () => expect(matcher.mayContain(d)).toBe(false));
    });
  }

  it("never skips a directory that holds a matching file", () => {
    const matcher = compileWhiteList(OVERLAP);
    const files = ["data/a", "data/cache/keep/k/l", "data/cache/x", "elsewhere/f", "data/cache/keep"];
    for (const file of files.filter((f) => matcher.matches(f))) {
      const parts = file.split("/");
      for (let i = 0; i < parts.length; i++) {
        expect(matcher.mayContain(parts.slice(0, i).join("/"))).toBe(true);
      }
    }
  });
});

describe("compileWhiteList: validation", () => {
  it("rejects wildcards and traversal like the policy validator", () => {
    expect(() => compileWhiteList({ whiteLists: [{ path: "src/*" }] })).toThrow(
      "Wildcard patterns are not supported in path. Got: src/*. Please use exact directory paths instead.",
    );
    expect(() => compileWhiteList({ whiteLists: [{ path: "src", excludePaths: ["../x"] }] })).toThrow(InvalidParameterError);
  });
});
