import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BlobDigestMismatchError, InvalidParameterError } from "../../errors/index.js";
import { verifyingStream } from "./verifying-stream.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const chunks = [Buffer.from("first "), Buffer.from("second "), Buffer.from("last")];

describe("verifyingStream", () => {
  it("passes bytes that match their digest through whole and in order", async () => {
    const out: Buffer[] = [];
    for await (const c of Readable.from(chunks).pipe(verifyingStream(sha(Buffer.concat(chunks))))) out.push(c as Buffer);
    expect(Buffer.concat(out).toString()).toBe("first second last");
  });

  it("fails damaged bytes with BlobDigestMismatchError before handing out their last chunk", async () => {
    const out: Buffer[] = [];
    const read = async () => {
      for await (const c of Readable.from(chunks).pipe(verifyingStream(sha(Buffer.from("something else"))))) out.push(c as Buffer);
    };
    await expect(read()).rejects.toBeInstanceOf(BlobDigestMismatchError);
    // At most the chunks before the last (the error may also drop what was buffered): never the whole.
    expect("first second ".startsWith(Buffer.concat(out).toString())).toBe(true);
  });

  it("holds back the last chunk until the check passes: piped on, damaged bytes arrive short", async () => {
    const received: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk);
        cb();
      },
    });
    const source = Readable.from(chunks).pipe(verifyingStream(sha(Buffer.from("something else"))));
    const failed = new Promise((resolve) => source.once("error", resolve));
    source.pipe(sink);
    expect(await failed).toBeInstanceOf(BlobDigestMismatchError);
    expect(Buffer.concat(received).length).toBeLessThan(Buffer.concat(chunks).length);
  });

  it("passes an empty blob, and fails a one-chunk blob without handing out any byte", async () => {
    const empty: Buffer[] = [];
    for await (const c of Readable.from([]).pipe(verifyingStream(sha(Buffer.alloc(0))))) empty.push(c as Buffer);
    expect(empty).toEqual([]);
    const out: Buffer[] = [];
    const read = async () => {
      for await (const c of Readable.from([Buffer.from("only")]).pipe(verifyingStream(sha(Buffer.from("other"))))) out.push(c as Buffer);
    };
    await expect(read()).rejects.toBeInstanceOf(BlobDigestMismatchError);
    expect(out).toEqual([]);
  });

  describe("with an announced size", () => {
    const whole = Buffer.concat(chunks);
    const drain = async (source: Readable, sizeBytes: number, onBytes?: (n: number) => void) => {
      const out: Buffer[] = [];
      for await (const c of source.pipe(verifyingStream(sha(whole), { sizeBytes, onBytes, during: "while storing a blob" }))) out.push(c as Buffer);
      return Buffer.concat(out);
    };

    it("passes the exact bytes, reporting each chunk's size", async () => {
      const seen: number[] = [];
      expect((await drain(Readable.from(chunks), whole.length, (n) => seen.push(n))).toString()).toBe("first second last");
      expect(seen).toEqual(chunks.map((c) => c.length));
    });

    it("fails a body longer than announced as soon as it is, without reading on", async () => {
      let pulled = 0;
      const source = Readable.from((function* () {
        for (const c of [...chunks, ...Array.from({ length: 1000 }, () => Buffer.from(" and more"))]) {
          pulled++;
          yield c;
        }
      })());
      await expect(drain(source, 6)).rejects.toBeInstanceOf(InvalidParameterError);
      expect(pulled).toBeLessThan(100); // read-ahead aside, the other ~1000 chunks stay unread
    });

    it("fails a body shorter than announced whose bytes match, after the digest check", async () => {
      await expect(drain(Readable.from(chunks), whole.length + 1)).rejects.toThrow(/has 17 bytes but 18 were announced/);
    });

    it("names where a mismatch happened", async () => {
      const wrong = Readable.from([Buffer.from("first second lasT")]).pipe(verifyingStream(sha(whole), { during: "while storing a blob" }));
      await expect((async () => { for await (const _ of wrong) void _; })()).rejects.toThrow(/while storing a blob/);
    });
  });
});
