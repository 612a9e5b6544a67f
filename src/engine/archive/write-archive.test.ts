import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashFileSync } from "../hash-file.js";
import { writeArchive } from "./write-archive.js";

describe("writeArchive", () => {
  let dir = "";
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-write-archive-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const noBlobs = { blobs: { get: () => Promise.reject(new Error("no blobs in this test")) } };
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  // The manifest is planned from a scan; a file that grew since has the bytes hashed later but the old
  // size. Archiving it as is would store an entry larger than its manifest says: every download fails.
  for (const [what, bytes] of [
    ["read whole", Buffer.from("0123456789MORE")],
    ["streamed", Buffer.alloc((1 << 20) + 10, 7)],
  ] as const) {
    it(`refuses a file (${what}) whose size is not the manifest's, though its digest is, and leaves no archive`, async () => {
      const file = path.join(dir, "log.txt");
      fs.writeFileSync(file, bytes);
      const entry = { rel: "log.txt", type: "file" as const, digest: sha(bytes), sizeBytes: bytes.length - 4, mode: 0o644, mtimeMs: 1_700_000_000_000, linkTarget: null };
      const out = path.join(dir, "out.tar.gz");
      await expect(writeArchive(noBlobs, out, [{ entry, from: "local", path: file }], undefined)).rejects.toMatchObject({ code: "BlobDigestMismatch" });
      expect(fs.existsSync(out)).toBe(false);
    });
  }
});

describe("hashFileSync", () => {
  it("gives the size of the bytes it hashed", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-hash-"));
    try {
      const file = path.join(dir, "f");
      fs.writeFileSync(file, "0123456789MORE");
      expect(hashFileSync(file)).toEqual({ digest: createHash("sha256").update("0123456789MORE").digest("hex"), sizeBytes: 14 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
