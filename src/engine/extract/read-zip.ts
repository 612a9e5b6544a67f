import fs from "node:fs";
import { pipeline } from "node:stream";
import yauzl from "yauzl";
import { describeError } from "../../errors/index.js";
import type { ArchiveEntry } from "./archive-entry.js";
import { MAX_PATH_BYTES } from "./entry-path.js";
import type { ExtractBudget } from "./extract-budget.js";

/** `versionMadeBy` high byte of zips written on Unix: only they carry a Unix mode in the external attributes. */
const MADE_BY_UNIX = 3;
/** MS-DOS "directory" attribute, set by Windows tools that write no Unix mode. */
const DOS_DIRECTORY = 0x10;

/**
 * Reads a zip's entries one at a time from the central directory (yauzl with lazyEntries: memory stays
 * bounded whatever the archive holds). Takes ownership of `fd` and closes it. yauzl checks that each entry
 * inflates to exactly its declared size; the budget counts every byte as it comes out of the inflater.
 * Names are decoded here but not validated: the extractor applies one set of rules to zip and tar.
 */
export async function* readZipEntries(fd: number, budget: ExtractBudget): AsyncGenerator<ArchiveEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromFdPromise(fd, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      // Names are decoded by getFileNameLowLevel below with backslashes kept, so our own rules see them.
      decodeStrings: false,
    });
  } catch (err) {
    // fromFd leaves the descriptor open when the file is not a zip.
    fs.closeSync(fd);
    return budget.reject(`the archive is not a readable zip file (${describeError(err)})`, err);
  }
  // Closing the descriptor happens once the last stream ends; an error then has no one left to tell.
  zip.on("error", () => undefined);
  try {
    budget.expectEntries(zip.entryCount);
    for await (const e of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, true);
      budget.addEntry(name);
      const type = typeOf(e, name);
      if (type === "file" || type === "symlink") {
        if (e.isEncrypted()) budget.reject("is encrypted; ctxsync cannot unpack encrypted archives");
        if (!e.canDecodeFileData()) {
          budget.reject(`uses compression method ${e.compressionMethod}; ctxsync unpacks only stored and deflated zip entries`);
        }
        budget.expect(e.uncompressedSize);
      }
      const open = () => openCounted(zip, e, budget);
      yield {
        name,
        type,
        mode: unixModeOf(e) === 0 ? null : unixModeOf(e) & 0o7777,
        mtime: e.getLastModDate(),
        linkname: type === "symlink" ? await readLinkTarget(await open(), budget) : null,
        open,
      };
    }
  } finally {
    zip.close();
  }
}

function unixModeOf(e: yauzl.Entry): number {
  return e.versionMadeBy >> 8 === MADE_BY_UNIX ? e.externalFileAttributes >>> 16 : 0;
}

function typeOf(e: yauzl.Entry, name: string): ArchiveEntry["type"] {
  if (name.endsWith("/") || name.endsWith("\\")) return "dir";
  const mode = unixModeOf(e);
  if (mode === 0) return e.externalFileAttributes & DOS_DIRECTORY ? "dir" : "file";
  switch (mode & 0o170000) {
    case 0o100000:
    case 0: // Some writers set permission bits only.
      return "file";
    case 0o040000:
      return "dir";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}

/** The entry's inflated data, passed through the budget's counter. */
async function openCounted(zip: yauzl.ZipFile, e: yauzl.Entry, budget: ExtractBudget): Promise<AsyncIterable<Buffer>> {
  const raw = await zip.openReadStreamPromise(e);
  const counter = budget.counter();
  // Failures reach the consumer through `counter`; if the consumer stops early, pipeline destroys `raw`, which
  // releases yauzl's hold on the descriptor.
  pipeline(raw, counter, () => undefined);
  return counter;
}

/** A zip symlink's data is its target; anything longer than a path is refused before it is all read. */
async function readLinkTarget(body: AsyncIterable<Buffer>, budget: ExtractBudget): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    // Leaving the loop destroys the stream.
    if (size > MAX_PATH_BYTES) budget.reject(`is a link whose target is longer than ${MAX_PATH_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
