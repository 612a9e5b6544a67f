import type { ContextService } from "../service/index.js";
import { Context } from "./context.js";
import {
  respond,
  type ContextFileListResult,
  type ContextListResult,
  type ContextLogResult,
  type ContextRestoreResult,
  type ContextResult,
  type OperationResult,
} from "./results.js";

/** `client.context`: contexts and their files, with the reference's method names and result shapes. */
export class ContextClient {
  constructor(private readonly service: Promise<ContextService>) {}

  /** The context named `name`; with `create`, made when missing. */
  get(name: string, create = false): Promise<ContextResult> {
    return respond<ContextResult>({ contextId: "" }, async () => {
      const ctx = await (await this.service).get(name, create);
      return { contextId: ctx.id, context: Context.fromRecord(ctx) };
    });
  }

  /** Same as `get(name, true)`. */
  create(name: string): Promise<ContextResult> {
    return this.get(name, true);
  }

  /** Contexts in creation order, `maxResults` (default 10) per page; pass `nextToken` for the next page. */
  list(params: { maxResults?: number; nextToken?: string; sessionId?: string } = {}): Promise<ContextListResult> {
    return respond<ContextListResult>({ contexts: [] }, async () => {
      const maxResults = params.maxResults ?? 10;
      const page = await (await this.service).list({ ...params, maxResults });
      return {
        contexts: page.items.map(Context.fromRecord),
        nextToken: page.nextToken,
        maxResults,
        totalCount: page.totalCount,
      };
    });
  }

  /** Renames a context (its id stays). */
  update(context: Context): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await (await this.service).rename(context.id, context.name);
      return { data: true };
    });
  }

  /** Deletes a context and all its files. */
  delete(context: Context): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await (await this.service).delete(context.id);
      return { data: true };
    });
  }

  /** Direct children (files and FOLDER entries) of a folder of the context. */
  listFiles(contextId: string, parentFolderPath: string, pageNumber = 1, pageSize = 50): Promise<ContextFileListResult> {
    return respond<ContextFileListResult>({ entries: [] }, async () => {
      return (await this.service).listFiles(contextId, parentFolderPath, pageNumber, pageSize);
    });
  }

  /**
   * The context's generations (atomic commits), newest first, at most `limit` (default 100), with ISO-8601
   * times. Only generations within the retention period (default 7 days) are listed: those can be restored.
   */
  log(contextId: string, limit?: number): Promise<ContextLogResult> {
    return respond<ContextLogResult>({ generations: [] }, async () => {
      const records = await (await this.service).log(contextId, limit);
      return {
        generations: records.map((g) => ({
          generation: g.generation,
          time: new Date(g.timeMs).toISOString(),
          sessionId: g.sessionId,
          added: g.added,
          changed: g.changed,
          removed: g.removed,
        })),
      };
    });
  }

  /**
   * Brings the context — or, with `path`, one file or folder (a session path such as `/home/user/data`) —
   * back to what it was at `generation`, as a new generation, and returns that generation's number.
   * Files added since are removed, changed or deleted ones come back with their bytes, mode and mtime, and
   * never expire. Files that expired under their recycle policy stay deleted. Fails with
   * `GenerationNotFound` for a generation that never existed or was pruned after the retention period.
   */
  restore(contextId: string, generation: number, opts: { path?: string } = {}): Promise<ContextRestoreResult> {
    return respond<ContextRestoreResult>({}, async () => ({
      generation: await (await this.service).restore(contextId, generation, opts),
    }));
  }

  /** Removes one file from the context. */
  deleteFile(contextId: string, filePath: string): Promise<OperationResult> {
    return respond<OperationResult>({}, async () => {
      await (await this.service).deleteFile(contextId, filePath);
      return { data: true };
    });
  }
}
