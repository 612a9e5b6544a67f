import { Lifecycle } from "./lifecycle.js";
import { validateRecyclePolicy } from "./validate-sync-policy.js";

/** Wire form of a RecyclePolicy: every field present. */
export interface RecyclePolicyJSON {
  lifecycle: Lifecycle;
  paths: string[];
}

/** What `new RecyclePolicy(…)` takes: any subset of the fields; a missing or null one gets its default. */
export interface RecyclePolicyInit {
  lifecycle?: Lifecycle | null;
  paths?: readonly string[] | null;
}

/** The seed's defaults. */
const DEFAULTS = {
  // Nothing expires unless asked: losing data by default would be worse than keeping too much.
  lifecycle: Lifecycle.LIFECYCLE_FOREVER,
  // "" = every path of the mount.
  paths: [""],
} as const satisfies { lifecycle: Lifecycle; paths: readonly string[] };

/** How long uploaded files live in the context, and which of them (by path relative to the mount). */
export class RecyclePolicy implements RecyclePolicyJSON {
  /** Lifetime of a file after the upload that wrote it. Default LIFECYCLE_FOREVER. */
  lifecycle: Lifecycle;
  /** Paths relative to the mount the lifecycle applies to; `""` = all. No wildcards. Default `[""]`. */
  paths: string[];

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: RecyclePolicyInit | null) {
    validateRecyclePolicy(init);
    this.lifecycle = init?.lifecycle ?? DEFAULTS.lifecycle;
    this.paths = [...(init?.paths ?? DEFAULTS.paths)];
  }

  /** The wire form, every field present. */
  toJSON(): RecyclePolicyJSON {
    return { lifecycle: this.lifecycle, paths: [...this.paths] };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): RecyclePolicy {
    return new RecyclePolicy(json as RecyclePolicyInit | null);
  }
}

/** A RecyclePolicy with the seed's defaults (AgentBay's `newRecyclePolicy()`). */
export function newRecyclePolicy(): RecyclePolicy {
  return new RecyclePolicy();
}
