import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeEntryFile } from "./write-entry-file.js";

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const MTIME_MS = 1_700_000_000_123;

describe("writeEntryFile", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-entry-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes the bytes from any number of chunks, with the entry's mode and mtime", async () => {
    const target = path.join(dir, "a.txt");
    let progress = 0;
    await writeEntryFile(chunks("hel", "lo"), { digest: sha256("hello"), sizeBytes: 5, mode: 0o640, mtimeMs: MTIME_MS }, target, (n) => (progress += n));
    const st = fs.statSync(target);
    // Math.round, as scan-tree reads mtimes: seconds as a double lose a little below the millisecond.
    expect(fs.readFileSync(target, "utf8")).toBe("hello");
    expect({ mode: st.mode & 0o777, mtimeMs: Math.round(st.mtimeMs), progress }).toEqual({ mode: 0o640, mtimeMs: MTIME_MS, progress: 5 });
  });

  it("fails on bytes that do not match the manifest's digest or size", async () => {
    const meta = { digest: sha256("hello"), sizeBytes: 5, mode: 0o644, mtimeMs: MTIME_MS };
    await expect(writeEntryFile(chunks("hellO"), meta, path.join(dir, "b"), () => {})).rejects.toMatchObject({ code: "BlobDigestMismatch" });
    await expect(writeEntryFile(chunks("hello", "!"), meta, path.join(dir, "c"), () => {})).rejects.toThrow(/larger than its manifest/);
  });

  it("never writes into a file that already exists", async () => {
    const target = path.join(dir, "taken");
    fs.writeFileSync(target, "mine");
    await expect(writeEntryFile(chunks("x"), { digest: sha256("x"), sizeBytes: 1, mode: 0o644, mtimeMs: MTIME_MS }, target, () => {})).rejects.toMatchObject({ code: "EEXIST" });
    expect(fs.readFileSync(target, "utf8")).toBe("mine");
  });
});
