import { checkGeneration, checkPageNumber, checkPageSize } from "../service/input-checks.js";
import type { ContextBackend } from "./backend.js";
import type { Context } from "./context.js";
import {
  respond,
  type ClearContextResult,
  type ContextFileListResult,
  type ContextListResult,
  type ContextLogResult,
  type ContextRestoreResult,
  type ContextResult,
  type FileUrlResult,
  type OperationResult,
} from "./results.js";

/** `clear()` gave up waiting: the context may still be clearing (the reference's ClearanceTimeoutError). */
export class ClearanceTimeoutError extends Error {
  constructor(
    readonly contextId: string,
    readonly elapsedSeconds: number,
  ) {
    super(`Context clearing timed out after ${elapsedSeconds.toFixed(2)} seconds`);
    this.name = "ClearanceTimeoutError";
  }
}

/** `client.context`: contexts and their files, with the reference's method names and result shapes. */
export class ContextClient {
  constructor(private readonly backend: ContextBackend) {}

  /** The context named `name`; with `create`, made when missing. */
  get(name: string, create = false): Promise<ContextResult> {
    return respond<ContextResult>({ contextId: "" }, async () => {
      const context = await this.backend.get(name, create);
      return { contextId: context.id, context };
    });
  }

  /** Same as `get(name, true)`. */
  create(name: string): Promise<ContextResult> {
    return this.get(name, true);
  }

  /** Contexts in creation order, `maxResults` (default 10) per page; pass `nextToken` for the next page. */
  list(params: { maxResults?: number; nextToken?: string; sessionId?: string } = {}): Promise<ContextListResult> {
    return respond<ContextListResult>({ contexts: [] }, async () => {
      const maxResults = checkPageSize(params.maxResults ?? 10, "maxResults");
      const page = await this.backend.list({ ...params, maxResults });
      return { contexts: page.contexts, nextToken: page.nextToken, maxResults, totalCount: page.totalCount };
    });
  }

  /** Renames a context (its id stays). */
  update(context: Context): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await this.backend.rename(context.id, context.name);
      return { data: true };
    });
  }

  /** Deletes a context and all its files. */
  delete(context: Context): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await this.backend.delete(context.id);
      return { data: true };
    });
  }

  /** Direct children (files and FOLDER entries) of a folder of the context. */
  listFiles(contextId: string, parentFolderPath: string, pageNumber = 1, pageSize = 50): Promise<ContextFileListResult> {
    return respond<ContextFileListResult>({ entries: [] }, async () =>
      this.backend.listFiles(contextId, parentFolderPath, checkPageNumber(pageNumber), checkPageSize(pageSize, "pageSize")),
    );
  }

  /**
   * A presigned URL to which the bytes of file `filePath` (a session path such as `/home/user/a.txt`) can be
   * PUT without credentials, until `expireTime` (default: one hour). Each PUT is one new generation.
   * Needs a server: the embedded client answers `[NotSupported]`.
   */
  getFileUploadUrl(contextId: string, filePath: string): Promise<FileUrlResult> {
    return respond<FileUrlResult>({ url: "", expireTime: 0 }, async () => this.backend.fileUrl(contextId, filePath, "PUT"));
  }

  /** A presigned URL that GETs the bytes of one file, until `expireTime`. Needs a server, as getFileUploadUrl. */
  getFileDownloadUrl(contextId: string, filePath: string): Promise<FileUrlResult> {
    return respond<FileUrlResult>({ url: "", expireTime: 0 }, async () => this.backend.fileUrl(contextId, filePath, "GET"));
  }

  /**
   * The context's generations (atomic commits), newest first, at most `limit` (default 100), with ISO-8601
   * times. Only generations within the retention period (default 7 days) are listed: those can be restored.
   */
  log(contextId: string, limit?: number): Promise<ContextLogResult> {
    return respond<ContextLogResult>({ generations: [] }, async () => ({
      generations: await this.backend.log(contextId, limit === undefined ? undefined : checkPageSize(limit, "limit")),
    }));
  }

  /**
   * Brings the context — or, with `path`, one file or folder (a session path such as `/home/user/data`) —
   * back to what it was at `generation`, as a new generation, and returns that generation's number.
   * Files added since are removed, changed or deleted ones come back with their bytes, mode and mtime, and
   * never expire. Files that expired under their recycle policy stay deleted. Fails with
   * `GenerationNotFound` for a generation that never existed or was pruned after the retention period.
   */
  restore(contextId: string, generation: number, opts: { path?: string } = {}): Promise<ContextRestoreResult> {
    return respond<ContextRestoreResult>({}, async () => ({ generation: await this.backend.restore(contextId, checkGeneration(generation), opts.path) }));
  }

  /** Removes one file from the context. */
  deleteFile(contextId: string, filePath: string): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await this.backend.deleteFile(contextId, filePath);
      return { data: true };
    });
  }

  /**
   * Starts removing every file of the context, as one new generation; the context keeps its id, name and
   * history. Returns at once with status `clearing`; `getClearStatus` says when it is `available` again.
   */
  clearAsync(contextId: string): Promise<ClearContextResult> {
    return respond<ClearContextResult>({ contextId }, async () => ({ ...(await this.backend.clearAsync(contextId)) }));
  }

  /** The context's state: `clearing` while a clear runs, then `available`. */
  getClearStatus(contextId: string): Promise<ClearContextResult> {
    return respond<ClearContextResult>({ contextId }, async () => ({ ...(await this.backend.getClearStatus(contextId)) }));
  }

  /**
   * clearAsync, then getClearStatus every `pollIntervalSeconds` (sleeping before each look, as the
   * reference does) until the context is `available`. A failed start or status read is returned as is.
   * Throws ClearanceTimeoutError ("Context clearing timed out after X.XX seconds") when
   * `timeoutSeconds / pollIntervalSeconds` looks did not see it available.
   */
  async clear(contextId: string, timeoutSeconds = 60, pollIntervalSeconds = 2): Promise<ClearContextResult> {
    const started = await this.clearAsync(contextId);
    if (!started.success) return started;
    const startMs = Date.now();
    const maxAttempts = Math.max(1, Math.floor(timeoutSeconds / pollIntervalSeconds));
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      await new Promise((r) => setTimeout(r, pollIntervalSeconds * 1000));
      const status = await this.getClearStatus(contextId);
      if (!status.success || status.status === "available") return status;
    }
    throw new ClearanceTimeoutError(contextId, (Date.now() - startMs) / 1000);
  }
}
