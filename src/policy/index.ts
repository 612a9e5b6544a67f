/**
 * policy — the seed's context-sync API in TypeScript: the enums, the policy classes with their defaults, the
 * wire JSON, validation, and the path rules every other layer relies on.
 *
 * - Enums are `const` objects with the seed's member names and AgentBay's TypeScript aliases
 *   (`UploadMode.FILE === UploadMode.File === "File"`).
 * - Each policy class takes a partial object, fills the seed's defaults, validates, and has `toJSON()` /
 *   `static fromJSON()`. Plain object literals are accepted wherever a policy is (resolveSyncPolicy).
 * - Validation throws InvalidParameterError with the reference's messages, before any I/O; the server runs the
 *   same validators on what arrives over the wire.
 * - Paths: session paths and context keys are canonical POSIX-absolute strings (`C:\A\f` → `/c:/A/f`);
 *   white-list, exclude and recycle paths are relative to the mount. The white-list matcher decides which
 *   files take part in a sync and which directories a scan may skip.
 *
 * This layer imports nothing but `errors`, so every other layer may import it.
 */
export {
  UploadStrategy,
  DownloadStrategy,
  UploadMode,
  UPLOAD_STRATEGIES,
  DOWNLOAD_STRATEGIES,
  UPLOAD_MODES,
  isUploadMode,
  isUploadStrategy,
  isDownloadStrategy,
} from "./enums.js";
export { Lifecycle, LIFECYCLES, isLifecycle, lifecycleDurationMs } from "./lifecycle.js";
export { UploadPolicy, newUploadPolicy, type UploadPolicyInit, type UploadPolicyJSON } from "./upload-policy.js";
export {
  DownloadPolicy,
  newDownloadPolicy,
  type DownloadPolicyInit,
  type DownloadPolicyJSON,
} from "./download-policy.js";
export { DeletePolicy, newDeletePolicy, type DeletePolicyInit, type DeletePolicyJSON } from "./delete-policy.js";
export { ExtractPolicy, newExtractPolicy, type ExtractPolicyInit, type ExtractPolicyJSON } from "./extract-policy.js";
export { RecyclePolicy, newRecyclePolicy, type RecyclePolicyInit, type RecyclePolicyJSON } from "./recycle-policy.js";
export { WhiteList, newWhiteList, type WhiteListInit, type WhiteListJSON } from "./white-list.js";
export { BWList, newBWList, type BWListInit, type BWListJSON } from "./bw-list.js";
export { MappingPolicy, newMappingPolicy, type MappingPolicyInit, type MappingPolicyJSON } from "./mapping-policy.js";
export {
  SyncPolicy,
  newSyncPolicy,
  newSyncPolicyWithDefaults,
  resolveSyncPolicy,
  type SyncPolicyInit,
  type SyncPolicyInput,
  type SyncPolicyJSON,
} from "./sync-policy.js";
export { ContextSync, newContextSync, type ContextSyncJSON } from "./context-sync.js";
export { mountNamespace } from "./mount-namespace.js";
export {
  SYNC_POLICY_KEYS,
  validateSyncPolicy,
  validateUploadPolicy,
  validateDownloadPolicy,
  validateDeletePolicy,
  validateExtractPolicy,
  validateRecyclePolicy,
  validateWhiteList,
  validateBWList,
  validateMappingPolicy,
} from "./validate-sync-policy.js";
export {
  normalizeSessionPath,
  checkSessionPath,
  isPlainCanonicalPath,
  isUnder,
  joinKey,
  relativeKey,
  isUnderRelative,
  normalizeRelativePolicyPath,
  type SessionPathCheck,
} from "./normalize-path.js";
export { compileWhiteList, type WhiteListMatcher } from "./white-list-matcher.js";
export { MAX_KEY_LENGTH, MAX_LABEL_KEY_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_MOUNTS } from "./limits.js";
export { compileRecyclePaths } from "./recycle-path-matcher.js";
