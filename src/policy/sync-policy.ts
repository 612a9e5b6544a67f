import { parseJsonInput } from "./parse-json-input.js";
import { BWList, type BWListInit, type BWListJSON } from "./bw-list.js";
import { DeletePolicy, type DeletePolicyInit, type DeletePolicyJSON } from "./delete-policy.js";
import { DownloadPolicy, type DownloadPolicyInit, type DownloadPolicyJSON } from "./download-policy.js";
import { ExtractPolicy, type ExtractPolicyInit, type ExtractPolicyJSON } from "./extract-policy.js";
import { MappingPolicy, type MappingPolicyInit, type MappingPolicyJSON } from "./mapping-policy.js";
import { RecyclePolicy, type RecyclePolicyInit, type RecyclePolicyJSON } from "./recycle-policy.js";
import { UploadPolicy, type UploadPolicyInit, type UploadPolicyJSON } from "./upload-policy.js";
import { validateSyncPolicy } from "./validate-sync-policy.js";

/** Wire form of a SyncPolicy: the six sub-policies always, `mappingPolicy` only when set. */
export interface SyncPolicyJSON {
  uploadPolicy: UploadPolicyJSON;
  downloadPolicy: DownloadPolicyJSON;
  deletePolicy: DeletePolicyJSON;
  extractPolicy: ExtractPolicyJSON;
  recyclePolicy: RecyclePolicyJSON;
  bwList: BWListJSON;
  mappingPolicy?: MappingPolicyJSON;
}

/**
 * A policy as callers may write it: any subset of the sub-policies, each itself partial, as class instances or
 * plain object literals; a missing or null one means its defaults.
 */
export interface SyncPolicyInit {
  uploadPolicy?: UploadPolicyInit | null;
  downloadPolicy?: DownloadPolicyInit | null;
  deletePolicy?: DeletePolicyInit | null;
  extractPolicy?: ExtractPolicyInit | null;
  recyclePolicy?: RecyclePolicyInit | null;
  bwList?: BWListInit | null;
  mappingPolicy?: MappingPolicyInit | null;
}

/** Anything accepted where a policy is expected: a SyncPolicy or a (partial) plain object. */
export type SyncPolicyInput = SyncPolicy | SyncPolicyInit;

/** The white list a policy gets when it names none: the whole mount (the reference's default). */
function defaultBWList(): BWList {
  return new BWList({ whiteLists: [{ path: "", excludePaths: [] }] });
}

/** How one mount syncs: upload, download, delete, extract, recycle, white list and path mapping. */
export class SyncPolicy {
  /** When and how local changes are uploaded. */
  uploadPolicy: UploadPolicy;
  /** When the context is downloaded into the mount. */
  downloadPolicy: DownloadPolicy;
  /** Whether local deletions reach the context. */
  deletePolicy: DeletePolicy;
  /** What a download does with archive files. */
  extractPolicy: ExtractPolicy;
  /** How long uploaded files live. */
  recyclePolicy: RecyclePolicy;
  /** Which files take part. Default: one white list `""` (the whole mount). */
  bwList: BWList;
  /** Where in the context the mount's files live, when not at the mount path. Undefined unless given. */
  mappingPolicy?: MappingPolicy;

  /**
   * Copies `init`, filling every missing or null sub-policy with its defaults (mappingPolicy stays undefined
   * unless given). Throws InvalidParameterError, before building anything, when `init` is invalid.
   */
  constructor(init?: SyncPolicyInit | null) {
    validateSyncPolicy(init);
    this.uploadPolicy = new UploadPolicy(init?.uploadPolicy);
    this.downloadPolicy = new DownloadPolicy(init?.downloadPolicy);
    this.deletePolicy = new DeletePolicy(init?.deletePolicy);
    this.extractPolicy = new ExtractPolicy(init?.extractPolicy);
    this.recyclePolicy = new RecyclePolicy(init?.recyclePolicy);
    this.bwList = init?.bwList == null ? defaultBWList() : new BWList(init.bwList);
    // The reference's SyncPolicyImpl drops mappingPolicy here; ctxsync keeps it.
    if (init?.mappingPolicy != null) this.mappingPolicy = new MappingPolicy(init.mappingPolicy);
  }

  /** The wire form, in the reference's key order; `mappingPolicy` only when set. */
  toJSON(): SyncPolicyJSON {
    const json: SyncPolicyJSON = {
      uploadPolicy: this.uploadPolicy.toJSON(),
      downloadPolicy: this.downloadPolicy.toJSON(),
      deletePolicy: this.deletePolicy.toJSON(),
      extractPolicy: this.extractPolicy.toJSON(),
      recyclePolicy: this.recyclePolicy.toJSON(),
      bwList: this.bwList.toJSON(),
    };
    if (this.mappingPolicy !== undefined) json.mappingPolicy = this.mappingPolicy.toJSON();
    return json;
  }

  /**
   * Parses a policy from the wire: a JSON string (the reference embeds policies as strings) or an already
   * parsed value; partial objects and null sub-policies get defaults, `null` gets all defaults.
   * Throws InvalidParameterError for malformed JSON or an invalid policy.
   */
  static fromJSON(json: unknown): SyncPolicy {
    const value = parseJsonInput(json, "SyncPolicy", '{"uploadPolicy":{"autoUpload":true}}');
    return new SyncPolicy(value as SyncPolicyInit | null);
  }
}

/** A SyncPolicy with every sub-policy at its defaults (AgentBay's `newSyncPolicy()`). */
export function newSyncPolicy(): SyncPolicy {
  return new SyncPolicy();
}

/** A SyncPolicy from a partial one, defaults filled in (AgentBay's `newSyncPolicyWithDefaults()`). */
export function newSyncPolicyWithDefaults(partial?: SyncPolicyInit | null): SyncPolicy {
  return new SyncPolicy(partial);
}

/**
 * The fully defaulted SyncPolicy for whatever a caller passed as a policy: a SyncPolicy (copied, so later
 * changes to the caller's object do not leak in), a plain partial object, or nothing (all defaults).
 * Throws InvalidParameterError when the input is invalid.
 */
export function resolveSyncPolicy(input: SyncPolicyInput | undefined | null): SyncPolicy {
  return new SyncPolicy(input);
}
