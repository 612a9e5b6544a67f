import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { readTarEntries } from "./tar-entries.js";

/** A tar archive as tar-stream's pack writes it (how ctxsync has always written its archives). */
async function packTar(entries: { header: Partial<tar.Header> & Pick<tar.Header, "name">; body?: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry(e.header, e.body ?? Buffer.alloc(0));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* inChunksOf(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(source: AsyncIterable<Buffer>, skipBodyOf: (name: string) => boolean = () => false) {
  const out: { name: string; typeflag: string; sizeBytes: number; linkname: string; body: string }[] = [];
  for await (const e of readTarEntries(source)) {
    const parts: Buffer[] = [];
    if (!skipBodyOf(e.name)) for await (const c of e.body) parts.push(c);
    out.push({ name: e.name, typeflag: e.typeflag, sizeBytes: e.sizeBytes, linkname: e.linkname, body: Buffer.concat(parts).toString() });
  }
  return out;
}

const LONG = `${"deep/".repeat(40)}name.txt`; // 208 bytes: ustar prefix + name cannot hold it, so a pax header
const WIDE = `${"a".repeat(60)}/${"b".repeat(90)}.txt`; // fits the ustar prefix/name split

describe("readTarEntries", () => {
  const entries = [
    { header: { name: "small.txt", mode: 0o644 }, body: Buffer.from("hello") },
    { header: { name: "empty.txt", mode: 0o600 }, body: Buffer.alloc(0) },
    { header: { name: "block.bin" }, body: Buffer.alloc(1024, 7) },
    { header: { name: LONG }, body: Buffer.from("long") },
    { header: { name: WIDE }, body: Buffer.from("wide") },
    { header: { name: "naïve/ünïcode.txt" }, body: Buffer.from("utf8") },
    { header: { name: "link", type: "symlink" as const, linkname: `${"t/".repeat(60)}target` } },
    { header: { name: "odd.txt" }, body: Buffer.from("x".repeat(1000)) },
  ];

  for (const size of [1, 100, 512, 4096, 1 << 20]) {
    it(`reads what tar-stream writes, names, sizes, links and bytes, from ${size}-byte chunks`, async () => {
      const got = await readAll(inChunksOf(await packTar(entries), size));
      expect(got.map((e) => e.name)).toEqual(["small.txt", "empty.txt", "block.bin", LONG, WIDE, "naïve/ünïcode.txt", "link", "odd.txt"]);
      expect(got.map((e) => e.body)).toEqual(["hello", "", "\x07".repeat(1024), "long", "wide", "utf8", "", "x".repeat(1000)]);
      expect(got.map((e) => e.sizeBytes)).toEqual([5, 0, 1024, 4, 4, 4, 0, 1000]);
      expect(got[6]).toMatchObject({ typeflag: "2", linkname: `${"t/".repeat(60)}target` });
      expect(got[0]!.typeflag).toBe("0");
    });
  }

  it("skips the bodies the caller does not read", async () => {
    const got = await readAll(inChunksOf(await packTar(entries), 300), (name) => name !== "odd.txt");
    expect(got.map((e) => e.body)).toEqual(["", "", "", "", "", "", "", "x".repeat(1000)]);
  });

  it("rejects a stream that is not tar, and one cut short inside an entry", async () => {
    await expect(readAll(inChunksOf(Buffer.alloc(1024, 1), 512))).rejects.toThrow(/not a tar archive/);
    const whole = await packTar(entries);
    await expect(readAll(inChunksOf(whole.subarray(0, 512 + 3), 512))).rejects.toThrow(/cut short/);
  });

  it("reports an error the source raises after the last entry", async () => {
    const whole = await packTar(entries.slice(0, 1));
    async function* failingAtEnd() {
      yield whole;
      throw new Error("digest mismatch");
    }
    await expect(readAll(failingAtEnd())).rejects.toThrow(/digest mismatch/);
  });

  it("keeps reporting the source's own error after a consumer caught it mid-entry", async () => {
    const whole = await packTar([{ header: { name: "big.bin" }, body: Buffer.alloc(4096, 1) }, ...entries.slice(0, 1)]);
    async function* failingMidEntry() {
      yield whole.subarray(0, 1024);
      throw new Error("server unreachable");
    }
    const consume = async () => {
      for await (const e of readTarEntries(failingMidEntry())) {
        try {
          for await (const _ of e.body) void _;
        } catch (err) {
          expect(String(err)).toContain("server unreachable"); // the consumer records it and reads on
        }
      }
    };
    await expect(consume()).rejects.toThrow(/server unreachable/);
  });
});
