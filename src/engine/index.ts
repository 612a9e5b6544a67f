/**
 * engine — moves files between a session's directory and a context, by policy.
 *
 * Upload: scan the mount (white list, lstat, links kept as links) → quick-check against the session's base
 * (size, mtime, mode) → hash and store only what changed → plan a three-way merge of base, local and the
 * context's head → commit one generation, re-planning if another session committed first.
 * Download: list the namespace → skip files identical on disk → fetch to temp names → restore mode and
 * mtime → rename into place → record the base.
 * Restore: plan the puts and deletes that bring a prefix back to an earlier generation → commit them as one
 * new generation. GC: delete expired versions → prune history past retention → mark and sweep blobs, with
 * a grace period for uploads in flight (gc.ts explains why the order is safe).
 * The engine talks to the store only through its interfaces.
 */
export { type Clock, systemClock } from "./clock.js";
export { downloadMount, type DownloadDeps, type DownloadResult } from "./download-mount.js";
export {
  collectGarbage,
  gcOptionsWithDefaults,
  type GcDeps,
  type GcOptions,
  type GcStats,
} from "./gc.js";
export { checkScope, MountLayout, mountSpecFor, syncPathOf, type MountSpec } from "./mount-spec.js";
export { planUpload, sameVersion, type UploadPlan, type UploadPlanInput } from "./plan-upload.js";
export { planRestore } from "./plan-restore.js";
export { type Problem, summarizeProblems } from "./problem.js";
export { type Progress, type ProgressFn } from "./progress.js";
export { commitAtHead, MAX_COMMIT_ATTEMPTS, type HeadCommit } from "./commit-at-head.js";
export { restoreGeneration, type RestoreDeps } from "./restore-generation.js";
export { scanTree, type LocalEntry, type PathFilter } from "./scan-tree.js";
export { uploadMount, type UploadDeps, type UploadResult } from "./upload-mount.js";
