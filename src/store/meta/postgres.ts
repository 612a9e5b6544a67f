import {
  CommitConflictError,
  ContextNameConflictError,
  ContextNotFoundError,
  InvalidParameterError,
  PathAlreadyBoundError,
  SessionNotFoundError,
} from "../../errors/index.js";
import type { BlobDeletionState } from "../blob-deletion-journal.js";
import type { Digest } from "../blob-store.js";
import type {
  ApiKeyRecord,
  BaseEntry,
  BaseUpdate,
  CommitRequest,
  ContextRecord,
  ContextState,
  EpochMs,
  ExpireResult,
  FileChange,
  FileRecord,
  GenerationRecord,
  MetaStore,
  MountRecord,
  Page,
  PruneResult,
  SessionRecord,
  SessionStatus,
  SilenceCutoffs,
  SizedDigest,
  TaskRecord,
  TaskStatus,
  TaskType,
  TaskUpdate,
} from "../meta-store.js";
import { newId } from "../new-id.js";
import { applyBase, chunks, insertVersions } from "./postgres-batch-writes.js";
import { migratePostgres, SCHEMA_NAME } from "./postgres-migrate.js";
import { isUniqueViolation, PostgresPool, type Queryable } from "./postgres-pool.js";
import {
  CONTEXT_COLUMNS,
  GENERATION_COLUMNS,
  int8,
  SESSION_COLUMNS,
  TASK_COLUMNS_SQL,
  toApiKey,
  toBaseEntry,
  toContext,
  toFile,
  toGeneration,
  toMount,
  toSession,
  toTask,
  type ApiKeyRow,
  type BaseRow,
  type ContextRow,
  type FileRow,
  type GenerationRow,
  type MountRow,
  type SessionRow,
  type TaskRow,
} from "./postgres-rows.js";
import { API_KEY_SELECT, decodePageToken, encodePageToken, FILE_COLUMNS, LATEST_IS_DELETING, taskUpdateColumns } from "./sql-shared.js";

export interface PostgresMetaStoreOptions {
  /**
   * Schema holding the tables, created when absent (lower-case letters, digits and `_`). Default: the
   * server's search_path, normally `public`.
   */
  schema?: string;
  /** Connections of this process (default 10). */
  maxConnections?: number;
  /** How long a call waits for a connection before failing with StoreUnavailable (default 15 000). */
  connectTimeoutMs?: number;
}

/** Distinct digests per page of listReferencedDigests: memory holds one page of rows besides the Set. */
const DIGESTS_PER_PAGE = 50_000;

/**
 * MetaStore on PostgreSQL, for several server processes sharing one database. Every write is one
 * transaction on one pooled connection. Where a check and a write must see one state, the rows are locked:
 * commitGeneration locks the context row (committers of one context queue there, and a loser sees the
 * winner's head), claimPendingTasks locks the tasks it hands out. A transaction chosen as deadlock victim
 * is run again (see PostgresPool.transaction).
 */
export class PostgresMetaStore implements MetaStore {
  private constructor(
    private readonly db: PostgresPool,
    /** Advisory lock of this schema's garbage collection: stores in other schemas of the database do not wait on it. */
    private readonly collectionLockKey: number,
  ) {}

