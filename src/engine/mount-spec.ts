import path from "node:path";
import { compileRecyclePaths, compileWhiteList, joinKey, lifecycleDurationMs, relativeKey, type SyncPolicy } from "../policy/index.js";
import { ARCHIVE_NAME } from "./archive/manifest.js";
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
  private readonly isRecycled: (rel: string) => boolean;
  private readonly lifetimeMs: number | null;

  constructor(
    root: string,
    readonly spec: MountSpec,
  ) {
    this.dir = path.join(root, spec.path);
    const whiteList = compileWhiteList(spec.policy.bwList);
    // A ctxsync archive at any depth is an ARCHIVE-mode mount's (this one's, or one mounted below it):
    // never a file of this mount, to scan, absorb, download or extract.
    this.filter = {
      matches: (rel) => whiteList.matches(rel) && rel !== ARCHIVE_NAME && !rel.endsWith(`/${ARCHIVE_NAME}`),
      mayContain: (relDir) => whiteList.mayContain(relDir),
    };
    this.isRecycled = compileRecyclePaths(spec.policy.recyclePolicy);
    this.lifetimeMs = lifecycleDurationMs(spec.policy.recyclePolicy.lifecycle);
  }

  /** When a file written at `nowMs` to mount-relative `rel` expires under the recycle policy; null = never. */
  expiresAt(rel: string, nowMs: number): number | null {
    return this.lifetimeMs !== null && this.isRecycled(rel) ? nowMs + this.lifetimeMs : null;
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
