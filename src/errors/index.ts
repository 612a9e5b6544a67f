/**
 * Error types shared by every layer. This module imports nothing, so policy, store, engine, service and
 * the SDK can all throw and recognise the same errors.
 *
 * Each failure kind has one class with a stable `code` (what programs match on) and a message that says
 * what was wrong and how to fix it (what people read). The offending value is kept as a field.
 */

export type ErrorCode =
  | "InvalidParameter"
  | "InvalidKey"
  | "PathAlreadyBound"
  | "ContextNotFound"
  | "ContextNameConflict"
  | "SessionNotFound"
  | "SessionNotActive"
  | "BlobNotFound"
  | "BlobDigestMismatch"
  | "ArchiveDamaged"
  | "CommitConflict"
  | "StoreUnavailable"
  | "ExtractRejected"
  | "GenerationNotFound"
  | "FileNotFound"
  | "Unauthorized"
  | "Forbidden"
  | "PayloadTooLarge"
  | "TaskNotFound"
  | "ApiKeyNotFound"
  | "NotSupported"
  | "ServerStopping"
  | "TaskFailed"
  | "SyncTimeout"
  | "AgentReplaced"
  | "MountMissing";

export class CtxSyncError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a documented rule: a bad policy field, a wrong type, a relative mount path. */
export class InvalidParameterError extends CtxSyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("InvalidParameter", message, options);
  }
}

/** A context key or session path that is not a clean absolute path (`..`, `.`, empty segments, NUL). */
export class InvalidKeyError extends CtxSyncError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(
      "InvalidKey",
      // A path of kilobytes would drown the message; its start says which one it was.
      `Invalid path ${JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)}: ${reason}. Use an absolute path such as /home/user/data/a.txt without "..", "." or empty segments.`,
    );
  }
}

/** A session already has a mount at this path. */
export class PathAlreadyBoundError extends CtxSyncError {
  constructor(readonly path: string) {
    super(
      "PathAlreadyBound",
      `Path ${path} is already bound in this session; each path can be mounted once per session. Pick another path or unbind the first one.`,
    );
  }
}

export class ContextNotFoundError extends CtxSyncError {
  constructor(readonly contextIdOrName: string) {
    super(
      "ContextNotFound",
      `Context ${JSON.stringify(contextIdOrName)} not found. Create it (context.create(name), or \`ctxsync context create NAME\`) or check the id.`,
    );
  }
}

export class ContextNameConflictError extends CtxSyncError {
  constructor(readonly contextName: string) {
    super(
      "ContextNameConflict",
      `A context named ${JSON.stringify(contextName)} already exists; context names are unique. Choose another name.`,
    );
  }
}

export class SessionNotFoundError extends CtxSyncError {
  constructor(readonly sessionId: string) {
    super("SessionNotFound", `Session ${JSON.stringify(sessionId)} not found. It may have been released already.`);
  }
}

/** An operation that needs a running session was asked of a released one. */
export class SessionNotActiveError extends CtxSyncError {
  constructor(
    readonly sessionId: string,
    readonly status: string,
  ) {
    super(
      "SessionNotActive",
      `Session ${sessionId} is ${status}; sync and bind need a running session. Create a new session.`,
    );
  }
}

/**
 * The agent making a request is no longer its session's agent: another one attached since (with the same
 * session token), and only the newest works on the session. The older one stops.
 */
export class AgentReplacedError extends CtxSyncError {
  constructor(readonly sessionId: string) {
    super(
      "AgentReplaced",
      `Another agent attached to session ${sessionId} after this one, and only the newest works on a session; this agent stops. Run one agent per session.`,
    );
  }
}

/**
 * A store (PostgreSQL, an S3 bucket) that cannot be reached or used. The message names the store without
 * its credentials and says what to check; the driver's error is the `cause`. Retrying may succeed.
 */
export class StoreUnavailableError extends CtxSyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("StoreUnavailable", message, options);
  }
}

export class BlobNotFoundError extends CtxSyncError {
  constructor(readonly digest: string) {
    super(
      "BlobNotFound",
      `Blob ${digest} is missing from the blob store. The store is damaged or was pruned; restore it from backup.`,
    );
  }
}

/** Bytes did not hash to the digest they were stored or fetched under. Nothing was committed. */
export class BlobDigestMismatchError extends CtxSyncError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    where: string,
  ) {
    super(
      "BlobDigestMismatch",
      `Content hash mismatch ${where}: expected sha256 ${expected}, got ${actual}. The file changed while it was being read, or the store is corrupt; retry the sync.`,
    );
  }
}

/**
 * A context's stored archive (ARCHIVE mode) could not be read to its end: its compressed bytes are
 * damaged or cut short. Files read from it before the damage were each verified.
 */
export class ArchiveDamagedError extends CtxSyncError {
  constructor(
    readonly digest: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      "ArchiveDamaged",
      `The context's archive (blob ${digest}) is damaged: ${reason}. The store is corrupt; upload the files again from a session that has them, or restore an earlier generation.`,
      options,
    );
  }
}

/** Another writer committed to the context first too many times in a row. */
export class CommitConflictError extends CtxSyncError {
  constructor(
    readonly contextId: string,
    attempts: number,
  ) {
    super(
      "CommitConflict",
      `Could not commit to context ${contextId} after ${attempts} attempts because other sessions kept committing; retry the sync.`,
    );
  }
}

