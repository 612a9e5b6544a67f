/** The archive formats extraction understands. */
export type ArchiveKind = "zip" | "tar" | "tar.gz";

/** Longest suffix first, so `a.tar.gz` is a gzipped tar and not a gzip of `a.tar`. */
const SUFFIXES: readonly { suffix: string; kind: ArchiveKind }[] = [
  { suffix: ".tar.gz", kind: "tar.gz" },
  { suffix: ".tgz", kind: "tar.gz" },
  { suffix: ".tar", kind: "tar" },
  { suffix: ".zip", kind: "zip" },
];

/**
 * The kind of archive a file name denotes, by its extension (any case), and the name without it:
 * `ext_1.zip` → zip, `ext_1`; `a.TAR.GZ` → tar.gz, `a`; `notes.gz` → null.
 * A name that is only an extension (`.zip`) is null: it has no stem to name a folder after.
 */
export function archiveKindOf(fileName: string): { kind: ArchiveKind; stem: string } | null {
  for (const { suffix, kind } of SUFFIXES) {
    // Compare only the tail: lower-casing the whole name can change its length (`İ` → `i̇`).
    if (fileName.length > suffix.length && fileName.slice(-suffix.length).toLowerCase() === suffix) {
      return { kind, stem: fileName.slice(0, fileName.length - suffix.length) };
    }
  }
  return null;
}
