import { describe, expect, it } from "vitest";
import { InvalidKeyError, InvalidParameterError } from "../errors/index.js";
import { MAX_KEY_LENGTH } from "./limits.js";
import {
  checkSessionPath,
  checkSessionPathInFull,
  isPlainCanonicalPath,
  isUnder,
  isUnderRelative,
  joinKey,
  normalizeRelativePolicyPath,
  normalizeSessionPath,
  relativeKey,
} from "./normalize-path.js";

describe("normalizeSessionPath", () => {
  const valid: Record<string, string> = {
    "/": "/",
    "/home/user/data": "/home/user/data",
    "/home/user/data/": "/home/user/data",
    "/home/user/data/a.txt": "/home/user/data/a.txt",
    "/tmp/a b/ü.txt": "/tmp/a b/ü.txt",
    "/home/a\\b": "/home/a\\b",
    "/.hidden/..dots/...": "/.hidden/..dots/...",
    "C:\\Users\\A\\f.txt": "/c:/Users/A/f.txt",
    "c:\\Users\\Administrator\\Downloads": "/c:/Users/Administrator/Downloads",
    "C:\\Users\\A\\": "/c:/Users/A",
    "D:/data/x": "/d:/data/x",
    "c:/x\\y": "/c:/x/y",
    "C:\\": "/c:",
    "C:": "/c:",
    "/C:/Users/A": "/c:/Users/A",
    "/c:/Users/A": "/c:/Users/A",
  };
  for (const [input, want] of Object.entries(valid)) {
    it(`maps ${JSON.stringify(input)} to ${want}`, () => {
      expect(normalizeSessionPath(input)).toBe(want);
      expect(normalizeSessionPath(want)).toBe(want);
    });
  }

  const invalid: Record<string, string> = {
    "": "empty",
    "home/user": "relative",
    "./a": "relative",
    "C:foo": "relative",
    "\\\\server\\share\\x": "backslash",
    "\\Users\\A": "backslash",
    "/a/../b": '".."',
    "/a/..": '".."',
    "/a/./b": '"."',
    "/.": '"."',
    "/a//b": "empty segment",
    "//a": "empty segment",
    "/a//": "empty segment",
    "C:\\\\Users": "empty segment",
    "C:\\Users\\..\\x": '".."',
    "/a/b\0c": "NUL",
  };
  for (const [input, reason] of Object.entries(invalid)) {
    it(`rejects ${JSON.stringify(input)} (${reason}) with InvalidKeyError`, () => {
      expect(() => normalizeSessionPath(input)).toThrow(InvalidKeyError);
      const check = checkSessionPath(input);
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.reason).toContain(reason);
    });
  }

  it("rejects values that are not strings", () => {
    expect(() => normalizeSessionPath(42 as unknown as string)).toThrow(InvalidKeyError);
    expect(checkSessionPath(null)).toEqual({ ok: false, reason: "it is a null, not a string" });
  });
});

describe("isUnder", () => {
  const cases: [string, string, boolean][] = [
    ["/w/src/a.ts", "/w/src", true],
    ["/w/src", "/w/src", true],
    ["/w/srcx/a", "/w/src", false],
    ["/w", "/w/src", false],
    ["/anything", "/", true],
    ["/", "/", true],
    ["/c:/Users/A/f", "/c:/Users", true],
  ];
  for (const [key, prefix, want] of cases) {
    it(`${key} under ${prefix} → ${want}`, () => expect(isUnder(key, prefix)).toBe(want));
  }
});

describe("isUnderRelative", () => {
  const cases: [string, string, boolean][] = [
    ["src/a.ts", "src", true],
    ["src", "src", true],
    ["srcx/a", "src", false],
    ["a", "", true],
    ["", "", true],
    ["", "src", false],
  ];
  for (const [path, prefix, want] of cases) {
    it(`${JSON.stringify(path)} under ${JSON.stringify(prefix)} → ${want}`, () =>
      expect(isUnderRelative(path, prefix)).toBe(want));
  }
});

describe("joinKey", () => {
  const cases: [string, string, string][] = [
    ["/w", "a/b.txt", "/w/a/b.txt"],
    ["/w", "", "/w"],
    ["/", "a", "/a"],
    ["/", "", "/"],
    ["/c:/Users/A", "f.txt", "/c:/Users/A/f.txt"],
  ];
  for (const [ns, rel, want] of cases) {
    it(`joins ${ns} + ${JSON.stringify(rel)} → ${want}`, () => expect(joinKey(ns, rel)).toBe(want));
  }

  for (const rel of ["../x", "a/../../x", "./a", "a//b", "/a", "a/", "a\0b", ".."]) {
    it(`refuses relative part ${JSON.stringify(rel)} so no name climbs out of its mount`, () => {
      expect(() => joinKey("/w", rel)).toThrow(InvalidKeyError);
    });
  }
});

