/** One entry of a zip or tar, as the format readers hand it to the extractor. */
export interface ArchiveEntry {
  /** The name as the archive spells it, not yet checked (see parseEntryName). */
  name: string;
  /** `other` covers devices, FIFOs and types the extractor does not create. */
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
  /** Permission bits as recorded (may include setuid bits), or null when the archive records none. */
  mode: number | null;
  mtime: Date | null;
  /** A symlink's target (for zip read from the entry's data), or a hard link's path inside the archive. */
  linkname: string | null;
  /**
   * The entry's data, inflated and counted against the limits. Call at most once, and read it to the end
   * before asking for the next entry. Unopened data is skipped (and, for tar, still counted).
   */
  open(): Promise<AsyncIterable<Buffer>>;
}
