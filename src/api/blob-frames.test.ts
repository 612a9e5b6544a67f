import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { InvalidParameterError, PayloadTooLargeError } from "../errors/index.js";
import { blobFrameHeader, decodeBlobFrames, decodeUploadFrames, encodeBlobFrames, type BlobFrame } from "./blob-frames.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const frame = (bytes: Buffer) => Buffer.concat([blobFrameHeader(sha(bytes), "ok", bytes.length), bytes]);

/** Feeds `body` in chunks of `size` bytes, so frames straddle chunk boundaries. */
async function* chunked(body: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}
async function decodeAll(source: AsyncIterable<Uint8Array>, limits = {}): Promise<BlobFrame[]> {
  const out: BlobFrame[] = [];
  for await (const f of decodeBlobFrames(source, limits)) out.push({ ...f, bytes: Buffer.from(f.bytes) });
  return out;
}

describe("blob frames", () => {
  const blobs = [Buffer.from("first"), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from("last")];
  const body = Buffer.concat([...blobs.map(frame), blobFrameHeader(sha(Buffer.from("gone")), "notFound", 0)]);

  for (const size of [1, 5, 37, 4096, body.length]) {
    it(`decode what was encoded, in order, whatever the chunking (${size}-byte chunks)`, async () => {
      const frames = await decodeAll(chunked(body, size));
      expect(frames.map((f) => [f.digest, f.status, f.bytes.toString("hex")])).toEqual([
        ...blobs.map((b) => [sha(b), "ok", b.toString("hex")]),
        [sha(Buffer.from("gone")), "notFound", ""],
      ]);
    });
  }

  it("an empty body is no frames", async () => {
    expect(await decodeAll(chunked(Buffer.alloc(0), 1))).toEqual([]);
  });

  it("refuses a body that ends inside a header or inside the bytes", async () => {
    for (const cut of [10, 40, body.length - 1]) {
      await expect(decodeAll(chunked(body.subarray(0, cut), 7))).rejects.toBeInstanceOf(InvalidParameterError);
    }
  });

  it("refuses a frame larger than the limit before reading its bytes", async () => {
    const big = frame(Buffer.alloc(2000, 1));
    await expect(decodeAll(chunked(big, 37), { maxBlobBytes: 1000 })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it("refuses more frames, or more bytes in all, than the limits", async () => {
    await expect(decodeAll(chunked(body, 100), { maxFrames: 2 })).rejects.toThrow("at most 2 blobs");
    await expect(decodeAll(chunked(body, 100), { maxTotalBytes: 1000 })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it("refuses an unknown status byte, and bytes on a frame that says there are none", async () => {
    const badStatus = blobFrameHeader(sha(Buffer.from("x")), "ok", 0);
    badStatus[32] = 9;
    await expect(decodeAll(chunked(badStatus, 64))).rejects.toThrow("unknown status byte 9");
    const withBytes = Buffer.concat([blobFrameHeader(sha(Buffer.from("x")), "notFound", 1), Buffer.from("x")]);
    await expect(decodeAll(chunked(withBytes, 64))).rejects.toBeInstanceOf(InvalidParameterError);
  });

  it("refuses to encode a digest that is not 64 hex characters", () => {
    expect(() => blobFrameHeader("abc", "ok", 0)).toThrow(InvalidParameterError);
  });

  it("encodes answers as frames that decode back, and an upload body refuses frames without bytes", async () => {
    async function* answers() {
      yield [{ digest: sha(Buffer.from("a")), status: "ok" as const, bytes: Buffer.from("a") }];
      yield [];
      yield [{ digest: sha(Buffer.from("gone")), status: "notFound" as const }, { digest: sha(Buffer.from("")), status: "ok" as const, bytes: Buffer.alloc(0) }];
    }
    const chunks: Buffer[] = [];
    for await (const c of encodeBlobFrames(answers())) chunks.push(c);
    const decoded = await decodeAll(chunked(Buffer.concat(chunks), 3));
    expect(chunks).toHaveLength(2);
    expect(decoded.map((f) => [f.status, f.bytes.toString()])).toEqual([["ok", "a"], ["notFound", ""], ["ok", ""]]);
    const upload = async () => {
      for await (const _ of decodeUploadFrames(chunked(Buffer.concat(chunks), 64))) void _;
    };
    await expect(upload()).rejects.toThrow("must have status 0 in an upload");
  });
});
