import path from "node:path";
import { compileWhiteList, joinKey, relativeKey, type SyncPolicy } from "../policy/index.js";
import type { PathFilter } from "./scan-tree.js";

/** One synced path of a session, as the engine needs it. */
export interface MountSpec {
  contextId: string;
  /** Normalised session path the files appear at (`/home/user/work`). */
  path: string;
  /** Key prefix read and written: mappingPolicy.path when set, else `path`. */
  namespace: string;
  /** Fully defaulted policy. */
  policy: SyncPolicy;
}

/** A mount resolved against a session's root directory. */
export class MountLayout {
  /** Local directory holding the mount: root + path (`/r` + `/home/u` → `/r/home/u`). */
  readonly dir: string;
  readonly filter: PathFilter;

  constructor(
    root: string,
    readonly spec: MountSpec,
  ) {
    this.dir = path.join(root, spec.path);
    this.filter = compileWhiteList(spec.policy.bwList);
  }

  /** Context key of a mount-relative path (`a/b.txt` → `/ns/a/b.txt`). */
  keyOf(rel: string): string {
    return joinKey(this.spec.namespace, rel);
  }

  /** Mount-relative path of a key, or null when the key lies outside the namespace or the white list. */
  relOf(key: string): string | null {
    const rel = relativeKey(this.spec.namespace, key);
    if (rel === null || rel === "" || !this.filter.matches(rel)) return null;
    return rel;
  }

  /** Absolute local path of a mount-relative path. */
  localPath(rel: string): string {
    return path.join(this.dir, rel);
  }
}
