import { describe, expect, it } from "vitest";
import { EntryIndex, type EntryKind } from "./entry-index.js";

type Step = [path: string, kind: EntryKind];

describe("EntryIndex.add", () => {
  const cases: { name: string; entries: Step[]; refusal: RegExp | null }[] = [
    { name: "accepts a tree whatever the order", entries: [["a/b/c", "file"], ["a", "dir"], ["a/b", "dir"], ["a/d", "symlink"]], refusal: null },
    { name: "accepts a folder listed twice", entries: [["a", "dir"], ["a", "dir"]], refusal: null },
    { name: "refuses a file listed twice", entries: [["a", "file"], ["a", "file"]], refusal: /appears twice/ },
    { name: "refuses a path through a file", entries: [["a", "file"], ["a/b", "file"]], refusal: /inside "a", which is a file/ },
    { name: "refuses a path through a link", entries: [["l", "symlink"], ["l/etc/passwd", "file"]], refusal: /inside "l", which is a link/ },
    { name: "refuses a link where a folder was implied", entries: [["l/x", "file"], ["l", "symlink"]], refusal: /link where the archive also has a folder/ },
    { name: "refuses names equal after NFC", entries: [["\u00e9.txt", "file"], ["e\u0301.txt", "file"]], refusal: /NFC/ },
    { name: "refuses folder names equal after NFC", entries: [["\u00e9/a", "file"], ["e\u0301/b", "file"]], refusal: /NFC/ },
    { name: "accepts names that differ only in case", entries: [["Makefile", "file"], ["makefile", "file"]], refusal: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const index = new EntryIndex();
      const results = c.entries.map(([p, kind]) => index.add(p.split("/"), kind));
      const last = results.pop();
      expect(results.every((r) => r === null)).toBe(true);
      if (c.refusal === null) expect(last).toBeNull();
      else expect(last).toMatch(c.refusal);
    });
  }
});

describe("EntryIndex.checkLink", () => {
  const index = new EntryIndex();
  for (const [p, kind] of [["d/u", "symlink"], ["d/deep/f", "file"], ["top", "symlink"]] as Step[]) index.add(p.split("/"), kind);
  const cases: [link: string, target: string, refusal: RegExp | null][] = [
    ["x", "d/deep/f", null],
    ["x", "d/u", null], // to a link, not through it
    ["d/deep/y", "../../top", null],
    ["v", "d/u/..", /passes through the link "d\/u"/], // d/u -> .. makes this the root's parent
    ["v", "top/x", /passes through the link "top"/],
    ["d/y", "../..", /outside/],
  ];
  for (const [link, target, refusal] of cases) {
    it(`${link} -> ${target}`, () => {
      const got = index.checkLink(link.split("/"), target.split("/"));
      if (refusal === null) expect(got).toBeNull();
      else expect(got).toMatch(refusal);
    });
  }
});
