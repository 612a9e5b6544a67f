import type { z } from "@hono/zod-openapi";
import type { BaseList, BaseUpdateBody, CommitBody, CommitResult, ContextHead, FileRecordList } from "../api/index.js";
import { AGENT_FEATURES, apiPaths, packBaseUpserts } from "../api/index.js";
import { CommitConflictError } from "../errors/index.js";
import type { BaseEntry, BaseUpdate, CommitRequest, ContextRecord, FileMeta, FileRecord, MetaStore } from "../store/index.js";
import type { ApiClient } from "./api-client.js";
import { RemoteApiError } from "./remote-api-error.js";

/** The MetaStore methods the engine's upload and download use: all an agent needs. */
export type AgentMetaStore = Pick<MetaStore, "getContext" | "listLiveFiles" | "getBase" | "updateBase" | "commitGeneration">;

/**
 * The engine's metadata, over the agent routes of the HTTP API (`/v1/agent/…`, session token).
 * The token names the session and its tenant, so the `tenantId` and `sessionId` arguments are not sent,
 * and the server stamps commits with its own clock (`timeMs` is not sent either).
 * Errors are the server's RemoteApiError, except a moved head, which rejects with CommitConflictError
 * as the local store does, so the engine re-plans and retries.
 */
export class RemoteMetaStore implements AgentMetaStore {
  /**
   * `serverFeatures`: what the server said it understands when the agent attached (AgentSession.features);
   * the commit body uses only those.
   */
  constructor(
    private readonly api: ApiClient,
    private readonly signal?: AbortSignal,
    private readonly serverFeatures: readonly string[] = [],
  ) {}

  /**
   * The context's head. Only `id` and `headGeneration` are meaningful (all the engine reads); the other
   * fields are empty. Undefined when the context is gone.
   */
  async getContext(_tenantId: string, contextId: string): Promise<ContextRecord | undefined> {
    const res = await this.api.request("GET", apiPaths.agentContext(contextId), { signal: this.signal, accept: [404] });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const head = (await res.json()) as z.infer<typeof ContextHead>;
    return { id: head.contextId, tenantId: "", name: "", createdAtMs: 0, lastUsedAtMs: 0, state: "in-use", headGeneration: head.headGeneration };
  }

  /** Live files under `prefix`, by the server's clock (`nowMs` is not sent). */
  async listLiveFiles(contextId: string, prefix: string, _nowMs: number): Promise<FileRecord[]> {
    const list = await this.api.json<z.infer<typeof FileRecordList>>("GET", apiPaths.agentContextFiles(contextId), {
      query: { prefix },
      signal: this.signal,
    });
    return list.files;
  }

  async getBase(_sessionId: string, mountPath: string): Promise<Map<string, BaseEntry>> {
    const list = await this.api.json<z.infer<typeof BaseList>>("GET", apiPaths.agentBases, { query: { path: mountPath }, signal: this.signal });
    return new Map(list.entries.map((e) => [e.key, e]));
  }

  async updateBase(update: BaseUpdate): Promise<void> {
    await this.api.json("POST", apiPaths.agentBases, {
      json: baseUpdateOf(update),
      signal: this.signal,
    });
  }

  async commitGeneration(req: CommitRequest): Promise<number> {
    const body: z.input<typeof CommitBody> = {
      contextId: req.contextId,
      expectedHead: req.expectedHead,
      changes: req.changes.map((c) =>
        c.kind === "put" ? { kind: "put", key: c.key, meta: metaOf(c.meta), expiresAtMs: c.expiresAtMs } : { kind: "delete", key: c.key },
      ),
    };
    if (req.base) {
      const base = baseUpdateOf(req.base);
      body.base = this.serverFeatures.includes(AGENT_FEATURES.commitUpsertPuts) ? { ...base, ...packBaseUpserts(body.changes, base.upserts) } : base;
    }
    try {
      const result = await this.api.json<z.infer<typeof CommitResult>>("POST", apiPaths.agentCommits, { json: body, signal: this.signal });
      return result.generation;
    } catch (err) {
      if (err instanceof RemoteApiError && err.code === "CommitConflict") throw new CommitConflictError(req.contextId, 1);
      throw err;
    }
  }
}

/** Exactly the wire fields: the engine passes richer objects (view entries) where a FileMeta is due. */
function metaOf(m: FileMeta): FileMeta {
  return { type: m.type, digest: m.digest, sizeBytes: m.sizeBytes, mode: m.mode, mtimeMs: m.mtimeMs, linkTarget: m.linkTarget };
}

function baseUpdateOf(u: BaseUpdate): z.input<typeof BaseUpdateBody> {
  return { mountPath: u.mountPath, upserts: u.upserts.map((e) => ({ key: e.key, ...metaOf(e) })), deletes: [...u.deletes] };
}
