/** Builds tar and tar.gz fixtures for tests with tar-stream; hostile ones included, never checked in. */
import { once } from "node:events";
import { createGzip } from "node:zlib";
import tar from "tar-stream";

export interface TarEntrySpec {
  /** Written as given (`../x`, `/etc/x` and backslashes included). */
  name: string;
  type?: tar.Header["type"];
  data?: Buffer | string;
  mode?: number;
  mtime?: Date;
  linkname?: string;
}

const DEFAULT_MTIME = new Date("2024-01-02T03:04:06Z");

/** A tar of `entries`, in order; gzipped when `gzip`. */
export async function buildTar(entries: readonly TarEntrySpec[], gzip = false): Promise<Buffer> {
  return collect(gzip, (pack) => {
    for (const e of entries) {
      const header = { name: e.name, type: e.type ?? "file", mode: e.mode, mtime: e.mtime ?? DEFAULT_MTIME, linkname: e.linkname };
      pack.entry(header, Buffer.from(e.data ?? ""));
    }
    return Promise.resolve();
  });
}

/**
 * A tar.gz whose tar holds `zeroBytes` zeros, streamed so they are never held in memory: as the data of one
 * file `bomb` (its header declares the size), or as padding after the end-of-archive blocks (nothing declares it).
 */
export async function buildZeroBombTarGz(zeroBytes: number, where: "entry" | "padding" = "entry"): Promise<Buffer> {
  const zeros = Buffer.alloc(1 << 20);
  const writeZeros = async (sink: { write(b: Buffer): boolean }, drained: () => Promise<unknown>) => {
    for (let left = zeroBytes; left > 0; left -= zeros.length) {
      if (!sink.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await drained();
    }
  };
  if (where === "padding") {
    const gzip = createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gzip.on("data", (c: Buffer) => chunks.push(c));
    const done = once(gzip, "end");
    gzip.write(await buildTar([{ name: "small.txt", data: "small" }]));
    await writeZeros(gzip, () => once(gzip, "drain"));
    gzip.end();
    await done;
    return Buffer.concat(chunks);
  }
  return collect(true, async (pack) => {
    const sink = pack.entry({ name: "bomb", size: zeroBytes, mtime: DEFAULT_MTIME });
    await writeZeros(sink, () => once(sink, "drain"));
    sink.end(null);
  });
}

async function collect(gzip: boolean, fill: (pack: tar.Pack) => Promise<void>): Promise<Buffer> {
  const pack = tar.pack();
  const out = gzip ? pack.pipe(createGzip({ level: 9 })) : pack;
  const chunks: Buffer[] = [];
  out.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = once(out, "end");
  await fill(pack);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
