import { validateWhiteList } from "./validate-sync-policy.js";

/** Wire form of a WhiteList: every field present. */
export interface WhiteListJSON {
  path: string;
  excludePaths: string[];
}

/** What `new WhiteList(…)` takes: any subset of the fields; a missing or null one gets its default. */
export interface WhiteListInit {
  path?: string | null;
  excludePaths?: readonly string[] | null;
}

/** One included subtree of a mount, minus some of its parts. */
export class WhiteList implements WhiteListJSON {
  /** Path relative to the mount (a leading `/` means the same); `""` = the whole mount. No wildcards. */
  path: string;
  /** Paths relative to `path` left out of the sync. No wildcards. Default `[]`. */
  excludePaths: string[];

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: WhiteListInit | null) {
    validateWhiteList(init);
    this.path = init?.path ?? "";
    this.excludePaths = [...(init?.excludePaths ?? [])];
  }

  /** The wire form, every field present. */
  toJSON(): WhiteListJSON {
    return { path: this.path, excludePaths: [...this.excludePaths] };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): WhiteList {
    return new WhiteList(json as WhiteListInit | null);
  }
}

/** A WhiteList with the seed's defaults, `{path: "", excludePaths: []}` (AgentBay's `newWhiteList()`). */
export function newWhiteList(): WhiteList {
  return new WhiteList();
}
