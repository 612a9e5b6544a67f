/**
 * A minimal zip writer for tests (no zip library is a dependency): local headers, central directory, end
 * record; stored or deflated; Unix modes and Info-ZIP timestamps. No zip64, so under 65,535 entries and 4 GiB.
 * Hostile archives are built with it in the tests that need them, never checked in.
 */
import { once } from "node:events";
import zlib from "node:zlib";

export interface ZipEntrySpec {
  /** Written as UTF-8 with the UTF-8 flag set, exactly as given (backslashes, `..` and NUL included). */
  name: string;
  /** File data, or a symlink's target. Omitted for folders. */
  data?: Buffer | string;
  /** Full Unix mode with type bits (0o100644 file, 0o040755 folder, 0o120777 symlink); omitted: made on DOS. */
  unixMode?: number;
  mtime?: Date;
  /** Store instead of deflating. */
  store?: boolean;
}

interface ZipRecord {
  name: Buffer;
  method: number;
  crc: number;
  compressedSize: number;
  /** What the headers declare, which a hostile archive may set to anything. */
  uncompressedSize: number;
  mtime: Date;
  unixMode: number | undefined;
  offset: number;
}

const UTF8_FLAG = 0x800;
const DEFAULT_MTIME = new Date("2024-01-02T03:04:06Z");

/** A zip of `entries`, in order. */
export function buildZip(entries: readonly ZipEntrySpec[]): Buffer {
  const parts: Buffer[] = [];
  const records: ZipRecord[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    const body = e.store ? data : zlib.deflateRawSync(data);
    const r: ZipRecord = {
      name: Buffer.from(e.name, "utf8"),
      method: e.store ? 0 : 8,
      crc: zlib.crc32(data),
      compressedSize: body.length,
      uncompressedSize: data.length,
      mtime: e.mtime ?? DEFAULT_MTIME,
      unixMode: e.unixMode,
      offset,
    };
    const header = localHeader(r);
    parts.push(header, body);
    offset += header.length + body.length;
    records.push(r);
  }
  return Buffer.concat([...parts, ...centralDirectory(records, offset)]);
}

/**
 * A zip bomb: one deflated body of `zeroBytes` zeros, streamed through zlib so it is never held inflated,
 * listed `aliases` times in the central directory (`bomb-0`, `bomb-1`, … all sharing the body, like the
 * "non-recursive zip bomb"), each declaring `declaredBytes` (default: the truth).
 */
export async function buildZeroBombZip(opts: { zeroBytes: number; aliases?: number; declaredBytes?: number }): Promise<Buffer> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on("data", (c: Buffer) => chunks.push(c));
  const zeros = Buffer.alloc(1 << 20);
  let crc = 0;
  for (let left = opts.zeroBytes; left > 0; left -= zeros.length) {
    const part = left >= zeros.length ? zeros : zeros.subarray(0, left);
    crc = zlib.crc32(part, crc);
    if (!deflate.write(part)) await once(deflate, "drain");
  }
  deflate.end();
  await once(deflate, "end");
  const body = Buffer.concat(chunks);
  const records: ZipRecord[] = [];
  for (let i = 0; i < (opts.aliases ?? 1); i++) {
    records.push({
      name: Buffer.from(`bomb-${i}`),
      method: 8,
      crc,
      compressedSize: body.length,
      uncompressedSize: opts.declaredBytes ?? opts.zeroBytes,
      mtime: DEFAULT_MTIME,
      unixMode: 0o100644,
      offset: 0,
    });
  }
  const header = localHeader(records[0]!);
  return Buffer.concat([header, body, ...centralDirectory(records, header.length + body.length)]);
}

function localHeader(r: ZipRecord): Buffer {
  const extra = timestampExtra(r.mtime);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(UTF8_FLAG, 6);
  b.writeUInt16LE(r.method, 8);
  writeDosDateTime(b, 10, r.mtime);
  b.writeUInt32LE(r.crc, 14);
  b.writeUInt32LE(r.compressedSize, 18);
  b.writeUInt32LE(r.uncompressedSize, 22);
  b.writeUInt16LE(r.name.length, 26);
  b.writeUInt16LE(extra.length, 28);
  return Buffer.concat([b, r.name, extra]);
}

function centralDirectory(records: readonly ZipRecord[], offset: number): Buffer[] {
  const parts: Buffer[] = [];
  let size = 0;
  for (const r of records) {
    const extra = timestampExtra(r.mtime);
    const b = Buffer.alloc(46);
    b.writeUInt32LE(0x02014b50, 0);
    b.writeUInt16LE(r.unixMode === undefined ? 20 : (3 << 8) | 20, 4);
    b.writeUInt16LE(20, 6);
    b.writeUInt16LE(UTF8_FLAG, 8);
    b.writeUInt16LE(r.method, 10);
    writeDosDateTime(b, 12, r.mtime);
    b.writeUInt32LE(r.crc, 16);
    b.writeUInt32LE(r.compressedSize, 20);
    b.writeUInt32LE(r.uncompressedSize, 24);
    b.writeUInt16LE(r.name.length, 28);
    b.writeUInt16LE(extra.length, 30);
    b.writeUInt32LE(r.unixMode === undefined ? 0 : (r.unixMode << 16) >>> 0, 38);
    b.writeUInt32LE(r.offset, 42);
    parts.push(b, r.name, extra);
    size += b.length + r.name.length + extra.length;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return [...parts, end];
}

/** Info-ZIP "UT" field: the mtime to the second, which yauzl prefers over the 2-second DOS time. */
function timestampExtra(mtime: Date): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(0x5455, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeInt32LE(Math.floor(mtime.getTime() / 1000), 5);
  return b;
}

function writeDosDateTime(b: Buffer, at: number, d: Date): void {
  b.writeUInt16LE((d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1), at);
  b.writeUInt16LE(((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(), at + 2);
}
