import { describe, expect, it } from "vitest";
import { filesToObject, modelDownload, modelUpload, type Files, type Version } from "./sync-model.js";

const V1: Version = { content: "one", mtimeMs: 1000 };
const V2: Version = { content: "two", mtimeMs: 2000 };
const V3: Version = { content: "two", mtimeMs: 3000 }; // same bytes as V2, a later write

const files = (o: Record<string, Version>): Files => new Map(Object.entries(o));

describe("modelUpload", () => {
  const cases: { name: string; base: Record<string, Version>; local: Record<string, Version>; remote: Record<string, Version>; want: Record<string, Version> }[] = [
    { name: "writes a new local file", base: {}, local: { a: V1 }, remote: {}, want: { a: V1 } },
    { name: "the later upload wins when both changed a file", base: {}, local: { a: V2 }, remote: { a: V1 }, want: { a: V2 } },
    { name: "a rewrite with the same bytes is a change", base: { a: V2 }, local: { a: V3 }, remote: { a: V1 }, want: { a: V3 } },
    { name: "keeps another session's change to a file unchanged here", base: { a: V1 }, local: { a: V1 }, remote: { a: V2 }, want: { a: V2 } },
    { name: "keeps another session's deletion of a file unchanged here", base: { a: V1 }, local: { a: V1 }, remote: {}, want: {} },
    { name: "deletes a file removed here that the context still has as seen", base: { a: V1 }, local: {}, remote: { a: V1 }, want: {} },
    { name: "keeps a file removed here that another session changed", base: { a: V1 }, local: {}, remote: { a: V2 }, want: { a: V2 } },
    { name: "never touches a file the session never saw", base: {}, local: {}, remote: { b: V1 }, want: { b: V1 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = modelUpload(files(c.remote), { base: files(c.base), local: files(c.local) });
      expect(filesToObject(r.context)).toEqual(c.want);
      expect(filesToObject(r.base)).toEqual(c.local);
    });
  }
});

describe("modelDownload", () => {
  it("overwrites local changes, keeps local-only files, and adds the context's files to the base", () => {
    const r = modelDownload(files({ a: V2 }), { local: files({ a: V1, b: V1 }), base: files({ c: V1 }) });
    expect(filesToObject(r.local)).toEqual({ a: V2, b: V1 });
    expect(filesToObject(r.base)).toEqual({ a: V2, c: V1 });
  });
});