describe("relativeKey", () => {
  const cases: [string, string, string | null][] = [
    ["/w", "/w/a/b.txt", "a/b.txt"],
    ["/w", "/w", ""],
    ["/w", "/wx/a", null],
    ["/w/a", "/w", null],
    ["/", "/a/b", "a/b"],
    ["/", "/", ""],
  ];
  for (const [ns, key, want] of cases) {
    it(`${key} − ${ns} → ${JSON.stringify(want)}`, () => expect(relativeKey(ns, key)).toBe(want));
  }

  it("inverts joinKey", () => {
    expect(relativeKey("/w", joinKey("/w", "x/y"))).toBe("x/y");
    expect(relativeKey("/", joinKey("/", "x/y"))).toBe("x/y");
  });
});

describe("normalizeRelativePolicyPath", () => {
  const valid: Record<string, string> = {
    "": "",
    "/": "",
    src: "src",
    "/src": "src",
    "src/": "src",
    "/src/lib/": "src/lib",
    "/Default/Local Storage": "Default/Local Storage",
    "ext_x.zip": "ext_x.zip",
    "logs\\old": "logs/old",
    "\\logs\\old\\": "logs/old",
    ".git": ".git",
  };
  for (const [input, want] of Object.entries(valid)) {
    it(`maps ${JSON.stringify(input)} to ${JSON.stringify(want)}`, () => {
      expect(normalizeRelativePolicyPath(input)).toBe(want);
    });
  }

  const invalid: Record<string, string> = {
    "..": '".."',
    "../etc": '".."',
    "src/../..": '".."',
    "/src/..": '".."',
    ".": '"."',
    "./src": '"."',
    "a//b": "empty segment",
    "//": "empty segment",
    "a\0b": "NUL",
    "C:\\Users\\A": "absolute Windows path",
    "c:/x": "absolute Windows path",
  };
  for (const [input, reason] of Object.entries(invalid)) {
    it(`rejects ${JSON.stringify(input)} (${reason}) with InvalidParameterError`, () => {
      expect(() => normalizeRelativePolicyPath(input, "WhiteList.path")).toThrow(InvalidParameterError);
      expect(() => normalizeRelativePolicyPath(input, "WhiteList.path")).toThrow(reason);
      expect(() => normalizeRelativePolicyPath(input, "WhiteList.path")).toThrow(/^Invalid WhiteList\.path /);
    });
  }
});

describe("isPlainCanonicalPath", () => {
  it("says yes to plain canonical keys", () => {
    for (const p of ["/a", "/w/src/a.ts", "/c:/Users/A/f.txt", "/w/.hidden", "/w/..x", "/w/a b\\c", "/日本/ファイル"]) {
      expect(isPlainCanonicalPath(p), p).toBe(true);
      expect(checkSessionPathInFull(p)).toEqual({ ok: true, path: p });
    }
  });

  it("never says yes to a path that is not canonical (20,000 seeded random paths)", () => {
    // Paths built from the characters that matter: separators, dots, drive letters, NUL, backslashes.
    const alphabet = ["/", "/", "/", ".", ".", "a", "b", "C", "c", ":", "\\", "\0", " "];
    let seed = 12345;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let yes = 0;
    for (let i = 0; i < 20000; i++) {
      let p = "";
      for (let n = Math.floor(next() * 12); n >= 0; n--) p += alphabet[Math.floor(next() * alphabet.length)];
      if (!isPlainCanonicalPath(p)) continue;
      yes++;
      expect(checkSessionPathInFull(p), JSON.stringify(p)).toEqual({ ok: true, path: p });
    }
    expect(yes).toBeGreaterThan(500);
    expect(isPlainCanonicalPath("/" + "a".repeat(MAX_KEY_LENGTH))).toBe(false);
    // Canonical keys hold a drive lower-case: C: must be normalized, not taken as it is.
    for (const p of ["/C:", "/C:/Users", "/", "/a/", "/a//b", "/a/./b", "/a/..", "a/b", "/a\0b"]) expect(isPlainCanonicalPath(p), JSON.stringify(p)).toBe(false);
  });
});
