import type { z } from "@hono/zod-openapi";
import type { ApiClient } from "../agent/index.js";
import type { ClearStatus, ContextList, ContextView, FileList, FileUrl, GenerationList, RestoreResult } from "../api/index.js";
import { apiPaths } from "../api/index.js";
import { ContextNotFoundError } from "../errors/index.js";
import { checkName } from "../service/input-checks.js";
import { normalizeSessionPath } from "../policy/index.js";
import type { ClearState, ContextBackend } from "./backend.js";
import { Context } from "./context.js";
import type { GenerationInfo } from "./results.js";

/** `client.context` over the HTTP API (`/v1/contexts…`, API key). Errors are the server's. */
export class RemoteContexts implements ContextBackend {
  constructor(private readonly api: ApiClient) {}

  async get(name: string, create: boolean): Promise<Context> {
    // Checked before the request, so both clients answer a bad name alike (and a blank `name` filter is
    // never sent: the server would read it as no filter).
    checkName(name);
    if (create) return toContext(await this.api.json<z.infer<typeof ContextView>>("POST", apiPaths.contexts, { json: { name } }));
    const list = await this.api.json<z.infer<typeof ContextList>>("GET", apiPaths.contexts, { query: { name, maxResults: 1 } });
    const found = list.contexts.find((c) => c.name === name);
    if (!found) throw new ContextNotFoundError(name);
    return toContext(found);
  }

  async list(opts: { maxResults: number; nextToken?: string; sessionId?: string }) {
    const list = await this.api.json<z.infer<typeof ContextList>>("GET", apiPaths.contexts, {
      query: { maxResults: opts.maxResults, nextToken: opts.nextToken || undefined, sessionId: opts.sessionId || undefined },
    });
    return { contexts: list.contexts.map(toContext), nextToken: list.nextToken, totalCount: list.totalCount };
  }

  async rename(contextId: string, name: string): Promise<void> {
    checkName(name);
    await this.api.json("PATCH", apiPaths.context(contextId), { json: { name } });
  }

  async delete(contextId: string): Promise<void> {
    await this.api.json("DELETE", apiPaths.context(contextId));
  }

  async listFiles(contextId: string, parentFolderPath: string, pageNumber: number, pageSize: number) {
    const parent = parentFolderPath === "" ? "/" : parentFolderPath;
    normalizeSessionPath(parent); // checked here too: a path of kilobytes would not fit a query string
    const list = await this.api.json<z.infer<typeof FileList>>("GET", apiPaths.contextFiles(contextId), {
      query: { parent, pageNumber, pageSize },
    });
    return { entries: list.entries, count: list.count };
  }

  async deleteFile(contextId: string, filePath: string): Promise<void> {
    normalizeSessionPath(filePath); // as listFiles
    await this.api.json("DELETE", apiPaths.contextFiles(contextId), { query: { path: filePath } });
  }

  async fileUrl(contextId: string, filePath: string, method: "GET" | "PUT") {
    const url = await this.api.json<z.infer<typeof FileUrl>>("POST", apiPaths.contextFileUrls(contextId), { json: { path: filePath, method } });
    return { url: url.url, expireTime: url.expireTime };
  }

  async clearAsync(contextId: string): Promise<ClearState> {
    return this.api.json<z.infer<typeof ClearStatus>>("POST", apiPaths.contextClear(contextId));
  }

  async getClearStatus(contextId: string): Promise<ClearState> {
    return this.api.json<z.infer<typeof ClearStatus>>("GET", apiPaths.contextClear(contextId));
  }

  async log(contextId: string, limit?: number): Promise<GenerationInfo[]> {
    return (await this.api.json<z.infer<typeof GenerationList>>("GET", apiPaths.contextGenerations(contextId), { query: { limit } })).generations;
  }

  async restore(contextId: string, generation: number, path?: string): Promise<number> {
    // "" is the whole context, as the embedded client reads it (the server takes no empty path).
    const body = path === undefined || path === "" ? { generation } : { generation, path };
    return (await this.api.json<z.infer<typeof RestoreResult>>("POST", apiPaths.contextRestore(contextId), { json: body })).generation;
  }
}

function toContext(c: z.infer<typeof ContextView>): Context {
  return new Context(c.id, c.name, c.createdAt, c.lastUsedAt, c.state);
}

