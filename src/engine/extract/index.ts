/**
 * engine/extract — unpacks archives a download wrote, by the extract policy (SPEC §3), safely.
 *
 * An archive is streamed into a staging folder beside its target; every entry is checked first (no path
 * out of the target, no link out, no name clash, also after Unicode NFC normalisation) and every inflated
 * byte is counted against limits on size, entries and expansion ratio (archive bombs). Only an archive that
 * passed as a whole is moved into the target; otherwise the staging folder is deleted and nothing remains.
 */
export { type ArchiveKind, archiveKindOf } from "./archive-kind.js";
export { extractArchive } from "./extract-archive.js";
export { extractDownloadedArchives } from "./extract-downloaded.js";
export { defaultExtractLimits, EXPANSION_RATIO_FLOOR_BYTES, type ExtractLimits } from "./extract-limits.js";
export { STAGING_PREFIX } from "./staging-dir.js";
