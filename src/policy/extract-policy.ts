import { validateExtractPolicy } from "./validate-sync-policy.js";

/** Wire form of an ExtractPolicy: every field present. */
export interface ExtractPolicyJSON {
  extract: boolean;
  deleteSrcFile: boolean;
  extractToCurrentFolder: boolean;
}

/** What `new ExtractPolicy(…)` takes: any subset of the fields; a missing or null one gets its default. */
export type ExtractPolicyInit = { [K in keyof ExtractPolicyJSON]?: ExtractPolicyJSON[K] | null };

/** The seed's defaults. */
const DEFAULTS: ExtractPolicyJSON = {
  // Archives in a context are usually there to be used unpacked (extensions, fingerprints).
  extract: true,
  // The unpacked copy replaces the local archive; the context keeps its copy.
  deleteSrcFile: true,
  // A sibling folder per archive keeps two archives' contents apart.
  extractToCurrentFolder: false,
};

/** What a download does with archive files (`.zip`, `.tar`, `.tar.gz`, `.tgz`) in the mount. */
export class ExtractPolicy implements ExtractPolicyJSON {
  /** Unpack archives after download. Default true. */
  extract: boolean;
  /** Remove the local archive after a successful unpack (never the context's copy). Default true. */
  deleteSrcFile: boolean;
  /** Unpack into the archive's folder rather than a sibling folder named after it (the seed's
   *  `extract_current_folder`). Default false. */
  extractToCurrentFolder: boolean;

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: ExtractPolicyInit | null) {
    validateExtractPolicy(init);
    this.extract = init?.extract ?? DEFAULTS.extract;
    this.deleteSrcFile = init?.deleteSrcFile ?? DEFAULTS.deleteSrcFile;
    this.extractToCurrentFolder = init?.extractToCurrentFolder ?? DEFAULTS.extractToCurrentFolder;
  }

  /** The wire form, every field present. */
  toJSON(): ExtractPolicyJSON {
    return {
      extract: this.extract,
      deleteSrcFile: this.deleteSrcFile,
      extractToCurrentFolder: this.extractToCurrentFolder,
    };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): ExtractPolicy {
    return new ExtractPolicy(json as ExtractPolicyInit | null);
  }
}

/** An ExtractPolicy with the seed's defaults (AgentBay's `newExtractPolicy()`). */
export function newExtractPolicy(): ExtractPolicy {
  return new ExtractPolicy();
}
