import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, SwitchableGzip } from "./switchable-gzip.js";

const ZEROS = Buffer.alloc(1 << 20);
const RANDOM = randomBytes(1 << 20);

/** Writes `parts` through a SwitchableGzip, applying each part's level first; returns the gzip bytes. */
async function gzipWithLevels(parts: { level: number; data: Buffer }[]): Promise<Buffer> {
  const gz = new SwitchableGzip(parts[0]?.level ?? 6);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  const done = pipeline(gz, sink);
  for (const p of parts) {
    gz.setLevel(p.level);
    await new Promise((resolve) => gz.write(p.data, resolve)); // taken in before the next level is set
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

describe("SwitchableGzip", () => {
  it("writes gzip that zlib and the gzip tool read back byte for byte, across level switches", async () => {
    const parts = [
      { level: 6, data: Buffer.from("manifest\n".repeat(1000)) },
      { level: 0, data: RANDOM },
      { level: 6, data: ZEROS },
      { level: 0, data: RANDOM.subarray(0, 1000) },
    ];
    const gz = await gzipWithLevels(parts);
    const whole = Buffer.concat(parts.map((p) => p.data));
    expect(zlib.gunzipSync(gz).equals(whole)).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctxsync-gzip-"));
    try {
      fs.writeFileSync(path.join(dir, "a.gz"), gz);
      expect(execFileSync("gzip", ["-dc", path.join(dir, "a.gz")], { maxBuffer: 8 << 20 }).equals(whole)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("applies a level change mid-stream (Node's Gzip ignores params())", async () => {
    const compressed = await gzipWithLevels([{ level: 6, data: ZEROS }]);
    const stored = await gzipWithLevels([{ level: 6, data: Buffer.from("x") }, { level: 0, data: ZEROS }]);
    expect(compressed.length).toBeLessThan(10_000);
    expect(stored.length).toBeGreaterThan(ZEROS.length); // level 0: stored blocks, no compression
  });

  it("writes a valid empty gzip", async () => {
    expect(zlib.gunzipSync(await gzipWithLevels([{ level: 6, data: Buffer.alloc(0) }])).length).toBe(0);
  });

  it("computes gzip's CRC-32", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(Buffer.from("56789"), crc32(Buffer.from("1234")))).toBe(0xcbf43926);
  });
});
