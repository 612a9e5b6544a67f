import { validateMappingPolicy } from "./validate-sync-policy.js";

/** Wire form of a MappingPolicy. */
export interface MappingPolicyJSON {
  path: string;
}

/** What `new MappingPolicy(…)` takes; a missing or null `path` means `""`. */
export interface MappingPolicyInit {
  path?: string | null;
}

/**
 * Cross-platform mapping: the mount reads and writes the context under `path` (where the data was first
 * stored, e.g. `c:\Users\Administrator\Downloads`) while the files appear at the mount's own path.
 */
export class MappingPolicy implements MappingPolicyJSON {
  /** Absolute original path, POSIX or Windows; `""` = no mapping. Default `""`. */
  path: string;

  /** Fills a missing path with `""`. Throws InvalidParameterError on a bad path or key. */
  constructor(init?: MappingPolicyInit | null) {
    validateMappingPolicy(init);
    this.path = init?.path ?? "";
  }

  /** A MappingPolicy with the seed's defaults (the seed's `MappingPolicy.default()`). */
  static default(): MappingPolicy {
    return new MappingPolicy();
  }

  /** The wire form. */
  toJSON(): MappingPolicyJSON {
    return { path: this.path };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): MappingPolicy {
    return new MappingPolicy(json as MappingPolicyInit | null);
  }
}

/** A MappingPolicy with the seed's defaults (AgentBay's `newMappingPolicy()`). */
export function newMappingPolicy(): MappingPolicy {
  return new MappingPolicy();
}
