import { InvalidParameterError } from "../../errors/index.js";
import type { FileMeta } from "../../store/index.js";

/** Object name of a mount's archive, under its namespace (SPEC §3, Upload modes). */
export const ARCHIVE_NAME = ".ctxsync-archive.tar.gz";
/** First entry of every archive: one JSON line per file, so readers learn the contents without inflating them. */
export const MANIFEST_NAME = ".ctxsync-manifest.jsonl";
const MANIFEST_VERSION = 1;

/** One file inside an archive: its path relative to the namespace and its exact metadata. */
export interface ManifestEntry extends FileMeta {
  rel: string;
}

/** JSON lines: a header line `{"ctxsyncManifest":1}`, then one entry per line. */
export function encodeManifest(entries: readonly ManifestEntry[]): Buffer {
  const lines = [JSON.stringify({ ctxsyncManifest: MANIFEST_VERSION })];
  for (const e of entries) {
    lines.push(JSON.stringify([e.rel, e.type, e.digest, e.sizeBytes, e.mode, e.mtimeMs, e.linkTarget]));
  }
  return Buffer.from(`${lines.join("\n")}\n`, "utf8");
}

/** Parses what encodeManifest wrote; throws InvalidParameterError for anything else. */
export function decodeManifest(buf: Buffer): ManifestEntry[] {
  const lines = buf.toString("utf8").split("\n").filter((l) => l !== "");
  const header = JSON.parse(lines[0] ?? "null") as { ctxsyncManifest?: number } | null;
  if (header?.ctxsyncManifest !== MANIFEST_VERSION) {
    throw new InvalidParameterError(`Archive manifest has an unknown format (${lines[0] ?? "empty"}); it was not written by this ctxsync.`);
  }
  return lines.slice(1).map((line) => {
    const [rel, type, digest, sizeBytes, mode, mtimeMs, linkTarget] = JSON.parse(line) as [
      string, ManifestEntry["type"], string | null, number, number, number, string | null,
    ];
    return { rel, type, digest, sizeBytes, mode, mtimeMs, linkTarget };
  });
}
