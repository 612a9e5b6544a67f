import { InvalidParameterError } from "../../errors/index.js";

/**
 * A lean streaming reader for the tar archives ctxsync writes: ustar headers, pax `x` headers (tar-stream
 * writes one for a long or non-ASCII name or link target) and base-256 sizes (tar-stream's encoding past
 * 8 GiB). tar-stream's extractor costs a stream object and several event-loop turns per entry, which for
 * thousands of small files took more time than inflating them; this one hands out slices of the input.
 */

/** One entry of a tar archive. */
export interface TarEntry {
  /** Path inside the archive, with the pax `path` or ustar prefix applied. */
  name: string;
  /** ustar type flag: "0" regular file, "2" symlink, "5" directory, … */
  typeflag: string;
  sizeBytes: number;
  linkname: string;
  /** The entry's bytes as slices of the input; what is not read is skipped when the next entry is asked for. */
  body: AsyncIterable<Buffer>;
}

const BLOCK = 512;
/** pax headers hold a few paths; anything larger is not an archive of ours. */
const MAX_PAX_BYTES = 1 << 20;

/**
 * Yields the entries of the tar stream `source`, in order; pax headers are applied, not yielded. Each
 * entry's body must be read (or left) before asking for the next. After the end-of-archive block the
 * rest of `source` is read to its end, so errors that a source reports only there (a blob's digest check,
 * gzip's CRC) still surface. Throws InvalidParameterError for a damaged or foreign archive.
 */
export async function* readTarEntries(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const input = new ChunkReader(source);
  try {
    let pax = new Map<string, string>();
    for (;;) {
      const block = await input.read(BLOCK, true);
      if (block === null || isZeroBlock(block)) break;
      const h = decodeHeader(block);
      const padding = (BLOCK - (h.sizeBytes % BLOCK)) % BLOCK;
      if (h.typeflag === "x" || h.typeflag === "g") {
        if (h.sizeBytes > MAX_PAX_BYTES) throw damaged(`a pax header of ${h.sizeBytes} bytes`);
        const records = parsePax((await input.read(h.sizeBytes))!);
        if (h.typeflag === "x") pax = records; // global ("g") headers carry nothing we use
        await input.skip(padding);
        continue;
      }
      const sizeBytes = pax.has("size") ? Number(pax.get("size")) : h.sizeBytes;
      if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw damaged(`an entry size of ${pax.get("size")}`);
      const body = new EntryBody(input, sizeBytes);
      yield { name: pax.get("path") ?? h.name, typeflag: h.typeflag, sizeBytes, linkname: pax.get("linkpath") ?? h.linkname, body };
      pax = new Map();
      await body.skipRest();
      await input.skip((BLOCK - (sizeBytes % BLOCK)) % BLOCK);
    }
    await input.drain();
  } finally {
    await input.close();
  }
}

/** Bytes of one entry, read from the shared input; tracks what is left so the reader can skip it. */
class EntryBody implements AsyncIterable<Buffer> {
  constructor(
    private readonly input: ChunkReader,
    private remaining: number,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    while (this.remaining > 0) {
      const chunk = await this.input.next(this.remaining);
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  async skipRest(): Promise<void> {
    await this.input.skip(this.remaining);
    this.remaining = 0;
  }
}

/** Reads exact byte counts out of a stream of chunks of any size, slicing rather than copying. */
class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private failure: { error: unknown } | undefined;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes. Throws when the input ends first, except with `endOk` before the first byte: null. */
  async read(n: number, endOk = false): Promise<Buffer | null> {
    if (this.chunk.length - this.offset >= n) return this.take(n);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (this.offset === this.chunk.length && !(await this.refill())) {
        if (got === 0 && endOk) return null;
        throw damaged("an archive cut short");
      }
      const part = this.take(Math.min(n - got, this.chunk.length - this.offset));
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Up to `max` bytes (at least one). Throws when the input has ended. */
  async next(max: number): Promise<Buffer> {
    if (this.offset === this.chunk.length && !(await this.refill())) throw damaged("an archive cut short");
    return this.take(Math.min(max, this.chunk.length - this.offset));
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.next(n)).length;
  }

  /** Reads the input to its end, discarding it. */
  async drain(): Promise<void> {
    this.offset = this.chunk.length;
    while (await this.refill());
  }

  /** Stops the input early (for a Readable: destroys it). */
  async close(): Promise<void> {
    await this.it.return?.();
  }

  private take(n: number): Buffer {
    const out = this.chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  private async refill(): Promise<boolean> {
    // The input failed before (its consumer may have caught that and read on): the same error, not a
    // misleading "cut short" from an iterator that has ended.
    if (this.failure) throw this.failure.error;
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (error) {
        this.failure = { error };
        throw error;
      }
      if (r.done) return false;
      if (r.value.length === 0) continue;
      this.chunk = r.value;
      this.offset = 0;
      return true;
    }
  }
}

interface Header {
  name: string;
  typeflag: string;
  sizeBytes: number;
  linkname: string;
}

/** Parses a ustar header block, verifying its checksum. */
function decodeHeader(block: Buffer): Header {
  if (readNumber(block, 148, 8) !== checksum(block)) throw damaged("a header with a bad checksum (is it a tar archive?)");
  let name = readString(block, 0, 100);
  // ustar: a long path is split into prefix (at 345) and name.
  if (block.toString("latin1", 257, 263) === "ustar\0" && block[345] !== 0) name = `${readString(block, 345, 155)}/${name}`;
  const flag = block[156]!;
  return {
    name,
    typeflag: flag === 0 ? "0" : String.fromCharCode(flag),
    sizeBytes: readNumber(block, 124, 12),
    linkname: readString(block, 157, 100),
  };
}

/** Sum of the header's bytes with the checksum field counted as spaces. */
function checksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}

/** An octal field (NUL- or space-terminated), or base-256 when its high bit is set (sizes ≥ 8 GiB). */
function readNumber(block: Buffer, offset: number, length: number): number {
  if (block[offset]! & 0x80) {
    if (block[offset] !== 0x80) throw damaged("a negative number in a header");
    let n = 0;
    for (let i = offset + 1; i < offset + length; i++) n = n * 256 + block[i]!;
    return n;
  }
  const text = block.toString("latin1", offset, offset + length).replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw damaged(`a header number "${text}"`);
  return parseInt(text, 8);
}

function readString(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString("utf8", offset, end === -1 || end > offset + length ? offset + length : end);
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** pax records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    const len = space === -1 ? NaN : Number(buf.toString("latin1", at, space));
    if (!Number.isInteger(len) || len <= space - at || at + len > buf.length) throw damaged("a malformed pax header");
    const record = buf.toString("utf8", space + 1, at + len - 1); // without the trailing newline
    const eq = record.indexOf("=");
    if (eq === -1) throw damaged("a malformed pax record");
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

function damaged(what: string): InvalidParameterError {
  return new InvalidParameterError(`Archive is damaged or not a tar archive: it has ${what}.`);
}
