import type { ContextSync } from "./context-sync.js";
import { normalizeSessionPath } from "./normalize-path.js";

/**
 * The key prefix a mount reads and writes (SPEC §1): the canonical mapping path when the policy sets a
 * non-empty one, else the canonical mount path.
 * `{path: "/home/user/Downloads", mappingPolicy: {path: "C:\\Users\\A\\Downloads"}}` → `/c:/Users/A/Downloads`.
 * Throws InvalidKeyError if the path is not absolute (a ContextSync has been checked already).
 */
export function mountNamespace(mount: Pick<ContextSync, "path" | "policy">): string {
  const mapped = mount.policy?.mappingPolicy?.path;
  return normalizeSessionPath(mapped ? mapped : mount.path);
}
