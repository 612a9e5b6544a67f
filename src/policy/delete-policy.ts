import { validateDeletePolicy } from "./validate-sync-policy.js";

/** Wire form of a DeletePolicy: every field present. */
export interface DeletePolicyJSON {
  syncLocalFile: boolean;
}

/** What `new DeletePolicy(…)` takes: any subset of the fields; a missing or null one gets its default. */
export type DeletePolicyInit = { [K in keyof DeletePolicyJSON]?: DeletePolicyJSON[K] | null };

/** The seed's defaults. */
const DEFAULTS: DeletePolicyJSON = {
  // A file the session deleted stays deleted in the next session.
  syncLocalFile: true,
};

/** Whether deleting a file in the session deletes it from the context on upload. */
export class DeletePolicy implements DeletePolicyJSON {
  /** An upload removes from the context the files this session had and then deleted. Default true. */
  syncLocalFile: boolean;

  /** Fills missing fields with the seed's defaults. Throws InvalidParameterError on a bad field or key. */
  constructor(init?: DeletePolicyInit | null) {
    validateDeletePolicy(init);
    this.syncLocalFile = init?.syncLocalFile ?? DEFAULTS.syncLocalFile;
  }

  /** The wire form, every field present. */
  toJSON(): DeletePolicyJSON {
    return { syncLocalFile: this.syncLocalFile };
  }

  /** Parses a wire object (partial or null allowed). Throws InvalidParameterError when it is invalid. */
  static fromJSON(json: unknown): DeletePolicy {
    return new DeletePolicy(json as DeletePolicyInit | null);
  }
}

/** A DeletePolicy with the seed's defaults (AgentBay's `newDeletePolicy()`). */
export function newDeletePolicy(): DeletePolicy {
  return new DeletePolicy();
}
