import { validateBWList } from "./validate-sync-policy.js";
import { WhiteList, type WhiteListInit, type WhiteListJSON } from "./white-list.js";

/** Wire form of a BWList. */
export interface BWListJSON {
  whiteLists: WhiteListJSON[];
}

/** What `new BWList(…)` takes; a missing or null `whiteLists` means `[]`. */
export interface BWListInit {
  whiteLists?: readonly WhiteListInit[] | null;
}

/**
 * Which files of a mount take part in a sync: those under at least one white list and none of its excludes.
 * An empty `whiteLists` means the whole mount. (The reference defines no black list despite the name.)
 */
export class BWList implements BWListJSON {
  /** The included subtrees. Default `[]` (whole mount). */
  whiteLists: WhiteList[];

  /** Copies the given white lists. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: BWListInit | null) {
    validateBWList(init);
    this.whiteLists = (init?.whiteLists ?? []).map((w) => new WhiteList(w));
  }

  /** The wire form. */
  toJSON(): BWListJSON {
    return { whiteLists: this.whiteLists.map((w) => w.toJSON()) };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): BWList {
    return new BWList(json as BWListInit | null);
  }
}

/** A BWList with the seed's default, no white lists (= whole mount) (AgentBay's `newBWList()`). */
export function newBWList(): BWList {
  return new BWList();
}
