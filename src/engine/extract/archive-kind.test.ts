import { describe, expect, it } from "vitest";
import { archiveKindOf } from "./archive-kind.js";

describe("archiveKindOf", () => {
  const cases: [string, ReturnType<typeof archiveKindOf>][] = [
    ["ext_1.zip", { kind: "zip", stem: "ext_1" }],
    ["a.tar.gz", { kind: "tar.gz", stem: "a" }],
    ["a.tgz", { kind: "tar.gz", stem: "a" }],
    ["a.tar", { kind: "tar", stem: "a" }],
    ["Photos.ZIP", { kind: "zip", stem: "Photos" }],
    ["a.Tar.Gz", { kind: "tar.gz", stem: "a" }],
    ["a.TGZ", { kind: "tar.gz", stem: "a" }],
    ["v1.2.zip", { kind: "zip", stem: "v1.2" }],
    ["İstanbul.ZIP", { kind: "zip", stem: "İstanbul" }],
    ["notes.gz", null],
    ["a.zip.txt", null],
    ["zip", null],
    [".zip", null],
    [".tar.gz", null],
  ];
  for (const [name, want] of cases) it(`${name} → ${JSON.stringify(want)}`, () => expect(archiveKindOf(name)).toEqual(want));
});
