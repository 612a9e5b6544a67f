import { describeError } from "../errors/index.js";
import type { GcStats, Services, StartedTask } from "../service/index.js";
import type { SessionRecord } from "../store/index.js";
import type {
  ClearState,
  ContextBackend,
  CreateSessionRequest,
  SdkBackend,
  SessionBackend,
  SessionView,
  StartedTasks,
  TaskState,
  TasksOutcome,
} from "./backend.js";
import { Context } from "./context.js";
import { describeFailedTasks, toContextStatusData } from "./context-status-data.js";
import { NotSupportedError } from "../errors/index.js";

/**
 * The SDK over this process's services and the embedded store (SQLite + a blob directory). Sessions'
 * filesystems are local directories and their transfers run here (the service's in-process agent), so
 * waits are on the tasks themselves, never polls. Signed file URLs need a server: fileUrl fails with
 * NotSupported and says so.
 */
export class EmbeddedBackend implements SdkBackend {
  readonly kind = "embedded";
  readonly contexts: ContextBackend;
  readonly sessions: SessionBackend;
  /** Clears running in this process: close() lets them finish, else the context would stay `clearing`. */
  private readonly clears = new Set<Promise<void>>();

  constructor(private readonly services: Promise<Services>) {
    this.contexts = new EmbeddedContexts(services, this.clears);
    this.sessions = new EmbeddedSessions(services);
  }

  async ready(): Promise<void> {
    await this.services;
  }

  async gc(): Promise<GcStats> {
    return (await this.services).gc();
  }

  async close(): Promise<void> {
    const svc = await this.services;
    await Promise.all(this.clears);
    await svc.close();
  }
}

class EmbeddedContexts implements ContextBackend {
  constructor(
    private readonly ready: Promise<Services>,
    private readonly clears: Set<Promise<void>>,
  ) {}

  private async svc() {
    return (await this.ready).contexts;
  }

  async get(name: string, create: boolean): Promise<Context> {
    return Context.fromRecord(await (await this.svc()).get(name, create));
  }

  async list(opts: { maxResults: number; nextToken?: string; sessionId?: string }) {
    const page = await (await this.svc()).list(opts);
    return { contexts: page.items.map(Context.fromRecord), nextToken: page.nextToken, totalCount: page.totalCount };
  }

  async rename(contextId: string, name: string): Promise<void> {
    await (await this.svc()).rename(contextId, name);
  }

  async delete(contextId: string): Promise<void> {
    await (await this.svc()).delete(contextId);
  }

  async listFiles(contextId: string, parentFolderPath: string, pageNumber: number, pageSize: number) {
    return (await this.svc()).listFiles(contextId, parentFolderPath, pageNumber, pageSize);
  }

  async deleteFile(contextId: string, filePath: string): Promise<void> {
    await (await this.svc()).deleteFile(contextId, filePath);
  }

  async fileUrl(contextId: string, _filePath: string, method: "GET" | "PUT"): Promise<{ url: string; expireTime: number }> {
    await (await this.svc()).getById(contextId); // an unknown context is reported as such first
    throw new NotSupportedError(
      `${method === "PUT" ? "getFileUploadUrl" : "getFileDownloadUrl"} needs a server to sign and serve the URL; the embedded client has none. Run \`ctxsync serve\` and create the client with new CtxSync({ endpoint, apiKey }).`,
    );
  }

  async clearAsync(contextId: string): Promise<ClearState> {
    const handle = await (await this.svc()).clearAsync(contextId);
    if (handle.started) {
      // The context stays `clearing` when the clear fails, which getClearStatus reports; nothing else to do.
      const done = handle.done.catch(() => undefined);
      this.clears.add(done);
      void done.then(() => this.clears.delete(done));
    }
    return { contextId, status: "clearing" };
  }

  async getClearStatus(contextId: string): Promise<ClearState> {
    return { contextId, status: await (await this.svc()).getClearStatus(contextId) };
  }

  async log(contextId: string, limit?: number) {
    const records = await (await this.svc()).log(contextId, limit);
    return records.map((g) => ({
      generation: g.generation,
      time: new Date(g.timeMs).toISOString(),
      sessionId: g.sessionId,
      added: g.added,
      changed: g.changed,
      removed: g.removed,
    }));
  }