  /**
   * Connects to the database at `url` and creates or upgrades the schema. Rejects with InvalidParameterError
   * for a bad URL or schema name, or a schema written by a newer ctxsync; with code StoreUnavailable when
   * the server cannot be reached or refuses us. The URL's password appears in no error.
   */
  static async open(url: string, opts: PostgresMetaStoreOptions = {}): Promise<PostgresMetaStore> {
    if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
      throw new InvalidParameterError(
        `Invalid PostgreSQL schema name ${JSON.stringify(opts.schema)}: use 1 to 63 lower-case letters, digits and underscores, not starting with a digit.`,
      );
    }
    const maxConnections = opts.maxConnections ?? 10; // pg's default; a transaction holds one for its duration
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new InvalidParameterError(`maxConnections must be a positive integer, not ${maxConnections}.`);
    }
    // Long enough for a loaded server or a busy pool, short enough that a server that is down fails the
    // call instead of hanging it.
    const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
    const db = PostgresPool.create(url, { schema: opts.schema, maxConnections, connectTimeoutMs });
    try {
      await migratePostgres(db, opts.schema);
      return new PostgresMetaStore(db, advisoryKeyOf(`ctxsync gc ${opts.schema ?? ""}`));
    } catch (err) {
      await db.end();
      throw err;
    }
  }

  async ensureTenant(name: string): Promise<string> {
    const find = async (): Promise<string | undefined> =>
      (await this.db.query<{ id: string }>("SELECT id FROM tenants WHERE name = $1", [name])).rows[0]?.id;
    const found = await find();
    if (found) return found;
    await this.db.query("INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [newId("tnt"), name]);
    // A separate statement: it sees the row of a concurrent caller that won the insert.
    const id = await find();
    if (id === undefined) throw new Error(`Tenant ${JSON.stringify(name)} vanished right after it was created.`);
    return id;
  }

  async createContext(tenantId: string, name: string, nowMs: EpochMs): Promise<ContextRecord> {
    const id = newId("ctx", nowMs);
    try {
      await this.db.query(
        "INSERT INTO contexts (id, tenant_id, name, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5)",
        [id, tenantId, name, nowMs, nowMs],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new ContextNameConflictError(name);
      throw err;
    }
    return { id, tenantId, name, createdAtMs: nowMs, lastUsedAtMs: nowMs, state: "available", headGeneration: 0 };
  }

  async getContext(tenantId: string, contextId: string): Promise<ContextRecord | undefined> {
    const { rows } = await this.db.query<ContextRow>(`SELECT ${CONTEXT_COLUMNS} FROM contexts WHERE id = $1 AND tenant_id = $2`, [
      contextId,
      tenantId,
    ]);
    return rows[0] ? toContext(rows[0]) : undefined;
  }

  async getContextByName(tenantId: string, name: string): Promise<ContextRecord | undefined> {
    const { rows } = await this.db.query<ContextRow>(`SELECT ${CONTEXT_COLUMNS} FROM contexts WHERE name = $1 AND tenant_id = $2`, [
      name,
      tenantId,
    ]);
    return rows[0] ? toContext(rows[0]) : undefined;
  }

  async listContexts(tenantId: string, opts: { limit: number; nextToken?: string }): Promise<Page<ContextRecord>> {
    const after = opts.nextToken ? decodePageToken(opts.nextToken) : "";
    const { rows } = await this.db.query<ContextRow>(
      `SELECT ${CONTEXT_COLUMNS} FROM contexts WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [tenantId, after, opts.limit + 1],
    );
    const count = await this.db.query<{ n: string }>("SELECT COUNT(*) AS n FROM contexts WHERE tenant_id = $1", [tenantId]);
    const hasMore = rows.length > opts.limit;
    const items = rows.slice(0, opts.limit).map(toContext);
    const last = items[items.length - 1];
    return { items, nextToken: hasMore && last ? encodePageToken(last.id) : undefined, totalCount: int8(count.rows[0]!.n) };
  }

  async renameContext(tenantId: string, contextId: string, name: string): Promise<void> {
    let changed: number;
    try {
      changed = rowCount(await this.db.query("UPDATE contexts SET name = $1 WHERE id = $2 AND tenant_id = $3", [name, contextId, tenantId]));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ContextNameConflictError(name);
      throw err;
    }
    if (changed === 0) throw new ContextNotFoundError(contextId);
  }

  async deleteContext(tenantId: string, contextId: string): Promise<boolean> {
    return rowCount(await this.db.query("DELETE FROM contexts WHERE id = $1 AND tenant_id = $2", [contextId, tenantId])) > 0;
  }

  async touchContext(contextId: string, nowMs: EpochMs): Promise<void> {
    await this.db.query("UPDATE contexts SET last_used_at = $1 WHERE id = $2", [nowMs, contextId]);
  }

  async setContextState(contextId: string, state: ContextState, from?: readonly ContextState[]): Promise<boolean> {
    if (from === undefined) {
      return rowCount(await this.db.query("UPDATE contexts SET state = $1 WHERE id = $2", [state, contextId])) > 0;
    }
    if (from.length === 0) return false;
    // One statement: the state test and the write see one row version (a concurrent change makes it re-test).
    const r = await this.db.query("UPDATE contexts SET state = $1 WHERE id = $2 AND state = ANY($3::text[])", [state, contextId, from]);
    return rowCount(r) > 0;
  }

  async contextsInUse(contextIds: readonly string[]): Promise<Set<string>> {
    if (contextIds.length === 0) return new Set();
    const { rows } = await this.db.query<{ id: string }>(
      "SELECT DISTINCT m.context_id AS id FROM mounts m JOIN sessions s ON s.id = m.session_id " +
        "WHERE m.context_id = ANY($1::text[]) AND s.status IN ('running', 'releasing')",
      [contextIds],
    );
    return new Set(rows.map((r) => r.id));
  }

  async listContextsInState(state: ContextState): Promise<ContextRecord[]> {
    const { rows } = await this.db.query<ContextRow>(`SELECT ${CONTEXT_COLUMNS} FROM contexts WHERE state = $1 ORDER BY id`, [state]);
    return rows.map(toContext);
  }

  async listLiveFiles(contextId: string, prefix: string, nowMs: EpochMs): Promise<FileRecord[]> {
    return this.versionsUnder("gen_to IS NULL AND (expires_at IS NULL OR expires_at > $2)", [contextId, nowMs], prefix);
  }

  /**
   * File versions of context $1 matching `where` (whose other parameters follow in `params`) with a key that
   * is `prefix` or lies under it, ordered by key.
   */
  private async versionsUnder(where: string, params: unknown[], prefix: string): Promise<FileRecord[]> {
    const base = `SELECT ${FILE_COLUMNS} FROM file_versions WHERE context_id = $1 AND ${where}`;
    if (prefix === "/") return (await this.db.query<FileRow>(`${base} ORDER BY key`, params)).rows.map(toFile);
    const n = params.length;
    const { rows } = await this.db.query<FileRow>(
      `${base} AND (key = $${n + 1} OR (key >= $${n + 2} AND key < $${n + 3})) ORDER BY key`,
      // Keys under P sort between "P/" and "P0" ("0" is the character after "/"; the column is COLLATE "C").
      [...params, prefix, `${prefix}/`, `${prefix}0`],
    );
    return rows.map(toFile);
  }

  async getLiveFile(contextId: string, key: string, nowMs: EpochMs): Promise<FileRecord | undefined> {
    const { rows } = await this.db.query<FileRow>(
      `SELECT ${FILE_COLUMNS} FROM file_versions WHERE context_id = $1 AND key = $2 AND gen_to IS NULL
       AND (expires_at IS NULL OR expires_at > $3)`,
      [contextId, key, nowMs],
    );
    return rows[0] ? toFile(rows[0]) : undefined;
  }

  async commitGeneration(req: CommitRequest): Promise<number> {
    return this.db.transaction(async (q) => {
      // FOR UPDATE: a concurrent committer (of any process) waits here until we end, then reads our head
      // and fails the check below, so a head is never committed twice.
      const { rows } = await q.query<{ head: number }>("SELECT head FROM contexts WHERE id = $1 FOR UPDATE", [req.contextId]);
      const head = rows[0]?.head;
      if (head === undefined) throw new ContextNotFoundError(req.contextId);
      if (head !== req.expectedHead) throw new CommitConflictError(req.contextId, 1);
      if (new Set(req.changes.map((c) => c.key)).size !== req.changes.length) {
        throw new InvalidParameterError("A commit names the same key twice; each key may change once per generation.");
      }
      if (req.base) await applyBase(q, req.base);
      if (req.changes.length === 0) return head;

      const gen = head + 1;
      // Closes the live version of every changed key in one statement, which also reports what was live.
      const previous = new Map<string, number | null>();
      for (const keys of chunks(req.changes.map((c) => c.key))) {
        const closed = await q.query<{ key: string; expires_at: string | null }>(
          `UPDATE file_versions SET gen_to = $2 WHERE context_id = $1 AND gen_to IS NULL AND key = ANY($3::text[])
           RETURNING key, expires_at`,
          [req.contextId, gen, keys],
        );
        for (const r of closed.rows) previous.set(r.key, r.expires_at === null ? null : int8(r.expires_at));
      }
      const puts = req.changes.filter((c): c is Extract<FileChange, { kind: "put" }> => c.kind === "put");
      for (const batch of chunks(puts)) await insertVersions(q, req.contextId, gen, req.timeMs, batch);

      let added = 0;
      let changed = 0;
      let removed = 0;
      for (const c of req.changes) {
        const expiresAt = previous.get(c.key);
        // An expired version counts as absent: rewriting it is an add, deleting it is no change.
        const wasLive = expiresAt !== undefined && (expiresAt === null || expiresAt > req.timeMs);
        if (c.kind === "put") {
          if (wasLive) changed++;
          else added++;
        } else if (wasLive) {
          removed++;
        }
      }
      await q.query(
        `INSERT INTO generations (${GENERATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [req.contextId, gen, req.timeMs, req.sessionId, added, changed, removed],
      );
      await q.query("UPDATE contexts SET head = $1, last_used_at = $2 WHERE id = $3", [gen, req.timeMs, req.contextId]);
      return gen;
    });
  }

  async listGenerations(contextId: string, limit: number): Promise<GenerationRecord[]> {
    const { rows } = await this.db.query<GenerationRow>(
      `SELECT ${GENERATION_COLUMNS} FROM generations WHERE context_id = $1 ORDER BY generation DESC LIMIT $2`,
      [contextId, limit],
    );
    return rows.map(toGeneration);
  }

  async getGeneration(contextId: string, generation: number): Promise<GenerationRecord | undefined> {
    const { rows } = await this.db.query<GenerationRow>(
      `SELECT ${GENERATION_COLUMNS} FROM generations WHERE context_id = $1 AND generation = $2`,
      [contextId, generation],
    );
    return rows[0] ? toGeneration(rows[0]) : undefined;
  }

  async listFilesAtGeneration(contextId: string, generation: number, prefix: string): Promise<FileRecord[]> {
    return this.versionsUnder("gen_from <= $2 AND (gen_to IS NULL OR gen_to > $2)", [contextId, generation], prefix);
  }

  async pruneHistory(contextId: string | null, cutoffMs: EpochMs): Promise<PruneResult> {
    const ids =
      contextId === null
        ? (await this.db.query<{ id: string }>("SELECT id FROM contexts ORDER BY id")).rows.map((r) => r.id)
        : [contextId];
    const total: PruneResult = { versions: 0, generations: 0 };
    // One short transaction per context: writers to other contexts are not held up behind a long prune.
    for (const id of ids) {
      const r = await this.db.transaction(async (q): Promise<PruneResult> => {
        // Newest generation before the cutoff: the head at the cutoff, kept so that state stays restorable.
        // By number, not time, so a committer's clock running behind cannot make the kept range non-contiguous.
        const kept = await q.query<{ g: number | null }>(
          "SELECT MAX(generation) AS g FROM generations WHERE context_id = $1 AND time < $2",
          [id, cutoffMs],
        );
        const g = kept.rows[0]?.g ?? null;
        if (g === null) return { versions: 0, generations: 0 };
        // A version closed at or before the kept generation shows in no kept generation (visible at G means
        // gen_from <= G < gen_to). Live versions have gen_to NULL and never match; a concurrent commit
        // closes versions at a generation above g, so it never races with this.
        const versions = rowCount(
          await q.query("DELETE FROM file_versions WHERE context_id = $1 AND gen_to IS NOT NULL AND gen_to <= $2", [id, g]),
        );
        const generations = rowCount(await q.query("DELETE FROM generations WHERE context_id = $1 AND generation < $2", [id, g]));
        return { versions, generations };
      });
      total.versions += r.versions;
      total.generations += r.generations;
    }
    return total;
  }

  async deleteExpired(nowMs: EpochMs): Promise<ExpireResult> {
    return this.db.transaction(async (q) => {
      const expired = "expires_at IS NOT NULL AND expires_at <= $1";
      const liveVersions = rowCount(await q.query(`DELETE FROM file_versions WHERE ${expired} AND gen_to IS NULL`, [nowMs]));
      const historicalVersions = rowCount(await q.query(`DELETE FROM file_versions WHERE ${expired}`, [nowMs]));
      return { liveVersions, historicalVersions };
    });
  }

  async listReferencedDigests(): Promise<Set<Digest>> {
    // Pages in digest order, all in one snapshot (REPEATABLE READ): the same answer as one query, without
    // holding every row of a large store at once.
    return this.db.transaction(async (q) => {
      const digests = new Set<Digest>();
      let after = "";
      for (;;) {
        const { rows } = await q.query<{ digest: string }>(
          "SELECT DISTINCT digest FROM file_versions WHERE digest > $1 ORDER BY digest LIMIT $2",
          [after, DIGESTS_PER_PAGE],
        );
        for (const r of rows) digests.add(r.digest);
        const last = rows[rows.length - 1];
        if (rows.length < DIGESTS_PER_PAGE || last === undefined) return digests;
        after = last.digest;
      }
    }, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  async createSession(session: SessionRecord, mounts: readonly MountRecord[], opts: { tokenHash?: string } = {}): Promise<void> {
    await this.db.transaction(async (q) => {
      await q.query(
        `INSERT INTO sessions (id, tenant_id, status, root, labels, created_at, agent, token_hash, last_heartbeat)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          session.id, session.tenantId, session.status, session.root, JSON.stringify(session.labels), session.createdAtMs,
          session.agent ?? "local", opts.tokenHash ?? null, session.lastHeartbeatMs ?? null,
        ],
      );
      // One statement per mount: a session has a handful, and a refused one must name its path.
      for (const m of mounts) await insertMount(q, m);
    });
  }

  async getSessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE token_hash = $1`, [tokenHash]);
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async recordHeartbeat(sessionId: string, nowMs: EpochMs): Promise<void> {
    await this.db.query("UPDATE sessions SET last_heartbeat = $1 WHERE id = $2", [nowMs, sessionId]);
  }

  async listStaleSessions(heartbeatCutoffMs: EpochMs, startCutoffMs: EpochMs): Promise<SessionRecord[]> {
    const { rows } = await this.db.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions WHERE agent = 'external' AND status IN ('running', 'releasing')
       AND ((last_heartbeat IS NOT NULL AND last_heartbeat < $1) OR (last_heartbeat IS NULL AND created_at < $2))
       ORDER BY id`,
      [heartbeatCutoffMs, startCutoffMs],
    );
    return rows.map(toSession);
  }

  async markSessionLost(sessionId: string, nowMs: EpochMs, errorMessage: string, silence: SilenceCutoffs): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const changed = rowCount(
        await q.query(
          `UPDATE sessions SET status = 'lost' WHERE id = $1 AND status IN ('running', 'releasing')
           AND ((last_heartbeat IS NOT NULL AND last_heartbeat < $2) OR (last_heartbeat IS NULL AND created_at < $3))`,
          [sessionId, silence.heartbeatCutoffMs, silence.startCutoffMs],
        ),
      );
      if (changed === 0) return false;
      await q.query(
        `UPDATE tasks SET status = 'Failed', finish_time = $1, error_message = $2
         WHERE session_id = $3 AND status IN ('Pending', 'Running')`,
        [nowMs, errorMessage, sessionId],
      );
      return true;
    });
  }

  async getSession(tenantId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1 AND tenant_id = $2`, [
      sessionId,
      tenantId,
    ]);
    return rows[0] ? toSession(rows[0]) : undefined;
  }

  async listSessions(tenantId: string): Promise<SessionRecord[]> {
    const { rows } = await this.db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 ORDER BY id`, [tenantId]);
    return rows.map(toSession);
  }

  async setSessionStatus(sessionId: string, status: SessionStatus): Promise<void> {
    await this.db.query("UPDATE sessions SET status = $1 WHERE id = $2", [status, sessionId]);
  }

  async addMount(mount: MountRecord): Promise<void> {
    await insertMount(this.db, mount);
  }

  async listMounts(sessionId: string): Promise<MountRecord[]> {
    const { rows } = await this.db.query<MountRow>(
      "SELECT session_id, path, context_id, policy, wait_for_completion, bind_time FROM mounts WHERE session_id = $1 ORDER BY bind_time, path",
      [sessionId],
    );
    return rows.map(toMount);
  }

  async getBase(sessionId: string, mountPath: string): Promise<Map<string, BaseEntry>> {
    const { rows } = await this.db.query<BaseRow>(
      "SELECT key, type, digest, size, mode, mtime_ms, link_target FROM bases WHERE session_id = $1 AND mount_path = $2 ORDER BY key",
      [sessionId, mountPath],
    );
    return new Map(rows.map((r) => [r.key, toBaseEntry(r)]));
  }

  async updateBase(update: BaseUpdate): Promise<void> {
    await this.db.transaction((q) => applyBase(q, update));
  }

  async createTask(t: TaskRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO tasks (${TASK_COLUMNS_SQL}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        t.id, t.sessionId, t.contextId, t.path, t.taskType, t.status, t.startTimeMs, t.finishTimeMs, t.errorMessage,
        t.filesDone, t.filesTotal, t.bytesDone, t.bytesTotal, t.createdAtMs,
      ],
    );
  }

  async updateTask(taskId: string, update: TaskUpdate): Promise<void> {
    const { sets, values } = taskSets(update, 2);
    if (sets.length === 0) return;
    await this.db.query(`UPDATE tasks SET ${sets.join(", ")} WHERE id = $1`, [taskId, ...values]);
  }

  async updateTaskIf(taskId: string, from: readonly TaskStatus[], update: TaskUpdate): Promise<boolean> {
    if (from.length === 0) return false;
    const { sets, values } = taskSets(update, 3);
    // With nothing to set, the same WHERE still answers whether the task is in one of `from`.
    if (sets.length === 0) {
      return rowCount(await this.db.query("SELECT 1 FROM tasks WHERE id = $1 AND status = ANY($2::text[])", [taskId, from])) > 0;
    }
    // One statement: the status test and the write see one row version.
    const r = await this.db.query(`UPDATE tasks SET ${sets.join(", ")} WHERE id = $1 AND status = ANY($2::text[])`, [
      taskId,
      from,
      ...values,
    ]);
    return rowCount(r) > 0;
  }

  async getTask(sessionId: string, taskId: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS_SQL} FROM tasks WHERE id = $1 AND session_id = $2`, [
      taskId,
      sessionId,
    ]);
    return rows[0] ? toTask(rows[0]) : undefined;
  }

  async claimPendingTasks(sessionId: string, nowMs: EpochMs): Promise<TaskRecord[]> {
    // FOR UPDATE: a concurrent claim waits for our locks, then re-tests `status = 'Pending'` on the rows as
    // we left them (Running) and skips them, so no task is handed out twice. Locking in one order (the
    // listing's) keeps two claims from deadlocking.
    const { rows } = await this.db.query<TaskRow>(
      `WITH claimed AS (
         UPDATE tasks SET status = 'Running', start_time = $2
         WHERE status = 'Pending' AND id IN (
           SELECT id FROM tasks WHERE session_id = $1 AND status = 'Pending' ORDER BY created_at, id FOR UPDATE
         )
         RETURNING ${TASK_COLUMNS_SQL}
       )
       SELECT * FROM claimed ORDER BY created_at, id`,
      [sessionId, nowMs],
    );
    return rows.map(toTask);
  }

  async nextAgentEpoch(sessionId: string): Promise<number> {
    const { rows } = await this.db.query<{ agent_epoch: string }>("UPDATE sessions SET agent_epoch = agent_epoch + 1 WHERE id = $1 RETURNING agent_epoch", [sessionId]);
    if (rows.length === 0) throw new SessionNotFoundError(sessionId);
    return Number(rows[0]!.agent_epoch);
  }

  async agentEpoch(sessionId: string): Promise<number | undefined> {
    const { rows } = await this.db.query<{ agent_epoch: string }>("SELECT agent_epoch FROM sessions WHERE id = $1", [sessionId]);
    return rows.length === 0 ? undefined : Number(rows[0]!.agent_epoch);
  }

  async requeueRunningTasks(sessionId: string): Promise<number> {
    return rowCount(
      await this.db.query("UPDATE tasks SET status = 'Pending', start_time = NULL WHERE session_id = $1 AND status = 'Running'", [sessionId]),
    );
  }

  async listTasks(
    sessionId: string,
    filter: { contextId?: string; path?: string; taskType?: TaskType } = {},
  ): Promise<TaskRecord[]> {
    const where = ["session_id = $1"];
    const args: unknown[] = [sessionId];
    const add = (column: string, value: string | undefined): void => {
      if (!value) return;
      args.push(value);
      where.push(`${column} = $${args.length}`);
    };
    add("context_id", filter.contextId);
    add("path", filter.path);
    add("task_type", filter.taskType);
    const { rows } = await this.db.query<TaskRow>(
      `SELECT ${TASK_COLUMNS_SQL} FROM tasks WHERE ${where.join(" AND ")} ORDER BY created_at, id`,
      args,
    );
    return rows.map(toTask);
  }

  async referencedBlobSizes(contextIds: readonly string[], digests: readonly Digest[]): Promise<Map<Digest, number[]>> {
    const found = new Map<Digest, number[]>();
    if (contextIds.length === 0) return found;
    for (const chunk of chunks([...new Set(digests)])) {
      const { rows } = await this.db.query<{ digest: string; size: string | number }>(
        "SELECT DISTINCT digest, size FROM file_versions WHERE digest = ANY($1::text[]) AND context_id = ANY($2::text[])",
        [chunk, contextIds],
      );
      for (const r of rows) found.set(r.digest, [...(found.get(r.digest) ?? []), Number(r.size)]);
    }
    return found;
  }

  /** The digests among `digests` that `sql` (its $1 the digest array, then `params`) returns, with their size_bytes, asked in chunks. */
  private async sizesFound(sql: string, digests: readonly Digest[], params: readonly unknown[]): Promise<Map<Digest, number | null>> {
    const found = new Map<Digest, number | null>();
    for (const chunk of chunks([...new Set(digests)])) {
      const { rows } = await this.db.query<{ digest: string; size_bytes: string | number | null }>(sql, [chunk, ...params]);
      for (const r of rows) found.set(r.digest, r.size_bytes === null ? null : Number(r.size_bytes));
    }
    return found;
  }

  async recordUploads(sessionId: string, blobs: readonly SizedDigest[], atMs: EpochMs): Promise<void> {
    // One size per digest (a digest names one content); the last record of a repeated digest wins.
    const sizeOf = new Map(blobs.map((b) => [b.digest, b.sizeBytes]));
    for (const chunk of chunks([...sizeOf.keys()])) {
      await this.db.query(
        `INSERT INTO session_uploads (session_id, digest, at_ms, size_bytes)
         SELECT $1::text, d, $3::bigint, s FROM unnest($2::text[], $4::bigint[]) AS u(d, s)
         ON CONFLICT (session_id, digest) DO UPDATE SET at_ms = EXCLUDED.at_ms, size_bytes = EXCLUDED.size_bytes`,
        [sessionId, chunk, atMs, chunk.map((d) => sizeOf.get(d)!)],
      );
    }
  }

  async uploadedBlobSizes(sessionId: string, digests: readonly Digest[]): Promise<Map<Digest, number | null>> {
    return this.sizesFound("SELECT digest, size_bytes FROM session_uploads WHERE digest = ANY($1::text[]) AND session_id = $2", digests, [sessionId]);
  }

  async forgetUploads(sessionId: string, digests: readonly Digest[]): Promise<void> {
    for (const chunk of chunks([...new Set(digests)])) {
      await this.db.query("DELETE FROM session_uploads WHERE session_id = $1 AND digest = ANY($2::text[])", [sessionId, chunk]);
    }
  }

  withCollectionLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.withAdvisoryLock(this.collectionLockKey, fn);
  }

  async deletionWatermark(): Promise<number> {
    // An identity column: a later mark's number is above every number given before it, pruned or not,
    // also one not yet committed when this is read (sequence values are taken in order).
    const { rows } = await this.db.query<{ w: string | null }>("SELECT MAX(change) AS w FROM blob_deletion_marks");
    return Number(rows[0]?.w ?? 0);
  }

  async blobsMarkedSince(watermark: number, digests: readonly Digest[]): Promise<Set<Digest>> {
    return this.digestsFound(
      `SELECT DISTINCT digest FROM blob_deletion_marks m WHERE digest = ANY($1::text[]) AND (change > $2 OR (${LATEST_IS_DELETING}))`,
      digests,
      [watermark],
    );
  }

  async blobsBeingDeleted(digests: readonly Digest[]): Promise<Set<Digest>> {
    return this.digestsFound(`SELECT DISTINCT digest FROM blob_deletion_marks m WHERE digest = ANY($1::text[]) AND ${LATEST_IS_DELETING}`, digests, []);
  }

  async markBlobDeletion(digest: Digest, state: BlobDeletionState, atMs: EpochMs): Promise<void> {
    await this.db.transaction((q) => addDeletionMark(q, digest, state, atMs));
  }

  async settleBlobDeletions(atMs: EpochMs, staleBeforeMs: EpochMs, cutoffMs: EpochMs): Promise<number> {
    return this.db.transaction(async (q) => {
      const { rows } = await q.query<{ digest: string }>(`SELECT digest FROM blob_deletion_marks m WHERE ${LATEST_IS_DELETING} AND m.at_ms < $1`, [staleBeforeMs]);
      for (const { digest } of rows) await addDeletionMark(q, digest, "deleted", atMs);
      await q.query("DELETE FROM blob_deletion_marks WHERE at_ms < $1 AND state <> 'deleting'", [cutoffMs]);
      return rows.length;
    });
  }

  /** The digests among `digests` that `sql` (its $1 the digest array, then `params`) returns, asked in chunks. */
  private async digestsFound(sql: string, digests: readonly Digest[], params: readonly unknown[]): Promise<Set<Digest>> {
    const found = new Set<Digest>();
    for (const chunk of chunks([...new Set(digests)])) {
      const { rows } = await this.db.query<{ digest: string }>(sql, [chunk, ...params]);
      for (const r of rows) found.add(r.digest);
    }
    return found;
  }

  async forgetUploadsBefore(cutoffMs: EpochMs): Promise<number> {
    const { rowCount } = await this.db.query("DELETE FROM session_uploads WHERE at_ms < $1", [cutoffMs]);
    return rowCount ?? 0;
  }

  async createApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<void> {
    await this.db.query(
      "INSERT INTO api_keys (id, tenant_id, hash, is_admin, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
      [key.id, key.tenantId, key.hash, key.isAdmin, key.createdAtMs, key.revokedAtMs],
    );
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.db.query<ApiKeyRow>(`${API_KEY_SELECT} WHERE k.hash = $1`, [hash]);
    return rows[0] ? toApiKey(rows[0]) : undefined;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.db.query<ApiKeyRow>(`${API_KEY_SELECT} ORDER BY k.created_at, k.id`);
    return rows.map(toApiKey);
  }

  async revokeApiKey(keyId: string, nowMs: EpochMs): Promise<boolean> {
    // COALESCE keeps the first revocation time; the row count says whether the key exists.
    const r = await this.db.query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", [keyId, nowMs]);
    return rowCount(r) > 0;
  }

  async createFirstApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<boolean> {
    if ((await this.countApiKeys()) > 0) return false; // every start but the first: no lock
    return this.db.transaction(async (q) => {
      // EXCLUSIVE blocks other writers of the table (readers go on) until commit, so a second server
      // starting at the same moment waits here and then counts our key.
      await q.query("LOCK TABLE api_keys IN EXCLUSIVE MODE");
      if (int8((await q.query<{ n: string }>("SELECT COUNT(*) AS n FROM api_keys")).rows[0]!.n) > 0) return false;
      await q.query(
        "INSERT INTO api_keys (id, tenant_id, hash, is_admin, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [key.id, key.tenantId, key.hash, key.isAdmin, key.createdAtMs, key.revokedAtMs],
      );
      return true;
    });
  }

  async countApiKeys(): Promise<number> {
    return int8((await this.db.query<{ n: string }>("SELECT COUNT(*) AS n FROM api_keys")).rows[0]!.n);
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}

async function insertMount(q: Queryable, m: MountRecord): Promise<void> {
  try {
    await q.query(
      "INSERT INTO mounts (session_id, path, context_id, policy, wait_for_completion, bind_time) VALUES ($1, $2, $3, $4, $5, $6)",
      [m.sessionId, m.path, m.contextId, m.policyJson, m.waitForCompletion, m.bindTimeMs],
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw new PathAlreadyBoundError(m.path);
    throw err;
  }
}

function rowCount(r: { rowCount: number | null }): number {
  return r.rowCount ?? 0;
}

/** SET clauses (`column = $n`, numbered from $first) and values of a task update. */
function taskSets(update: TaskUpdate, first: number): { sets: string[]; values: unknown[] } {
  const { columns, values } = taskUpdateColumns(update);
  return { sets: columns.map((c, i) => `${c} = $${first + i}`), values };
}

/** A 32-bit advisory lock key for `name` (FNV-1a): the same on every server that opens the same schema. */
function advisoryKeyOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * A new mark, and the digest's older ones go: only its latest counts (its change number is the highest),
 * so the `deleting` marks stay as few as the deletions running. Two marks of one digest made at once may
 * both stay; readers take the latest.
 */
async function addDeletionMark(q: Queryable, digest: Digest, state: BlobDeletionState, atMs: EpochMs): Promise<void> {
  const { rows } = await q.query<{ change: string }>("INSERT INTO blob_deletion_marks (digest, state, at_ms) VALUES ($1, $2, $3) RETURNING change", [
    digest,
    state,
    atMs,
  ]);
  await q.query("DELETE FROM blob_deletion_marks WHERE digest = $1 AND change < $2", [digest, rows[0]!.change]);
}