/**
 * An archive was not unpacked: an entry would land outside the target (absolute path, "..", a link out), two
 * entries collide, the archive is damaged, or it broke an extract limit (archive bomb). Nothing from it was
 * written; the archive itself is left in place. `entry` names the offending entry when there is one.
 */
export class ExtractRejectedError extends CtxSyncError {
  constructor(
    readonly archive: string,
    readonly reason: string,
    readonly entry: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(
      "ExtractRejected",
      `Did not extract ${archive}: ${entry === null ? "" : `entry ${JSON.stringify(entry)} `}${reason}. Nothing was extracted and the archive was left as it is.`,
      options,
    );
  }
}

/**
 * A restore named a generation the context does not have: it never existed, or garbage collection pruned
 * it after the retention period. `ctxsync log` lists the generations that can still be restored.
 */
export class GenerationNotFoundError extends CtxSyncError {
  constructor(
    readonly contextId: string,
    readonly generation: number,
  ) {
    super(
      "GenerationNotFound",
      `Generation ${generation} of context ${contextId} does not exist or was pruned after the retention period. List the generations that can be restored with context.log(contextId) or \`ctxsync log\`.`,
    );
  }
}

/** A file the request named is not in the context (never written, deleted, or expired). */
export class FileNotFoundError extends CtxSyncError {
  constructor(
    readonly contextId: string,
    readonly key: string,
  ) {
    super(
      "FileNotFound",
      `File ${JSON.stringify(key)} not found in context ${contextId}. It was deleted, expired or never written; list the folder with listFiles to see what is there.`,
    );
  }
}

/**
 * A request without valid credentials: no Authorization header, or a key or session token that is unknown,
 * revoked, or of the wrong kind for the route. The message never repeats what was sent.
 */
export class UnauthorizedError extends CtxSyncError {
  constructor(message = "Missing or invalid credentials. Send `Authorization: Bearer <api key>` (or the session token on /v1/agent routes).") {
    super("Unauthorized", message);
  }
}

/** Valid credentials that do not allow this: a non-admin key on an admin route, a bad or expired signed URL. */
export class ForbiddenError extends CtxSyncError {
  constructor(message: string) {
    super("Forbidden", message);
  }
}

/** A request body larger than the server accepts; nothing was stored. */
export class PayloadTooLargeError extends CtxSyncError {
  constructor(
    readonly limitBytes: number,
    what = "The request body",
  ) {
    super("PayloadTooLarge", `${what} is larger than the limit of ${limitBytes} bytes; nothing was stored.`);
  }
}

/** A task id that is not one of this session's tasks. */
export class TaskNotFoundError extends CtxSyncError {
  constructor(readonly taskId: string) {
    super("TaskNotFound", `Task ${JSON.stringify(taskId)} is not a task of this session.`);
  }
}

/** An API key id that does not exist. */
export class ApiKeyNotFoundError extends CtxSyncError {
  constructor(readonly keyId: string) {
    super("ApiKeyNotFound", `API key ${JSON.stringify(keyId)} not found. List the keys with \`ctxsync keys list\`.`);
  }
}

/**
 * An operation this kind of client cannot do: signed file URLs without a server, garbage collection
 * through a server. The message says which client can.
 */
export class NotSupportedError extends CtxSyncError {
  constructor(message: string) {
    super("NotSupported", message);
  }
}

/**
 * A wait the server ended because it is stopping (a release waiting for its agent's uploads). The work
 * itself goes on: the agent's tasks stay queued and a restarted server finishes them.
 */
export class ServerStoppingError extends CtxSyncError {
  constructor(what: string) {
    super("ServerStopping", `The server is stopping, so it stopped waiting for ${what}; the work goes on and finishes once the server is back. Retry, or read its status, after the restart.`);
  }
}

/**
 * Sync, bind or release tasks that ended Failed: `detail` says which and why (`/data: 1 file failed: …`).
 * An SDK result, never an HTTP answer: the tasks' own status carries the same message.
 */
export class TaskFailedError extends CtxSyncError {
  constructor(detail: string) {
    super("TaskFailed", detail);
  }
}

/**
 * A remote client stopped polling tasks that were not terminal yet (the reference's wording); the tasks go
 * on, and info() shows how they end. An SDK result, never an HTTP answer.
 */
export class SyncTimeoutError extends CtxSyncError {
  constructor(readonly attempts: number) {
    super("SyncTimeout", `Context sync polling timed out after ${attempts} attempts`);
  }
}

/**
 * An upload found no directory at a mount the session had files in: the agent runs on another root than
 * the one it downloaded into, or a volume is not mounted. Taking that for "every file was deleted" would
 * empty the context, so nothing was uploaded. An empty directory is different: its deletions do upload.
 */
export class MountMissingError extends CtxSyncError {
  constructor(
    readonly dir: string,
    readonly filesHad: number,
  ) {
    super(
      "MountMissing",
      `Nothing uploaded: ${dir} is not a directory here, but this session had ${filesHad} file${filesHad === 1 ? "" : "s"} in it. ` +
        "If the agent runs on the wrong root, restart it with the right --root; to empty the context from this session, create the directory empty and sync again.",
    );
  }
}

/** Returns the stable code of an error from any layer, or undefined for foreign errors. */
export function errorCode(err: unknown): ErrorCode | undefined {
  return err instanceof CtxSyncError ? err.code : undefined;
}

/** One line describing any thrown value, for task error messages and results. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Any thrown value as an Error (a thrown string or object becomes the message of one). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
