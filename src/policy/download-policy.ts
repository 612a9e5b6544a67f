import { DownloadStrategy } from "./enums.js";
import { validateDownloadPolicy } from "./validate-sync-policy.js";

/** Wire form of a DownloadPolicy: every field present. */
export interface DownloadPolicyJSON {
  autoDownload: boolean;
  downloadStrategy: DownloadStrategy;
}

/** What `new DownloadPolicy(…)` takes: any subset of the fields; a missing or null one gets its default. */
export type DownloadPolicyInit = { [K in keyof DownloadPolicyJSON]?: DownloadPolicyJSON[K] | null };

/** The seed's defaults. */
const DEFAULTS: DownloadPolicyJSON = {
  // A mounted context is useful only once its files are there.
  autoDownload: true,
  // The only strategy the reference defines.
  downloadStrategy: DownloadStrategy.DOWNLOAD_ASYNC,
};

/** When a context's files are brought into a session's mount. */
export class DownloadPolicy implements DownloadPolicyJSON {
  /** Download when the session starts or the context is bound. Default true. */
  autoDownload: boolean;
  /** How the automatic download runs. Default DOWNLOAD_ASYNC. */
  downloadStrategy: DownloadStrategy;

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: DownloadPolicyInit | null) {
    validateDownloadPolicy(init);
    this.autoDownload = init?.autoDownload ?? DEFAULTS.autoDownload;
    this.downloadStrategy = init?.downloadStrategy ?? DEFAULTS.downloadStrategy;
  }

  /** The wire form, every field present. */
  toJSON(): DownloadPolicyJSON {
    return { autoDownload: this.autoDownload, downloadStrategy: this.downloadStrategy };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): DownloadPolicy {
    return new DownloadPolicy(json as DownloadPolicyInit | null);
  }
}

/** A DownloadPolicy with the seed's defaults (AgentBay's `newDownloadPolicy()`). */
export function newDownloadPolicy(): DownloadPolicy {
  return new DownloadPolicy();
}
