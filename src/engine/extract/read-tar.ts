import fs from "node:fs";
import type { Stream } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { ArchiveEntry } from "./archive-entry.js";
import type { ExtractBudget } from "./extract-budget.js";

/**
 * Reads a tar (gunzipped first when `gzipped`) as a stream, one entry at a time. Takes ownership of `fd` and
 * closes it. The budget counts the whole inflated stream, headers and skipped data included, so neither a
 * huge entry nor gigabytes of padding after the last one get past it. tar-stream itself caps long-name and
 * PAX headers at 4 MiB. Names are not validated here: the extractor applies one set of rules to zip and tar.
 */
export async function* readTarEntries(fd: number, gzipped: boolean, budget: ExtractBudget): AsyncGenerator<ArchiveEntry> {
  const source = fs.createReadStream("", { fd, autoClose: true });
  const extract = tar.extract();
  const gunzip = gzipped ? createGunzip() : null;
  const counter = budget.counter();
  const stages: Stream[] = gunzip ? [source, gunzip, counter] : [source, counter];
  // Any stage's failure (a read error, corrupt gzip, the budget's rejection) ends the entry loop below.
  for (const s of stages) s.on("error", (err: Error) => extract.destroy(err));
  (gunzip ? source.pipe(gunzip) : source).pipe(counter).pipe(extract);
  try {
    for await (const e of extract) {
      const h = e.header;
      budget.addEntry(h.name);
      const type = typeOf(h.type);
      if (type === "file") budget.expect(h.size);
      yield {
        name: h.name,
        type,
        // tar-stream's types call these fields required; headers without them still parse.
        mode: (h.mode as number | undefined) ?? null,
        mtime: (h.mtime as Date | undefined) ?? null,
        linkname: (h.linkname as string | null | undefined) ?? null,
        // tar-stream entries yield Buffers.
        open: () => Promise.resolve(e as AsyncIterable<Buffer>),
      };
      // Skip whatever the extractor did not read: the next header follows this entry's data.
      e.resume();
    }
  } finally {
    for (const s of [source, gunzip, counter]) s?.destroy();
  }
}

function typeOf(type: tar.Header["type"] | null | undefined): ArchiveEntry["type"] {
  switch (type) {
    case "file":
    case "contiguous-file":
      return "file";
    case "directory":
      return "dir";
    case "symlink":
      return "symlink";
    case "link":
      return "hardlink";
    default:
      // Devices, FIFOs and unknown types are never created.
      return "other";
  }
}
