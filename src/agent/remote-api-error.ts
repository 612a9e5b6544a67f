import { CtxSyncError, type ErrorCode } from "../errors/index.js";

/**
 * An error the ctxsync server answered with (`{code, message, requestId}`), or a failure to reach it
 * (code `StoreUnavailable`). The code and message are the server's, so an SDK result reads
 * `[Code] message` exactly as the embedded client's does; `requestId` finds the call in the server's log.
 */
export class RemoteApiError extends CtxSyncError {
  constructor(
    code: string,
    message: string,
    /** The server's id of the call; empty when it never reached the server. */
    readonly requestId: string,
    /** HTTP status of the answer; 0 when the server could not be reached. */
    readonly httpStatus: number,
    options?: { cause?: unknown },
  ) {
    // The server speaks codes this build may not know yet (Unauthorized, PayloadTooLarge, …): kept as sent.
    super(code as ErrorCode, message, options);
  }
}
