import { InvalidParameterError } from "../errors/index.js";
import { parseJsonInput } from "./parse-json-input.js";
import { normalizeSessionPath } from "./normalize-path.js";
import { SyncPolicy, type SyncPolicyInput, type SyncPolicyJSON } from "./sync-policy.js";

/** Wire form of a ContextSync. `betaWaitForCompletion` is client-side only and never sent. */
export interface ContextSyncJSON {
  contextId: string;
  path: string;
  policy?: SyncPolicyJSON;
}

const CONTEXT_SYNC_KEYS = ["contextId", "path", "policy", "betaWaitForCompletion"] as const;

/**
 * One mount of a session: context `contextId` appears at session path `path`, synced per `policy`.
 * Everything is validated when the object is built or given a policy, before any I/O: a bad policy or
 * contextId throws InvalidParameterError, a path that is not absolute (POSIX or Windows) throws InvalidKeyError.
 */
export class ContextSync {
  /** The context to mount. */
  contextId: string;
  /** Where it appears in the session, as given (`/home/user/data`, `C:\Users\A\data`); see normalizeSessionPath. */
  path: string;
  /** The mount's policy, fully defaulted; undefined = the server's defaults (the same as newSyncPolicy()). */
  policy?: SyncPolicy;
  /** Whether session creation waits for this mount's initial download; only `false` opts out. */
  betaWaitForCompletion?: boolean;

  /**
   * Validates and stores the mount. A policy may be a SyncPolicy or a plain (partial) object; it is stored as
   * a fully defaulted SyncPolicy copy.
   */
  constructor(contextId: string, path: string, policy?: SyncPolicyInput | null, betaWaitForCompletion?: boolean) {
    if (typeof contextId !== "string" || contextId.trim() === "") {
      throw new InvalidParameterError(
        `Invalid contextId ${JSON.stringify(contextId) ?? String(contextId)}: expected the non-empty id of a context, such as one returned by context.get(name, true).`,
      );
    }
    normalizeSessionPath(path);
    this.contextId = contextId;
    this.path = path;
    if (policy != null) this.policy = new SyncPolicy(policy);
    if (betaWaitForCompletion !== undefined) this.withBetaWaitForCompletion(betaWaitForCompletion);
  }

  /** `new ContextSync(contextId, path, policy)` under the seed's name (Python's `ContextSync.new`). */
  static new(contextId: string, path: string, policy?: SyncPolicyInput | null): ContextSync {
    return new ContextSync(contextId, path, policy);
  }

  /** Validates `policy` and sets it (as a fully defaulted copy). Throws InvalidParameterError. Chainable. */
  withPolicy(policy: SyncPolicyInput): this {
    this.policy = new SyncPolicy(policy);
    return this;
  }

  /** Sets whether session creation waits for this mount's initial download. Chainable. */
  withBetaWaitForCompletion(betaWaitForCompletion: boolean): this {
    if (typeof betaWaitForCompletion !== "boolean") {
      throw new InvalidParameterError(
        `Invalid type for ContextSync.betaWaitForCompletion: expected a boolean (true or false), got ${typeof betaWaitForCompletion}.`,
      );
    }
    this.betaWaitForCompletion = betaWaitForCompletion;
    return this;
  }

  /** The wire form `{contextId, path, policy?}`. */
  toJSON(): ContextSyncJSON {
    const json: ContextSyncJSON = { contextId: this.contextId, path: this.path };
    if (this.policy !== undefined) json.policy = this.policy.toJSON();
    return json;
  }

  /**
   * Parses a ContextSync from a JSON string or parsed object `{contextId, path, policy?, betaWaitForCompletion?}`;
   * `policy` may itself be a JSON string, as the reference sends it. Throws InvalidParameterError (or
   * InvalidKeyError for the path) when it is invalid.
   */
  static fromJSON(json: unknown): ContextSync {
    const value = parseJsonInput(json, "ContextSync", '{"contextId":"ctx-…","path":"/home/user/data"}');
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new InvalidParameterError(
        `Invalid type for ContextSync: expected an object with contextId and path, got ${value === null ? "null" : typeof value}.`,
      );
    }
    const fields = value as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!(CONTEXT_SYNC_KEYS as readonly string[]).includes(key)) {
        throw new InvalidParameterError(
          `Unknown property in ContextSync: '${key}'. Valid properties are: ${CONTEXT_SYNC_KEYS.join(", ")}`,
        );
      }
    }
    const path = fields["path"];
    if (typeof path !== "string") {
      throw new InvalidParameterError(
        `Invalid type for ContextSync.path: expected an absolute path string such as /home/user/data, got ${path === null ? "null" : typeof path}.`,
      );
    }
    const policy = fields["policy"] == null ? undefined : SyncPolicy.fromJSON(fields["policy"]);
    const wait = fields["betaWaitForCompletion"];
    return new ContextSync(fields["contextId"] as string, path, policy, wait == null ? undefined : (wait as boolean));
  }
}

/** `new ContextSync(contextId, path, policy)` under AgentBay's TypeScript name. */
export function newContextSync(contextId: string, path: string, policy?: SyncPolicyInput | null): ContextSync {
  return new ContextSync(contextId, path, policy);
}
