import { UploadMode, UploadStrategy } from "./enums.js";
import { validateUploadPolicy } from "./validate-sync-policy.js";

/** Wire form of an UploadPolicy: every field present. */
export interface UploadPolicyJSON {
  autoUpload: boolean;
  uploadStrategy: UploadStrategy;
  uploadMode: UploadMode;
}

/** What `new UploadPolicy(…)` takes: any subset of the fields; a missing or null one gets its default. */
export type UploadPolicyInit = { [K in keyof UploadPolicyJSON]?: UploadPolicyJSON[K] | null };

/** The seed's defaults. */
const DEFAULTS: UploadPolicyJSON = {
  // The session's work is kept without the caller asking: releasing the session uploads first.
  autoUpload: true,
  // The only strategy the reference defines.
  uploadStrategy: UploadStrategy.UPLOAD_BEFORE_RESOURCE_RELEASE,
  // One object per file, so unchanged files are not re-sent.
  uploadMode: UploadMode.FILE,
};

/** When and how a mount's local changes go back to its context. */
export class UploadPolicy implements UploadPolicyJSON {
  /** Upload automatically before the session is released (and allow `sync()` uploads). Default true. */
  autoUpload: boolean;
  /** When the automatic upload happens. Default UPLOAD_BEFORE_RESOURCE_RELEASE. */
  uploadStrategy: UploadStrategy;
  /** FILE (one object per file, default) or ARCHIVE (one `.tar.gz` of the mount). */
  uploadMode: UploadMode;

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: UploadPolicyInit | null) {
    validateUploadPolicy(init);
    this.autoUpload = init?.autoUpload ?? DEFAULTS.autoUpload;
    this.uploadStrategy = init?.uploadStrategy ?? DEFAULTS.uploadStrategy;
    this.uploadMode = init?.uploadMode ?? DEFAULTS.uploadMode;
  }

  /** The wire form, every field present. */
  toJSON(): UploadPolicyJSON {
    return { autoUpload: this.autoUpload, uploadStrategy: this.uploadStrategy, uploadMode: this.uploadMode };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): UploadPolicy {
    return new UploadPolicy(json as UploadPolicyInit | null);
  }
}

/** An UploadPolicy with the seed's defaults (AgentBay's `newUploadPolicy()`). */
export function newUploadPolicy(): UploadPolicy {
  return new UploadPolicy();
}
