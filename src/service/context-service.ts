import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { ContextNotFoundError, FileNotFoundError, InvalidKeyError, InvalidParameterError, PayloadTooLargeError } from "../errors/index.js";
import { commitAtHead, restoreGeneration, type Clock } from "../engine/index.js";
import { normalizeSessionPath } from "../policy/index.js";
import type { ContextRecord, ContextState, FileChange, FileRecord, GenerationRecord, MetaStore, Page } from "../store/index.js";
import { spoolToTempFile } from "../store/index.js";
import type { Stores } from "./embedded-stores.js";
import { checkGeneration, checkName, checkPageNumber, checkPageSize } from "./input-checks.js";
import { listChildren, type FileEntry } from "./list-children.js";

/** A clear started by clearAsync. */
export interface ClearHandle {
  /** False when the context was already clearing: that earlier clear does the work. */
  started: boolean;
  /** Settles when this clear has finished (at once when not started); rejects when it failed. */
  done: Promise<void>;
}

/**
 * Contexts a clear in this process is working on: asking again while it runs starts nothing, asking again
 * after it failed (the state stays `clearing`) starts it again. Per process, as the work is.
 */
const clearsRunning = new Set<string>();

/**
 * Contexts and their files, for one tenant: the operations of SPEC §5 `client.context`.
 * Throws CtxSyncError subclasses; the SDK turns them into `{ success: false }` results.
 */
export class ContextService {
  private readonly meta: MetaStore;

  constructor(
    private readonly stores: Stores,
    private readonly tenantId: string,
    private readonly clock: Clock,
  ) {
    this.meta = stores.meta;
  }

  /** The context named `name`; with `create`, makes it when missing (then `create(name)` is idempotent). */
  async get(name: string, create = false): Promise<ContextRecord> {
    const cleanName = checkName(name);
    const found = await this.meta.getContextByName(this.tenantId, cleanName);
    if (found) return (await this.withUse([found]))[0]!;
    if (!create) throw new ContextNotFoundError(cleanName);
    try {
      return await this.meta.createContext(this.tenantId, cleanName, this.clock.now());
    } catch (err) {
      // Two creators raced on one name: the other won, and get() means "the context of that name".
      const winner = await this.meta.getContextByName(this.tenantId, cleanName);
      if (winner) return winner;
      throw err;
    }
  }

  /** The context with this id; ContextNotFoundError otherwise (also for another tenant's id). */
  async getById(contextId: string): Promise<ContextRecord> {
    return (await this.withUse([await this.stored(contextId)]))[0]!;
  }

  /** The context's record as stored (state `available` or `clearing`); ContextNotFoundError otherwise. */
  private async stored(contextId: string): Promise<ContextRecord> {
    const ctx = await this.meta.getContext(this.tenantId, contextId);
    if (!ctx) throw new ContextNotFoundError(contextId);
    return ctx;
  }

  /**
   * The records as callers see them: a context a running session mounts reads `in-use` (the reference's
   * state), unless it is being cleared. Stored states are only `available` and `clearing`.
   */
  private async withUse(records: ContextRecord[]): Promise<ContextRecord[]> {
    const used = await this.meta.contextsInUse(records.filter((r) => r.state === "available").map((r) => r.id));
    return used.size === 0 ? records : records.map((r) => (used.has(r.id) ? { ...r, state: "in-use" } : r));
  }

  async list(opts: { maxResults?: number; nextToken?: string; sessionId?: string } = {}): Promise<Page<ContextRecord>> {
    const limit = checkPageSize(opts.maxResults ?? 10, "maxResults");
    if (opts.sessionId) {
      const mounts = await this.meta.listMounts(opts.sessionId);
      const ids = [...new Set(mounts.map((m) => m.contextId))];
      const items: ContextRecord[] = [];
      for (const id of ids) {
        const ctx = await this.meta.getContext(this.tenantId, id);
        if (ctx) items.push(ctx);
      }
      return { items: await this.withUse(items.slice(0, limit)), nextToken: undefined, totalCount: items.length };
    }
    const page = await this.meta.listContexts(this.tenantId, { limit, nextToken: opts.nextToken || undefined });
    return { ...page, items: await this.withUse(page.items) };
  }

  async rename(contextId: string, name: string): Promise<void> {
    await this.meta.renameContext(this.tenantId, contextId, checkName(name));
  }

