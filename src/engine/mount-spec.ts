import path from "node:path";
import { InvalidParameterError } from "../errors/index.js";
import { compileRecyclePaths, compileWhiteList, isUnderRelative, joinKey, lifecycleDurationMs, relativeKey, UploadMode, type SyncPolicy } from "../policy/index.js";
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
  /**
   * Only this part of the mount (a mount-relative directory, `sub/dir`) takes part: a sync of a path inside
   * a mount. The mount's policy, namespace and base still apply, so its white list and mapping hold and
   * the base tells its other writers' changes from this session's. Absent or `""`: the whole mount.
   */
  scope?: string;
}

/** The session path a sync of `spec` covers: the mount path, or the path inside it that `scope` names. */
export function syncPathOf(spec: MountSpec): string {
  return spec.scope ? joinKey(spec.path, spec.scope) : spec.path;
}

/**
 * The mount among `mounts` (of one session) that a sync of `contextId` at session path `path` works on:
 * the mount at exactly that path, else the innermost mount of that context holding it, limited to the
 * subtree (`scope`). Undefined when no mount of the context holds `path`.
 */
export function mountSpecFor(mounts: readonly MountSpec[], contextId: string, path: string): MountSpec | undefined {
  let best: MountSpec | undefined;
  for (const m of mounts) {
    if (m.contextId !== contextId || relativeKey(m.path, path) === null) continue;
    if (!best || m.path.length > best.path.length) best = m;
  }
  if (!best) return undefined;
  const scope = relativeKey(best.path, path)!;
  return scope === "" ? best : { ...best, scope };
}

/**
 * Refuses a sync of part of a mount (`scope`) that cannot do what was asked: in ARCHIVE mode the mount's
 * files travel as one archive, which a part cannot be written into; and a part that the mount's white
 * list leaves out entirely would sync nothing.
 */
export function checkScope(spec: MountSpec): void {
  if (!spec.scope) return;
  const at = syncPathOf(spec);
  if (spec.policy.uploadPolicy.uploadMode === UploadMode.ARCHIVE) {
    throw new InvalidParameterError(`${at} lies inside mount ${spec.path}, which keeps its files as one archive (ARCHIVE mode): sync ${spec.path} itself.`);
  }
  if (!compileWhiteList(spec.policy.bwList).mayContain(spec.scope)) {
    throw new InvalidParameterError(`${at} lies inside mount ${spec.path} but outside its white list, so nothing there is synced: sync a path the white list covers, or ${spec.path} itself.`);
  }
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
    const scope = spec.scope ?? "";
    // A ctxsync archive at any depth is an ARCHIVE-mode mount's (this one's, or one mounted below it):
    // never a file of this mount, to scan, absorb, download or extract.
    this.filter = {
      matches: (rel) => whiteList.matches(rel) && isUnderRelative(rel, scope) && rel !== ARCHIVE_NAME && !rel.endsWith(`/${ARCHIVE_NAME}`),
      mayContain: (relDir) => whiteList.mayContain(relDir) && (isUnderRelative(relDir, scope) || isUnderRelative(scope, relDir)),
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