  async restore(contextId: string, generation: number, path?: string): Promise<number> {
    return (await this.svc()).restore(contextId, generation, path === undefined ? {} : { path });
  }
}

class EmbeddedSessions implements SessionBackend {
  constructor(private readonly ready: Promise<Services>) {}

  private async svc() {
    return (await this.ready).sessions;
  }

  async create(req: CreateSessionRequest): Promise<SessionView> {
    if (req.agent !== "local") {
      throw new NotSupportedError(
        'agent: "external" needs a server for the sandbox\'s agent to talk to; the embedded client has none. Run `ctxsync serve` and create the client with new CtxSync({ endpoint, apiKey }).',
      );
    }
    const { session } = await (await this.svc()).create({ contextSync: req.contextSync, root: req.root, labels: req.labels });
    return toView(session);
  }

  async get(sessionId: string): Promise<SessionView> {
    return toView(await (await this.svc()).get(sessionId));
  }

  async list(): Promise<SessionView[]> {
    return (await (await this.svc()).list()).map(toView);
  }

  async sync(sessionId: string, target: { contextId?: string; path?: string; mode?: "upload" | "download" }): Promise<StartedTasks> {
    const sessions = await this.svc();
    const handle = await sessions.sync(sessionId, target);
    const taskIds = handle.tasks.map((t) => t.id);
    return {
      taskIds,
      wait: async () => {
        if (await handle.done) return { ok: true };
        return this.failure(sessionId, taskIds);
      },
    };
  }

  async info(sessionId: string, filter: { contextId?: string; path?: string; taskType?: "upload" | "download" }): Promise<TaskState[]> {
    const tasks = await (await this.svc()).info(sessionId, filter);
    return tasks.map((t) => ({ taskId: t.id, ...toContextStatusData(t) }));
  }

  async bind(sessionId: string, contextSyncs: Parameters<SessionBackend["bind"]>[1], waitForCompletion: boolean): Promise<StartedTasks> {
    const started: StartedTask[] = await (await this.svc()).bind(sessionId, contextSyncs, waitForCompletion);
    const taskIds = started.map((t) => t.record.id);
    return {
      taskIds,
      wait: async () => {
        const statuses = await Promise.all(started.map((t) => t.done));
        return statuses.every((s) => s === "Success") ? { ok: true } : this.failure(sessionId, taskIds);
      },
    };
  }

  async listBindings(sessionId: string) {
    const mounts = await (await this.svc()).listBindings(sessionId);
    return mounts.map((m) => ({ contextId: m.contextId, contextName: m.contextName, path: m.path, policy: m.policyJson, bindTime: Math.floor(m.bindTimeMs / 1000) }));
  }

  async release(sessionId: string, syncContext: boolean): Promise<{ uploadsSucceeded: boolean; errorMessage?: string }> {
    const sessions = await this.svc();
    const released = await sessions.release(sessionId, syncContext);
    if (released.uploadsSucceeded) return { uploadsSucceeded: true };
    if (released.errorMessage) return { uploadsSucceeded: false, errorMessage: released.errorMessage };
    const failed = (await sessions.tasksByIds(sessionId, released.tasks.map((t) => t.id))).map(toContextStatusData);
    return { uploadsSucceeded: false, errorMessage: describeFailedTasks(failed) };
  }

  /** The outcome of tasks that did not all succeed, with the failed ones' messages. */
  private async failure(sessionId: string, taskIds: readonly string[]): Promise<TasksOutcome> {
    try {
      const tasks = (await (await this.svc()).tasksByIds(sessionId, taskIds)).map(toContextStatusData);
      return { ok: false, errorMessage: describeFailedTasks(tasks) };
    } catch (err) {
      return { ok: false, errorMessage: `A task failed, and reading why failed too: ${describeError(err)}` };
    }
  }
}

function toView(s: SessionRecord): SessionView {
  return { id: s.id, status: s.status, root: s.root, labels: { ...s.labels }, createdAt: new Date(s.createdAtMs).toISOString() };
}