  async delete(contextId: string): Promise<void> {
    if (!(await this.meta.deleteContext(this.tenantId, contextId))) throw new ContextNotFoundError(contextId);
  }

  /** Direct children of `parentFolderPath` (files and FOLDER entries), one page of them. */
  async listFiles(
    contextId: string,
    parentFolderPath: string,
    pageNumber = 1,
    pageSize = 50,
  ): Promise<{ entries: FileEntry[]; count: number }> {
    await this.stored(contextId);
    const parent = parentFolderPath === "" ? "/" : normalizeSessionPath(parentFolderPath);
    checkPageSize(pageSize, "pageSize");
    checkPageNumber(pageNumber);
    const all = listChildren(parent, await this.meta.listLiveFiles(contextId, parent, this.clock.now()));
    const start = (pageNumber - 1) * pageSize;
    return { entries: all.slice(start, start + pageSize), count: all.length };
  }

  /**
   * The context's generations, newest first, at most `limit` (default 100). Generations pruned after the
   * retention period are gone; the oldest one listed is the oldest that can be restored.
   */
  async log(contextId: string, limit = 100): Promise<GenerationRecord[]> {
    checkPageSize(limit, "limit");
    await this.stored(contextId);
    return this.meta.listGenerations(contextId, limit);
  }

  /**
   * Commits a new generation that makes the context — or, with `path`, the file or folder at that session
   * path — equal to what it was at `generation`; returns the new generation (the head when nothing
   * differed). Files whose version then has since expired stay deleted; restored files never expire.
   * Rejects with GenerationNotFoundError for a generation that never existed or was pruned.
   * See engine/restore-generation.ts.
   */
  async restore(contextId: string, generation: number, opts: { path?: string } = {}): Promise<number> {
    const prefix = opts.path === undefined || opts.path === "" ? "/" : normalizeSessionPath(opts.path);
    return restoreGeneration(
      { meta: this.meta, blobs: this.stores.blobs, clock: this.clock },
      { tenantId: this.tenantId, contextId, generation: checkGeneration(generation), prefix },
    );
  }

  /** Removes one file from the context as a new generation. Deleting a file that is not there succeeds. */
  async deleteFile(contextId: string, filePath: string): Promise<void> {
    const key = normalizeSessionPath(filePath);
    await this.commitAtHead(contextId, async (now) => {
      if (await this.meta.getLiveFile(contextId, key, now)) return [{ kind: "delete", key }];
      // A folder is its files: taking them all away on a call that names one file would surprise.
      const below = (await this.meta.listLiveFiles(contextId, key, now)).find((f) => f.key !== key);
      if (below) {
        throw new InvalidParameterError(
          `${key} is a folder in this context (it holds ${below.key}); deleteFile deletes one file. Delete the files in it, or clear the context.`,
        );
      }
      return [];
    });
  }

  /**
   * A live regular file of the context and a stream of its bytes, verified against its digest by the
   * blob store (the stream errors at the end if they disagree). FileNotFoundError when the key has no
   * live file, or holds a symlink.
   */
  async readFile(contextId: string, filePath: string): Promise<{ file: FileRecord; body: Readable }> {
    await this.stored(contextId);
    const key = normalizeSessionPath(filePath);
    const file = await this.meta.getLiveFile(contextId, key, this.clock.now());
    if (!file || file.type !== "file" || file.digest === null) throw new FileNotFoundError(contextId, key);
    return { file, body: await this.stores.blobs.get(file.digest) };
  }

  /**
   * Writes `body` as the file at `filePath` (mode 0644, mtime now, never expiring) in a new generation,
   * replacing any file there, and returns the generation and what was stored. With `sizeBytes` (the
   * request's Content-Length) the store names the bytes by the hash it makes as it stores them
   * (putUnnamed: one pass into the local store; S3 spools them first, as it must); a body of another
   * length fails with InvalidParameterError. Without, they are spooled to a temporary file in `tmpDir`
   * while hashed, then stored. Past `maxBytes` it rejects with PayloadTooLargeError (an announced size:
   * before anything else is looked at); a refused body leaves nothing in the context.
   */
  async writeFile(
    contextId: string,
    filePath: string,
    body: Readable,
    opts: { maxBytes: number; tmpDir: string; sizeBytes?: number },
  ): Promise<{ generation: number; digest: string; sizeBytes: number }> {
    if (opts.sizeBytes !== undefined && opts.sizeBytes > opts.maxBytes) throw new PayloadTooLargeError(opts.maxBytes, "The file");
    await this.stored(contextId);
    const key = normalizeSessionPath(filePath);
    if (key === "/") throw new InvalidKeyError(filePath, "a file needs a name below /");
    if (opts.sizeBytes !== undefined) {
      return this.commitFile(contextId, key, await this.stores.blobs.putUnnamed(body, opts.sizeBytes));
    }
    const spooled = await spoolToTempFile(body, opts.tmpDir, opts.maxBytes);
    try {
      await this.stores.blobs.put(spooled.digest, fs.createReadStream(spooled.path), spooled.sizeBytes);
      return await this.commitFile(contextId, key, spooled);
    } finally {
      fs.rmSync(spooled.path, { force: true });
    }
  }

