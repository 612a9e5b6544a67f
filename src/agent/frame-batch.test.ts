import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BLOB_FRAME_HEADER_BYTES, decodeBlobFrames, decodeUnnamedFrames } from "../api/index.js";
import { patternBytes, sha256 } from "../store/blob/contract.test-suite.js";
import { FrameBatch } from "./frame-batch.js";

describe("FrameBatch", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-frame-batch-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };
  const decode = async (body: Buffer) => {
    const frames = [];
    for await (const f of decodeBlobFrames(Readable.from([body]))) frames.push({ digest: f.digest, bytes: Buffer.from(f.bytes) });
    return frames;
  };

  it("reads files into frames that decode to their bytes and digests, empty files included", async () => {
    const contents = [patternBytes(1000, 1), Buffer.alloc(0), patternBytes(3, 2)];
    const batch = new FrameBatch(10, 4096);
    contents.forEach((b, i) => expect(batch.add(i, write(`f${i}`, b), b.length)).toMatchObject({ index: i, digest: sha256(b), sizeBytes: b.length }));
    expect(batch.length).toBe(3);
    expect(batch.body.length).toBe(3 * BLOB_FRAME_HEADER_BYTES + 1003);
    expect(await decode(batch.body)).toEqual(contents.map((b) => ({ digest: sha256(b), bytes: b })));
  });

  it("takes a file that shrank since the scan as it is now, and refuses one that grew, adding nothing", async () => {
    const batch = new FrameBatch(10, 4096);
    const shrunk = patternBytes(10, 3);
    expect(batch.add(0, write("shrunk", shrunk), 500)).toMatchObject({ digest: sha256(shrunk), sizeBytes: 10 });
    const before = batch.body.length;
    expect(batch.add(1, write("grown", patternBytes(501, 4)), 500)).toBe("tooLarge");
    expect(batch.length).toBe(1);
    expect(batch.body.length).toBe(before);
  });

  it("answers a missing file or a symlink with the error, adding nothing", () => {
    const batch = new FrameBatch(10, 4096);
    expect(batch.add(0, path.join(dir, "missing"), 5)).toMatchObject({ code: "ENOENT" });
    fs.symlinkSync(write("target", Buffer.from("outside")), path.join(dir, "link"));
    expect(batch.add(1, path.join(dir, "link"), 7)).toMatchObject({ code: "ELOOP" });
    expect(batch.length).toBe(0);
  });

  it("after reset(false) frames files unnamed: no digest taken, status 3, the bytes as they are", async () => {
    const batch = new FrameBatch(10, 4096);
    batch.add(0, write("named", patternBytes(20, 8)), 20);
    batch.reset(false);
    expect(batch.named).toBe(false);
    const contents = [patternBytes(700, 9), Buffer.alloc(0)];
    contents.forEach((b, i) => expect(batch.add(i, write(`u${i}`, b), b.length)).toMatchObject({ index: i, digest: null, sizeBytes: b.length }));
    const frames = [];
    for await (const bytes of decodeUnnamedFrames(Readable.from([batch.body]))) frames.push(Buffer.from(bytes));
    expect(frames).toEqual(contents);
    batch.reset();
    expect(batch.named).toBe(true);
  });

  it("fits files until the count or the bytes run out, and reset empties it for reuse", async () => {
    const batch = new FrameBatch(2, 100);
    expect(batch.fits(100)).toBe(true);
    expect(batch.fits(101)).toBe(false);
    batch.add(0, write("a", patternBytes(60, 5)), 60);
    expect(batch.fits(40)).toBe(true);
    expect(batch.fits(41)).toBe(false);
    batch.add(1, write("b", patternBytes(10, 6)), 10);
    expect(batch.fits(0)).toBe(false);
    batch.reset();
    expect(batch.length).toBe(0);
    expect(batch.body.length).toBe(0);
    const again = patternBytes(100, 7);
    batch.add(0, write("c", again), 100);
    expect(await decode(batch.body)).toEqual([{ digest: sha256(again), bytes: again }]);
  });
});
