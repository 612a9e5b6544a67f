import type { RecyclePolicyInit } from "./recycle-policy.js";
import { isUnderRelative, normalizeRelativePolicyPath } from "./normalize-path.js";
import { validateRecyclePolicy } from "./validate-sync-policy.js";

/**
 * Compiles `recyclePolicy.paths` into a test of whether the file at `relPath` (relative to the mount, POSIX,
 * no leading `/`) is subject to the policy's lifecycle. `""` covers every file; `[]` covers none; a missing
 * policy or paths list means the default `[""]`. Throws InvalidParameterError for an invalid policy.
 */
export function compileRecyclePaths(policy: RecyclePolicyInit | null | undefined): (relPath: string) => boolean {
  validateRecyclePolicy(policy);
  const prefixes = (policy?.paths ?? [""]).map((p) => normalizeRelativePolicyPath(p, "RecyclePolicy.paths entry"));
  return (relPath) => prefixes.some((prefix) => isUnderRelative(relPath, prefix));
}
