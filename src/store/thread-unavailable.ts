/**
 * No worker thread could be started here (code generation from strings disallowed, say): the caller
 * does the thread's work on its own thread instead. Internal, never shown to users, so no error code.
 */
export class ThreadUnavailableError extends Error {
  /** `what`: the thread, as its owner names it ("blob writer", "download"). */
  constructor(what: string, cause: unknown) {
    super(`No ${what} thread could be started: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ThreadUnavailableError";
  }
}
