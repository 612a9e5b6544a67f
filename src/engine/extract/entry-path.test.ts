import { describe, expect, it } from "vitest";
import { parseEntryName, parseLinkTarget, resolveLexically } from "./entry-path.js";

describe("parseEntryName", () => {
  const accepted: [string, string[]][] = [
    ["a.txt", ["a.txt"]],
    ["./a//b/", ["a", "b"]],
    ["./", []],
    ["dir\\file.txt", ["dir", "file.txt"]],
    ["a/..b/c..", ["a", "..b", "c.."]],
    ["é/x", ["é", "x"]],
  ];
  for (const [name, segments] of accepted) {
    it(`accepts ${JSON.stringify(name)}`, () => expect(parseEntryName(name)).toEqual({ ok: true, segments }));
  }

  const refused: [string, RegExp][] = [
    ["../../x", /"\.\."/],
    ["a/../../x", /"\.\."/],
    ["a/../b", /"\.\."/],
    ["..\\..\\x", /"\.\."/],
    ["/etc/x", /absolute/],
    ["\\etc\\x", /absolute/],
    ["\\\\server\\share\\x", /absolute/],
    ["C:\\x", /drive letter/],
    ["C:/x", /drive letter/],
    ["c:x", /drive letter/],
    ["a\0b", /NUL/],
    [`${"x".repeat(256)}/a`, /255 bytes/],
    ["a/".repeat(2100), /4096 bytes/],
  ];
  for (const [name, reason] of refused) {
    it(`refuses ${JSON.stringify(name).slice(0, 40)}`, () => {
      const got = parseEntryName(name);
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.reason).toMatch(reason);
    });
  }
});

describe("parseLinkTarget and resolveLexically", () => {
  it("keeps .. steps and drops . and empty ones", () => {
    expect(parseLinkTarget("../b/./c//")).toEqual({ ok: true, steps: ["..", "b", "c"] });
    expect(parseLinkTarget("..\\b")).toEqual({ ok: true, steps: ["..", "b"] });
  });
  for (const target of ["/", "/etc/passwd", "\\etc", "C:\\Windows", "d:/x"]) {
    it(`refuses the absolute target ${JSON.stringify(target)}`, () => expect(parseLinkTarget(target).ok).toBe(false));
  }
  it("refuses empty and NUL targets", () => {
    expect(parseLinkTarget("").ok).toBe(false);
    expect(parseLinkTarget("a\0").ok).toBe(false);
  });
  const walks: [string[], string[], string[] | null][] = [
    [["a"], ["..", "b"], ["b"]],
    [[], [".."], null],
    [["a", "b"], ["..", "..", ".."], null],
    [["a", "b"], ["..", "..", "c"], ["c"]],
  ];
  for (const [from, steps, want] of walks) {
    it(`${from.join("/") || "(root)"} + ${steps.join("/")} → ${JSON.stringify(want)}`, () =>
      expect(resolveLexically(from, steps)).toEqual(want));
  }
});
