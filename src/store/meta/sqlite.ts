import Database from "better-sqlite3";
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
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import {
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
} from "./sqlite-rows.js";
import { API_KEY_SELECT, decodePageToken, encodePageToken, FILE_COLUMNS, LATEST_IS_DELETING, taskUpdateColumns } from "./sql-shared.js";

/** Digests per referencedBlobSizes statement (a power of two, see there). */
const REFERENCED_CHUNK = 512;
/** Statements kept prepared at most (see stmt). */
const MAX_CACHED_STATEMENTS = 256;

/**
 * MetaStore on one SQLite file (better-sqlite3, WAL). Calls are synchronous underneath and short: no
 * transaction ever spans I/O outside the database, so writers from several processes queue on SQLite's
 * lock for milliseconds at most (busy_timeout covers the wait).
 */
export class SqliteMetaStore implements MetaStore {
  /** Prepared statements by SQL text: preparing costs more than running most of our queries. */
  private readonly statements = new Map<string, Database.Statement>();

  /** The collection running in this process, if any (withCollectionLock). */
  private collection: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: Database.Database) {}

  /**
   * The prepared statement for `sql`, prepared once. Not for pluck/raw/iterate: those change or hold
   * the statement, so such callers prepare their own.
   */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      // SQL built with a variable number of placeholders could grow this without end; a full cache starts over.
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Opens (creating and migrating if needed) the database at `file`; ":memory:" works for tests. */
  static open(file: string): SqliteMetaStore {
    const db = new Database(file);
    try {
      db.pragma("busy_timeout = 10000");
      checkSchemaVersion(db); // before WAL: never change a database we then refuse
      db.pragma("journal_mode = WAL");
      // NORMAL with WAL: a commit survives a process crash; only an OS crash may lose the last commits,
      // never corrupt the database.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      migrate(db);
      return new SqliteMetaStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async ensureTenant(name: string): Promise<string> {
    const found = this.stmt("SELECT id FROM tenants WHERE name = ?").get(name) as { id: string } | undefined;
    if (found) return found.id;
    const id = newId("tnt");
    this.stmt("INSERT INTO tenants (id, name) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(id, name);
    return (this.stmt("SELECT id FROM tenants WHERE name = ?").get(name) as { id: string }).id;
  }

  async createContext(tenantId: string, name: string, nowMs: EpochMs): Promise<ContextRecord> {
    const id = newId("ctx", nowMs);
    try {
      this
        .stmt("INSERT INTO contexts (id, tenant_id, name, created_at, last_used_at) VALUES (?, ?, ?, ?, ?)")
        .run(id, tenantId, name, nowMs, nowMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ContextNameConflictError(name);
      throw err;
    }
    return { id, tenantId, name, createdAtMs: nowMs, lastUsedAtMs: nowMs, state: "available", headGeneration: 0 };
  }

  async getContext(tenantId: string, contextId: string): Promise<ContextRecord | undefined> {
    const row = this.stmt("SELECT * FROM contexts WHERE id = ? AND tenant_id = ?").get(contextId, tenantId);
    return row ? toContext(row as ContextRow) : undefined;
  }

  async getContextByName(tenantId: string, name: string): Promise<ContextRecord | undefined> {
    const row = this.stmt("SELECT * FROM contexts WHERE name = ? AND tenant_id = ?").get(name, tenantId);
    return row ? toContext(row as ContextRow) : undefined;
  }

  async listContexts(tenantId: string, opts: { limit: number; nextToken?: string }): Promise<Page<ContextRecord>> {
    const after = opts.nextToken ? decodePageToken(opts.nextToken) : "";
    const rows = this
      .stmt("SELECT * FROM contexts WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?")
      .all(tenantId, after, opts.limit + 1) as ContextRow[];
    const totalCount = (
      this.stmt("SELECT COUNT(*) AS n FROM contexts WHERE tenant_id = ?").get(tenantId) as { n: number }
    ).n;
    const hasMore = rows.length > opts.limit;
    const items = rows.slice(0, opts.limit).map(toContext);
    const last = items[items.length - 1];
    return { items, nextToken: hasMore && last ? encodePageToken(last.id) : undefined, totalCount };
  }

  async renameContext(tenantId: string, contextId: string, name: string): Promise<void> {
    let changes: number;
    try {
      changes = this
        .stmt("UPDATE contexts SET name = ? WHERE id = ? AND tenant_id = ?")
        .run(name, contextId, tenantId).changes;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ContextNameConflictError(name);
      throw err;
    }
    if (changes === 0) throw new ContextNotFoundError(contextId);
  }

  async deleteContext(tenantId: string, contextId: string): Promise<boolean> {
    return this.stmt("DELETE FROM contexts WHERE id = ? AND tenant_id = ?").run(contextId, tenantId).changes > 0;
  }

  async touchContext(contextId: string, nowMs: EpochMs): Promise<void> {
    this.stmt("UPDATE contexts SET last_used_at = ? WHERE id = ?").run(nowMs, contextId);
  }

  async setContextState(contextId: string, state: ContextState, from?: readonly ContextState[]): Promise<boolean> {
    if (from === undefined) {
      return this.stmt("UPDATE contexts SET state = ? WHERE id = ?").run(state, contextId).changes > 0;
    }
    if (from.length === 0) return false;
    const marks = from.map(() => "?").join(", ");
    return (
      this.stmt(`UPDATE contexts SET state = ? WHERE id = ? AND state IN (${marks})`).run(state, contextId, ...from).changes > 0
    );
  }

  async contextsInUse(contextIds: readonly string[]): Promise<Set<string>> {
    if (contextIds.length === 0) return new Set();
    const rows = this.stmt(
      "SELECT DISTINCT m.context_id AS id FROM mounts m JOIN sessions s ON s.id = m.session_id " +
        "WHERE m.context_id IN (SELECT value FROM json_each(?)) AND s.status IN ('running', 'releasing')",
    ).all(JSON.stringify(contextIds)) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  async listContextsInState(state: ContextState): Promise<ContextRecord[]> {
    const rows = this.stmt("SELECT * FROM contexts WHERE state = ? ORDER BY id").all(state) as ContextRow[];
    return rows.map(toContext);
  }

  async listLiveFiles(contextId: string, prefix: string, nowMs: EpochMs): Promise<FileRecord[]> {
    return this.versionsUnder("gen_to IS NULL AND (expires_at IS NULL OR expires_at > @now)", { c: contextId, now: nowMs }, prefix);
  }

  /** File versions of context @c matching `where` whose key is `prefix` or lies under it, ordered by key. */
  private versionsUnder(where: string, params: Record<string, unknown>, prefix: string): FileRecord[] {
    const rows =
      prefix === "/"
        ? this.stmt(`SELECT ${FILE_COLUMNS} FROM file_versions WHERE context_id = @c AND ${where} ORDER BY key`).all(params)
        : this
            .stmt(
              `SELECT ${FILE_COLUMNS} FROM file_versions WHERE context_id = @c AND ${where}
               AND (key = @p OR (key >= @lo AND key < @hi)) ORDER BY key`,
            )
            // Keys under P sort between "P/" and "P0" ("0" is the character after "/").
            .all({ ...params, p: prefix, lo: `${prefix}/`, hi: `${prefix}0` });
    return (rows as FileRow[]).map(toFile);
  }

  async getLiveFile(contextId: string, key: string, nowMs: EpochMs): Promise<FileRecord | undefined> {
    const row = this
      .stmt(
        `SELECT ${FILE_COLUMNS} FROM file_versions WHERE context_id = ? AND key = ? AND gen_to IS NULL
         AND (expires_at IS NULL OR expires_at > ?)`,
      )
      .get(contextId, key, nowMs);
    return row ? toFile(row as FileRow) : undefined;
  }

  async commitGeneration(req: CommitRequest): Promise<number> {
    const run = this.db.transaction((r: CommitRequest): number => {
      const ctx = this.stmt("SELECT head FROM contexts WHERE id = ?").get(r.contextId) as
        | { head: number }
        | undefined;
      if (!ctx) throw new ContextNotFoundError(r.contextId);
      if (ctx.head !== r.expectedHead) throw new CommitConflictError(r.contextId, 1);
      if (new Set(r.changes.map((c) => c.key)).size !== r.changes.length) {
        throw new InvalidParameterError("A commit names the same key twice; each key may change once per generation.");
      }
      if (r.base) this.applyBase(r.base);
      if (r.changes.length === 0) return ctx.head;

      const gen = ctx.head + 1;
      const findLive = this.stmt(
        "SELECT expires_at FROM file_versions WHERE context_id = ? AND key = ? AND gen_to IS NULL",
      );
      const close = this.stmt(
        "UPDATE file_versions SET gen_to = ? WHERE context_id = ? AND key = ? AND gen_to IS NULL",
      );
      const insert = this.stmt(
        `INSERT INTO file_versions (context_id, key, gen_from, type, digest, size, mode, mtime_ms, link_target, written_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      let added = 0;
      let changed = 0;
      let removed = 0;
      for (const c of r.changes) {
        const prev = findLive.get(r.contextId, c.key) as { expires_at: number | null } | undefined;
        // An expired version counts as absent: rewriting it is an add, deleting it is no change.
        const wasLive = prev !== undefined && (prev.expires_at === null || prev.expires_at > r.timeMs);
        if (prev) close.run(gen, r.contextId, c.key);
        if (c.kind === "put") {
          const m = c.meta;
          insert.run(r.contextId, c.key, gen, m.type, m.digest, m.sizeBytes, m.mode, m.mtimeMs, m.linkTarget, r.timeMs, c.expiresAtMs);
          if (wasLive) changed++;
          else added++;
        } else if (wasLive) {
          removed++;
        }
      }
      this
        .stmt("INSERT INTO generations (context_id, generation, time, session_id, added, changed, removed) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(r.contextId, gen, r.timeMs, r.sessionId, added, changed, removed);
      this.stmt("UPDATE contexts SET head = ?, last_used_at = ? WHERE id = ?").run(gen, r.timeMs, r.contextId);
      return gen;
    });
    // IMMEDIATE takes the write lock up front, so the head check and the writes see one state.
    return run.immediate(req);
  }

  async listGenerations(contextId: string, limit: number): Promise<GenerationRecord[]> {
    const rows = this
      .stmt("SELECT * FROM generations WHERE context_id = ? ORDER BY generation DESC LIMIT ?")
      .all(contextId, limit) as GenerationRow[];
    return rows.map(toGeneration);
  }

  async getGeneration(contextId: string, generation: number): Promise<GenerationRecord | undefined> {
    const row = this
      .stmt("SELECT * FROM generations WHERE context_id = ? AND generation = ?")
      .get(contextId, generation) as GenerationRow | undefined;
    return row ? toGeneration(row) : undefined;
  }

  async listFilesAtGeneration(contextId: string, generation: number, prefix: string): Promise<FileRecord[]> {
    return this.versionsUnder("gen_from <= @g AND (gen_to IS NULL OR gen_to > @g)", { c: contextId, g: generation }, prefix);
  }


  async pruneHistory(contextId: string | null, cutoffMs: EpochMs): Promise<PruneResult> {
    const ids =
      contextId === null
        ? (this.stmt("SELECT id FROM contexts ORDER BY id").all() as { id: string }[]).map((r) => r.id)
        : [contextId];
    // Newest generation before the cutoff: the head at the cutoff, kept so that state stays restorable.
    // By number, not time, so a committer's clock running behind cannot make the kept range non-contiguous.
    const keptFrom = this.stmt("SELECT MAX(generation) AS g FROM generations WHERE context_id = ? AND time < ?");
    // A version closed at or before the kept generation shows in no kept generation (visible at G means
    // gen_from <= G < gen_to). Live versions have gen_to NULL and never match.
    const dropVersions = this.stmt("DELETE FROM file_versions WHERE context_id = ? AND gen_to IS NOT NULL AND gen_to <= ?");
    const dropGenerations = this.stmt("DELETE FROM generations WHERE context_id = ? AND generation < ?");
    const pruneOne = this.db.transaction((id: string): PruneResult => {
      const g = (keptFrom.get(id, cutoffMs) as { g: number | null }).g;
      if (g === null) return { versions: 0, generations: 0 };
      return { versions: dropVersions.run(id, g).changes, generations: dropGenerations.run(id, g).changes };
    });
    const total: PruneResult = { versions: 0, generations: 0 };
    // One short transaction per context: writers to other contexts are not held up behind a long prune.
    for (const id of ids) {
      const r = pruneOne.immediate(id);
      total.versions += r.versions;
      total.generations += r.generations;
    }
    return total;
  }

  async deleteExpired(nowMs: EpochMs): Promise<ExpireResult> {
    const run = this.db.transaction((now: number): ExpireResult => {
      const expired = "expires_at IS NOT NULL AND expires_at <= ?";
      const liveVersions = this.stmt(`DELETE FROM file_versions WHERE ${expired} AND gen_to IS NULL`).run(now).changes;
      const historicalVersions = this.stmt(`DELETE FROM file_versions WHERE ${expired}`).run(now).changes;
      return { liveVersions, historicalVersions };
    });
    return run.immediate(nowMs);
  }

  async listReferencedDigests(): Promise<Set<Digest>> {
    const digests = new Set<Digest>();
    // iterate(), not all(): one row at a time, so only the Set grows with the store.
    const rows = this.db.prepare("SELECT DISTINCT digest FROM file_versions WHERE digest IS NOT NULL").pluck().iterate();
    for (const d of rows) digests.add(d as Digest);
    return digests;
  }

  async createSession(session: SessionRecord, mounts: readonly MountRecord[], opts: { tokenHash?: string } = {}): Promise<void> {
    this.db.transaction(() => {
      this
        .stmt(
          `INSERT INTO sessions (id, tenant_id, status, root, labels, created_at, agent, token_hash, last_heartbeat)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          session.id, session.tenantId, session.status, session.root, JSON.stringify(session.labels), session.createdAtMs,
          session.agent ?? "local", opts.tokenHash ?? null, session.lastHeartbeatMs ?? null,
        );
      for (const m of mounts) this.insertMount(m);
    })();
  }

  async getSessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
    const row = this.stmt("SELECT * FROM sessions WHERE token_hash = ?").get(tokenHash);
    return row ? toSession(row as SessionRow) : undefined;
  }

  async recordHeartbeat(sessionId: string, nowMs: EpochMs): Promise<void> {
    this.stmt("UPDATE sessions SET last_heartbeat = ? WHERE id = ?").run(nowMs, sessionId);
  }

  async listStaleSessions(heartbeatCutoffMs: EpochMs, startCutoffMs: EpochMs): Promise<SessionRecord[]> {
    const rows = this
      .stmt(
        `SELECT * FROM sessions WHERE agent = 'external' AND status IN ('running', 'releasing')
         AND ((last_heartbeat IS NOT NULL AND last_heartbeat < ?) OR (last_heartbeat IS NULL AND created_at < ?))
         ORDER BY id`,
      )
      .all(heartbeatCutoffMs, startCutoffMs) as SessionRow[];
    return rows.map(toSession);
  }

  async markSessionLost(sessionId: string, nowMs: EpochMs, errorMessage: string, silence: SilenceCutoffs): Promise<boolean> {
    const run = this.db.transaction((): boolean => {
      const changed = this
        .stmt(
          `UPDATE sessions SET status = 'lost' WHERE id = ? AND status IN ('running', 'releasing')
           AND ((last_heartbeat IS NOT NULL AND last_heartbeat < ?) OR (last_heartbeat IS NULL AND created_at < ?))`,
        )
        .run(sessionId, silence.heartbeatCutoffMs, silence.startCutoffMs).changes;
      if (changed === 0) return false;
      this
        .stmt(
          `UPDATE tasks SET status = 'Failed', finish_time = ?, error_message = ?
           WHERE session_id = ? AND status IN ('Pending', 'Running')`,
        )
        .run(nowMs, errorMessage, sessionId);
      return true;
    });
    return run.immediate();
  }

  async getSession(tenantId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const row = this.stmt("SELECT * FROM sessions WHERE id = ? AND tenant_id = ?").get(sessionId, tenantId);
    return row ? toSession(row as SessionRow) : undefined;
  }

  async listSessions(tenantId: string): Promise<SessionRecord[]> {
    const rows = this.stmt("SELECT * FROM sessions WHERE tenant_id = ? ORDER BY id").all(tenantId) as SessionRow[];
    return rows.map(toSession);
  }

  async setSessionStatus(sessionId: string, status: SessionStatus): Promise<void> {
    this.stmt("UPDATE sessions SET status = ? WHERE id = ?").run(status, sessionId);
  }

  async addMount(mount: MountRecord): Promise<void> {
    this.insertMount(mount);
  }

  private insertMount(m: MountRecord): void {
    try {
      this
        .stmt(
          "INSERT INTO mounts (session_id, path, context_id, policy, wait_for_completion, bind_time) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(m.sessionId, m.path, m.contextId, m.policyJson, m.waitForCompletion ? 1 : 0, m.bindTimeMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new PathAlreadyBoundError(m.path);
      throw err;
    }
  }

  async listMounts(sessionId: string): Promise<MountRecord[]> {
    const rows = this.stmt("SELECT * FROM mounts WHERE session_id = ? ORDER BY bind_time, path").all(sessionId) as MountRow[];
    return rows.map(toMount);
  }

  async getBase(sessionId: string, mountPath: string): Promise<Map<string, BaseEntry>> {
    const rows = this
      .stmt("SELECT key, type, digest, size, mode, mtime_ms, link_target FROM bases WHERE session_id = ? AND mount_path = ?")
      .all(sessionId, mountPath) as BaseRow[];
    const base = new Map<string, BaseEntry>();
    for (const r of rows) base.set(r.key, toBaseEntry(r));
    return base;
  }

  async updateBase(update: BaseUpdate): Promise<void> {
    this.db.transaction(() => this.applyBase(update))();
  }

  private applyBase(u: BaseUpdate): void {
    const del = this.stmt("DELETE FROM bases WHERE session_id = ? AND mount_path = ? AND key = ?");
    for (const key of u.deletes) del.run(u.sessionId, u.mountPath, key);
    const upsert = this.stmt(
      `INSERT OR REPLACE INTO bases (session_id, mount_path, key, type, digest, size, mode, mtime_ms, link_target)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of u.upserts) {
      upsert.run(u.sessionId, u.mountPath, e.key, e.type, e.digest, e.sizeBytes, e.mode, e.mtimeMs, e.linkTarget);
    }
  }

  async createTask(t: TaskRecord): Promise<void> {
    this
      .stmt(
        `INSERT INTO tasks (id, session_id, context_id, path, task_type, status, start_time, finish_time, error_message,
           files_done, files_total, bytes_done, bytes_total, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.id, t.sessionId, t.contextId, t.path, t.taskType, t.status, t.startTimeMs, t.finishTimeMs, t.errorMessage,
        t.filesDone, t.filesTotal, t.bytesDone, t.bytesTotal, t.createdAtMs,
      );
  }

  async updateTask(taskId: string, update: TaskUpdate): Promise<void> {
    const { sets, values } = taskSets(update);
    if (sets.length === 0) return;
    this.stmt(`UPDATE tasks SET ${sets.join(", ")} WHERE id = ?`).run(...values, taskId);
  }

  async updateTaskIf(taskId: string, from: readonly TaskStatus[], update: TaskUpdate): Promise<boolean> {
    if (from.length === 0) return false;
    const { sets, values } = taskSets(update);
    const marks = from.map(() => "?").join(", ");
    // With nothing to set, the same WHERE still answers whether the task is in one of `from`.
    const sql =
      sets.length === 0
        ? `SELECT 1 FROM tasks WHERE id = ? AND status IN (${marks})`
        : `UPDATE tasks SET ${sets.join(", ")} WHERE id = ? AND status IN (${marks})`;
    if (sets.length === 0) return this.stmt(sql).get(taskId, ...from) !== undefined;
    return this.stmt(sql).run(...values, taskId, ...from).changes > 0;
  }

  async getTask(sessionId: string, taskId: string): Promise<TaskRecord | undefined> {
    const row = this.stmt("SELECT * FROM tasks WHERE id = ? AND session_id = ?").get(taskId, sessionId);
    return row ? toTask(row as TaskRow) : undefined;
  }

  async claimPendingTasks(sessionId: string, nowMs: EpochMs): Promise<TaskRecord[]> {
    const run = this.db.transaction((): TaskRecord[] => {
      const rows = this
        .stmt("SELECT * FROM tasks WHERE session_id = ? AND status = 'Pending' ORDER BY created_at, id")
        .all(sessionId) as TaskRow[];
      if (rows.length === 0) return [];
      const claim = this.stmt("UPDATE tasks SET status = 'Running', start_time = ? WHERE id = ?");
      for (const r of rows) claim.run(nowMs, r.id);
      return rows.map((r) => ({ ...toTask(r), status: "Running" as const, startTimeMs: nowMs }));
    });
    // IMMEDIATE: the read and the update see one state, so two claims never hand out one task twice.
    return run.immediate();
  }

  async nextAgentEpoch(sessionId: string): Promise<number> {
    const row = this.stmt("UPDATE sessions SET agent_epoch = agent_epoch + 1 WHERE id = ? RETURNING agent_epoch").get(sessionId) as { agent_epoch: number } | undefined;
    if (!row) throw new SessionNotFoundError(sessionId);
    return row.agent_epoch;
  }

  async agentEpoch(sessionId: string): Promise<number | undefined> {
    const row = this.stmt("SELECT agent_epoch FROM sessions WHERE id = ?").get(sessionId) as { agent_epoch: number } | undefined;
    return row?.agent_epoch;
  }

  async requeueRunningTasks(sessionId: string): Promise<number> {
    return this.stmt("UPDATE tasks SET status = 'Pending', start_time = NULL WHERE session_id = ? AND status = 'Running'").run(sessionId).changes;
  }

  async listTasks(
    sessionId: string,
    filter: { contextId?: string; path?: string; taskType?: TaskType } = {},
  ): Promise<TaskRecord[]> {
    const where = ["session_id = ?"];
    const args: unknown[] = [sessionId];
    if (filter.contextId) {
      where.push("context_id = ?");
      args.push(filter.contextId);
    }
    if (filter.path) {
      where.push("path = ?");
      args.push(filter.path);
    }
    if (filter.taskType) {
      where.push("task_type = ?");
      args.push(filter.taskType);
    }
    const rows = this
      .stmt(`SELECT * FROM tasks WHERE ${where.join(" AND ")} ORDER BY created_at, id`)
      .all(...args) as TaskRow[];
    return rows.map(toTask);
  }

  async referencedBlobSizes(contextIds: readonly string[], digests: readonly Digest[]): Promise<Map<Digest, number[]>> {
    const found = new Map<Digest, number[]>();
    if (contextIds.length === 0) return found;
    const contextMarks = contextIds.map(() => "?").join(", ");
    // Chunks keep the statement under SQLite's bound-parameter limit; padding each to a power of two
    // (repeating a digest changes nothing) keeps the statement texts, and so the cache, to a few.
    for (let i = 0; i < digests.length; i += REFERENCED_CHUNK) {
      const chunk = digests.slice(i, i + REFERENCED_CHUNK);
      let width = 8;
      while (width < chunk.length) width *= 2;
      while (chunk.length < width) chunk.push(chunk[0]!);
      const marks = chunk.map(() => "?").join(", ");
      const rows = this
        // `+context_id`: without it SQLite walks the context's whole index instead of probing each digest.
        .stmt(`SELECT DISTINCT digest, size FROM file_versions WHERE digest IN (${marks}) AND +context_id IN (${contextMarks})`)
        .all(...chunk, ...contextIds) as { digest: Digest; size: number }[];
      for (const r of rows) {
        const sizes = found.get(r.digest) ?? [];
        if (!sizes.includes(r.size)) sizes.push(r.size);
        found.set(r.digest, sizes);
      }
    }
    return found;
  }

  async recordUploads(sessionId: string, blobs: readonly SizedDigest[], atMs: EpochMs): Promise<void> {
    if (blobs.length === 0) return;
    // One statement for the lot: a call per blob cost more than the inserts themselves. Rows go in the
    // order given, so a digest sent twice keeps its last size, as one INSERT OR REPLACE per blob did.
    this
      .stmt(
        "INSERT OR REPLACE INTO session_uploads (session_id, digest, at_ms, size_bytes) " +
          "SELECT ?, json_extract(value, '$[0]'), ?, json_extract(value, '$[1]') FROM json_each(?) ORDER BY key",
      )
      .run(sessionId, atMs, JSON.stringify(blobs.map((b) => [b.digest, b.sizeBytes])));
  }

  async uploadedBlobSizes(sessionId: string, digests: readonly Digest[]): Promise<Map<Digest, number | null>> {
    const found = new Map<Digest, number | null>();
    // One statement for the lot (a primary-key probe per digest inside SQLite): a call per digest cost
    // a tenth of a second for a 10,000-file commit.
    const rows = this
      // IN (subquery), not a join: with no statistics SQLite put json_each inside the loop, O(n × m).
      .stmt("SELECT digest, size_bytes FROM session_uploads WHERE session_id = ? AND digest IN (SELECT value FROM json_each(?))")
      .all(sessionId, JSON.stringify(digests)) as { digest: Digest; size_bytes: number | null }[];
    for (const r of rows) found.set(r.digest, r.size_bytes);
    return found;
  }

  async forgetUploads(sessionId: string, digests: readonly Digest[]): Promise<void> {
    this.stmt("DELETE FROM session_uploads WHERE session_id = ? AND digest IN (SELECT value FROM json_each(?))").run(sessionId, JSON.stringify(digests));
  }

  /** In this process only: one SQLite store is one server's (a shared bucket needs a shared database). */
  withCollectionLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.collection.then(fn, fn);
    this.collection = run.catch(() => undefined);
    return run;
  }

  async deletionWatermark(): Promise<number> {
    // AUTOINCREMENT never gives a number twice, so a later mark is above this even once rows are pruned.
    const row = this.stmt("SELECT seq FROM sqlite_sequence WHERE name = 'blob_deletion_marks'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async blobsMarkedSince(watermark: number, digests: readonly Digest[]): Promise<Set<Digest>> {
    const found = new Set<Digest>();
    if ((await this.deletionWatermark()) <= watermark && !this.anyBeingDeleted()) return found; // the usual case: one query
    const one = this.stmt(`SELECT 1 FROM blob_deletion_marks m WHERE digest = ? AND (change > ? OR (${LATEST_IS_DELETING})) LIMIT 1`);
    for (const d of new Set(digests)) if (one.get(d, watermark) !== undefined) found.add(d);
    return found;
  }

  async blobsBeingDeleted(digests: readonly Digest[]): Promise<Set<Digest>> {
    const found = new Set<Digest>();
    if (!this.anyBeingDeleted()) return found;
    const one = this.stmt(`SELECT 1 FROM blob_deletion_marks m WHERE digest = ? AND ${LATEST_IS_DELETING} LIMIT 1`);
    for (const d of new Set(digests)) if (one.get(d) !== undefined) found.add(d);
    return found;
  }

  async markBlobDeletion(digest: Digest, state: BlobDeletionState, atMs: EpochMs): Promise<void> {
    this.db.transaction(() => this.addDeletionMark(digest, state, atMs))();
  }

  async settleBlobDeletions(atMs: EpochMs, staleBeforeMs: EpochMs, cutoffMs: EpochMs): Promise<number> {
    return this.db.transaction(() => {
      const stale = this.stmt(`SELECT digest FROM blob_deletion_marks m WHERE ${LATEST_IS_DELETING} AND m.at_ms < ?`).all(staleBeforeMs) as { digest: Digest }[];
      for (const { digest } of stale) this.addDeletionMark(digest, "deleted", atMs);
      this.stmt("DELETE FROM blob_deletion_marks WHERE at_ms < ? AND state <> 'deleting'").run(cutoffMs);
      return stale.length;
    })();
  }

  /**
   * A new mark, and the digest's older ones go: only its latest counts (its change number is the highest),
   * so the `deleting` marks stay as few as the deletions running. Inside a transaction.
   */
  private addDeletionMark(digest: Digest, state: BlobDeletionState, atMs: EpochMs): void {
    const { lastInsertRowid } = this.stmt("INSERT INTO blob_deletion_marks (digest, state, at_ms) VALUES (?, ?, ?)").run(digest, state, atMs);
    this.stmt("DELETE FROM blob_deletion_marks WHERE digest = ? AND change < ?").run(digest, lastInsertRowid);
  }

  /** Whether any blob's latest mark is `deleting`. */
  private anyBeingDeleted(): boolean {
    return this.stmt(`SELECT 1 FROM blob_deletion_marks m WHERE ${LATEST_IS_DELETING} LIMIT 1`).get() !== undefined;
  }

  async forgetUploadsBefore(cutoffMs: EpochMs): Promise<number> {
    return this.stmt("DELETE FROM session_uploads WHERE at_ms < ?").run(cutoffMs).changes;
  }

  async createApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<void> {
    this
      .stmt("INSERT INTO api_keys (id, tenant_id, hash, is_admin, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(key.id, key.tenantId, key.hash, key.isAdmin ? 1 : 0, key.createdAtMs, key.revokedAtMs);
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.stmt(`${API_KEY_SELECT} WHERE k.hash = ?`).get(hash) as ApiKeyRow | undefined;
    return row ? toApiKey(row) : undefined;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = this.stmt(`${API_KEY_SELECT} ORDER BY k.created_at, k.id`).all() as ApiKeyRow[];
    return rows.map(toApiKey);
  }

  async revokeApiKey(keyId: string, nowMs: EpochMs): Promise<boolean> {
    const found = this.stmt("SELECT revoked_at FROM api_keys WHERE id = ?").get(keyId) as
      | { revoked_at: number | null }
      | undefined;
    if (!found) return false;
    this.stmt("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(nowMs, keyId);
    return true;
  }

  async createFirstApiKey(key: Omit<ApiKeyRecord, "tenantName">): Promise<boolean> {
    // IMMEDIATE: the write lock is taken before the count, so another process cannot insert in between.
    const run = this.db.transaction((): boolean => {
      if ((this.stmt("SELECT COUNT(*) AS n FROM api_keys").get() as { n: number }).n > 0) return false;
      this.stmt("INSERT INTO api_keys (id, tenant_id, hash, is_admin, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)").run(
        key.id,
        key.tenantId,
        key.hash,
        key.isAdmin ? 1 : 0,
        key.createdAtMs,
        key.revokedAtMs,
      );
      return true;
    });
    return run.immediate();
  }

  async countApiKeys(): Promise<number> {
    return (this.stmt("SELECT COUNT(*) AS n FROM api_keys").get() as { n: number }).n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function checkSchemaVersion(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new InvalidParameterError(
      `The database schema is version ${current}, newer than this ctxsync understands (${SQLITE_MIGRATIONS.length}); upgrade ctxsync.`,
    );
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** SET clauses (`column = ?`) and values of a task update. */
function taskSets(update: TaskUpdate): { sets: string[]; values: unknown[] } {
  const { columns, values } = taskUpdateColumns(update);
  return { sets: columns.map((c) => `${c} = ?`), values };
}