  /** Commits a stored blob as the file at `key` (writeFile's second half). */
  private async commitFile(contextId: string, key: string, blob: { digest: string; sizeBytes: number }): Promise<{ generation: number; digest: string; sizeBytes: number }> {
    const generation = await this.commitAtHead(contextId, async (now) => {
      await this.checkFileFits(contextId, key, now);
      return [
        {
          kind: "put",
          key,
          meta: { type: "file", digest: blob.digest, sizeBytes: blob.sizeBytes, mode: 0o644, mtimeMs: now, linkTarget: null },
          expiresAtMs: null,
        },
      ];
    });
    return { generation, digest: blob.digest, sizeBytes: blob.sizeBytes };
  }

  /**
   * A file at `key` must not stand where the context has a folder (files below it) nor below another
   * file: no download could place both, and every download of that mount would fail.
   */
  private async checkFileFits(contextId: string, key: string, nowMs: number): Promise<void> {
    const below = (await this.meta.listLiveFiles(contextId, key, nowMs)).find((f) => f.key !== key);
    if (below) throw new InvalidKeyError(key, `it is a folder in this context (it holds ${below.key}); delete the files in it first or choose another name`);
    for (let p = path.posix.dirname(key); p !== "/"; p = path.posix.dirname(p)) {
      if (await this.meta.getLiveFile(contextId, p, nowMs)) throw new InvalidKeyError(key, `${p} is a file in this context, and a file cannot hold another`);
    }
  }

  /**
   * Starts clearing a context: its state becomes `clearing` at once, and a clear running in this process
   * commits one generation that deletes every live file, then sets the state back to `available`. The
   * context, its id and its history remain. Clearing a context that a clear in this process is working on
   * starts nothing; one left `clearing` by a clear that failed starts again.
   */
  async clearAsync(contextId: string): Promise<ClearHandle> {
    const ctx = await this.stored(contextId);
    const claimed = await this.meta.setContextState(contextId, "clearing", ["available", "in-use"]);
    if (!claimed && (ctx.state !== "clearing" || clearsRunning.has(contextId))) return { started: false, done: Promise.resolve() };
    return { started: true, done: this.runClear(contextId) };
  }

  /**
   * The work of a clear: deletes every live file of a context in `clearing` state as one generation, then
   * makes it `available`. Also resumes a clear that a stopped process left unfinished. A context deleted
   * meanwhile is nothing to clear.
   */
  async runClear(contextId: string): Promise<void> {
    clearsRunning.add(contextId);
    try {
      if (!(await this.meta.getContext(this.tenantId, contextId))) return;
      await this.commitAtHead(contextId, async (now) =>
        (await this.meta.listLiveFiles(contextId, "/", now)).map((f): FileChange => ({ kind: "delete", key: f.key })),
      );
      await this.meta.setContextState(contextId, "available", ["clearing"]);
    } finally {
      clearsRunning.delete(contextId);
    }
  }

  /** The context's clearing state: `clearing` while a clear runs, else `available` (whether mounted or not). */
  async getClearStatus(contextId: string): Promise<ContextState> {
    return (await this.stored(contextId)).state;
  }

  /**
   * Commits the changes `plan` makes against the current head, planning again when another writer
   * committed first. Returns the new generation, or the head when the plan is empty.
   */
  private commitAtHead(contextId: string, plan: (nowMs: number) => Promise<FileChange[]>): Promise<number> {
    return commitAtHead(
      { meta: this.meta, clock: this.clock },
      { tenantId: this.tenantId, contextId, sessionId: null },
      async ({ nowMs }) => ({ changes: await plan(nowMs) }),
    );
  }

}

