/**
 * engine — moves files between a session's directory and a context, by policy.
 *
 * Upload: scan the mount (white list, lstat, links kept as links) → quick-check against the session's base
 * (size, mtime, mode) → hash and store only what changed → plan a three-way merge of base, local and the
 * context's head → commit one generation, re-planning if another session committed first.
 * Download: list the namespace → skip files identical on disk → fetch to temp names → restore mode and
 * mtime → rename into place → record the base.
 * The engine talks to the store only through its interfaces.
 */
export { type Clock, systemClock } from "./clock.js";
export { downloadMount, type DownloadDeps, type DownloadResult } from "./download-mount.js";
export { MountLayout, type MountSpec } from "./mount-spec.js";
export { planUpload, sameVersion, type UploadPlan, type UploadPlanInput } from "./plan-upload.js";
export { type Problem, summarizeProblems } from "./problem.js";
export { type Progress, type ProgressFn } from "./progress.js";
export { scanTree, type LocalEntry, type PathFilter } from "./scan-tree.js";
export { uploadMount, type UploadDeps, type UploadResult } from "./upload-mount.js";
