/** Where extraction stops: an archive that would go past any of these is rejected as a whole. */
export interface ExtractLimits {
  /** Most bytes one archive may inflate to, counted as they are inflated (headers are never trusted). */
  maxTotalBytes: number;
  /** Most entries (files, folders, links, skipped devices) one archive may hold. */
  maxEntries: number;
  /** Most inflated bytes per byte of archive, once more than EXPANSION_RATIO_FLOOR_BYTES were inflated. */
  maxExpansionRatio: number;
}

/**
 * Inflated bytes below which the expansion ratio is not checked: a 1 KiB archive holding 1 MiB of zeros
 * (ratio ~1000) is harmless, and small highly compressible files (logs, sparse images) must not be refused.
 */
export const EXPANSION_RATIO_FLOOR_BYTES = 1 << 20;

/** The limits a download applies when the caller names none. */
export function defaultExtractLimits(): ExtractLimits {
  return {
    // Far above what contexts carry (browser extensions, fingerprints, tool bundles: megabytes), well below
    // what fills a sandbox disk. A single deflate layer expands at most ~1032:1, so a 10 MB bomb stops here.
    maxTotalBytes: 10 * 1024 ** 3,
    // A large node_modules tree has ~50,000 entries. Also bounds the names kept in memory to detect collisions.
    maxEntries: 100_000,
    // Deflate cannot exceed ~1032:1, so only data that is almost all zeros, or zip entries that share one
    // compressed body (the "non-recursive zip bomb": 42 kB → 5.5 GB), go past 1000; ordinary text is ~10:1.
    maxExpansionRatio: 1000,
  };
}
