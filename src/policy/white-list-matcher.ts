import type { BWListInit } from "./bw-list.js";
import { isUnderRelative, normalizeRelativePolicyPath } from "./normalize-path.js";
import { validateBWList } from "./validate-sync-policy.js";

/** Answers which paths of a mount a BWList lets take part in a sync. */
export interface WhiteListMatcher {
  /**
   * True when the file at `relPath` (relative to the mount, POSIX, no leading `/`) lies under at least one
   * white-list path and under none of that entry's excludes.
   */
  matches(relPath: string): boolean;
  /**
   * True when directory `relDir` (relative to the mount, `""` = the mount itself) may hold a matching file:
   * it leads towards a white-list path, or lies under one without being excluded. A scanner skips the rest.
   */
  mayContain(relDir: string): boolean;
}

interface CompiledEntry {
  /** Clean path relative to the mount; "" = whole mount. */
  path: string;
  /** Clean excludes, already joined onto `path`, so relative to the mount too. */
  excludes: string[];
}

/**
 * Compiles a white list (a BWList, a plain object, or null/undefined for the whole mount) into a matcher.
 * An empty `whiteLists` means the whole mount. "Under" is by whole segments: `src` covers `src` and
 * `src/a.ts`, not `srcx/a`. Throws InvalidParameterError for an invalid list (wildcards, `..`, bad types).
 */
export function compileWhiteList(bwList: BWListInit | null | undefined): WhiteListMatcher {
  validateBWList(bwList);
  const entries: CompiledEntry[] = (bwList?.whiteLists ?? []).map((w) => {
    const path = normalizeRelativePolicyPath(w.path ?? "", "WhiteList.path");
    const excludes = (w.excludePaths ?? []).map((x) =>
      joinRelative(path, normalizeRelativePolicyPath(x, "WhiteList.excludePaths entry")),
    );
    return { path, excludes };
  });
  if (entries.length === 0) return { matches: () => true, mayContain: () => true };
  return {
    matches(relPath) {
      return entries.some(
        (e) => isUnderRelative(relPath, e.path) && !e.excludes.some((x) => isUnderRelative(relPath, x)),
      );
    },
    mayContain(relDir) {
      return entries.some(
        (e) =>
          isUnderRelative(e.path, relDir) ||
          (isUnderRelative(relDir, e.path) && !e.excludes.some((x) => isUnderRelative(relDir, x))),
      );
    },
  };
}

/** `joinRelative("src", "lib")` → `src/lib`; `""` on either side is the identity. */
function joinRelative(base: string, rel: string): string {
  if (base === "") return rel;
  if (rel === "") return base;
  return `${base}/${rel}`;
}
