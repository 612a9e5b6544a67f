import pg from "pg";
import { CtxSyncError, StoreUnavailableError } from "../../errors/index.js";
import { parsePostgresUrl, postgresTarget } from "./postgres-url.js";

/** What runs SQL: the pool (one statement, autocommit) or the connection of a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

export interface PostgresPoolOptions {
  /** Schema put first on every connection's search_path; the server's default search_path when absent. */
  schema?: string;
  maxConnections: number;
  /** How long a query waits for a connection (a free one of the pool, or a new one) before failing. */
  connectTimeoutMs: number;
}

/** Attempts of a transaction that PostgreSQL aborted to break a deadlock or a serialization conflict. */
const MAX_TRANSACTION_ATTEMPTS = 3;

/** Socket errors of a server that cannot be reached. */
const UNREACHABLE_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);
/**
 * SQLSTATEs of a server that is down, shutting down, starting, full, refusing our credentials, or without
 * our database (classes 08 and 28 whole).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "3D000"]);
/** pg's own connection failures carry no code, only these messages. */
const PG_CONNECTION_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|not queryable/;

/**
 * A pg.Pool with transactions, and errors translated at the seam: a server that cannot be reached or used
 * becomes a StoreUnavailableError naming the server without its credentials; every
 * other error passes through unchanged (the store maps the ones it expects).
 */
export class PostgresPool implements Queryable {
  private isEnded = false;

  private constructor(
    private readonly pool: pg.Pool,
    /** `host:port/database` of the server: safe to show (never the user or password). */
    readonly target: string,
  ) {}

  /** A pool for `url` (not yet connected). Rejects a URL that is not a postgres:// URL. */
  static create(url: string, opts: PostgresPoolOptions): PostgresPool {
    const parsed = parsePostgresUrl(url);
    const config: pg.PoolConfig = {
      connectionString: url,
      max: opts.maxConnections,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      // Detects a server that vanished under an idle connection instead of waiting on it forever.
      keepAlive: true,
      application_name: "ctxsync",
    };
    if (opts.schema !== undefined) {
      // The server applies it at connection start, so no query of any connection runs without it.
      const searchPath = `-c search_path=${opts.schema}`;
      const own = parsed.searchParams.get("options");
      // pg lets the URL's options replace the config's, so options of the URL get ours appended instead.
      if (own === null) {
        config.options = searchPath;
      } else {
        parsed.searchParams.set("options", `${own} ${searchPath}`);
        config.connectionString = parsed.toString();
      }
    }
    const pool = new pg.Pool(config);
    // An idle connection that fails (server restart, connection killed) has no caller to report to. The pool
    // has already dropped it; the next query opens a new connection and reports its own failure. Without a
    // listener the error event would crash the process.
    pool.on("error", () => {});
    return new PostgresPool(pool, postgresTarget(parsed));
  }

  /** One statement in its own transaction; run again when aborted as a deadlock victim (it changed nothing). */
  async query<R extends pg.QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(sql, [...params]);
      } catch (err) {
        if (attempt < MAX_TRANSACTION_ATTEMPTS && isTransient(err)) continue;
        throw this.translate(err);
      }
    }
  }

  /**
   * Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
   * `begin` may set the isolation level. A transaction the server aborted as a deadlock victim or for a
   * serialization conflict is run again from the start (`fn` must do nothing but queries).
   */
  async transaction<T>(fn: (q: Queryable) => Promise<T>, begin = "BEGIN"): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(fn, begin);
      } catch (err) {
        if (attempt < MAX_TRANSACTION_ATTEMPTS && isTransient(err)) continue;
        throw this.translate(err);
      }
    }
  }

  private async transactionOnce<T>(fn: (q: Queryable) => Promise<T>, begin: string): Promise<T> {
    const client = await this.pool.connect();
    // While checked out, a client has no listener of the pool's: a connection dying between two of our
    // queries would be an uncaught error event. The next query on the client fails with it anyway.
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on("error", onError);
    const q: Queryable = { query: (sql, params = []) => client.query(sql, [...params]) };
    try {
      // A replica cut off mid-transaction would hold its row locks (a context's commits wait on them) until
      // TCP gives up, often hours; the server ends such a transaction after a minute instead (ours never
      // idle: their queries run back to back). SET LOCAL, not a startup parameter: PgBouncer refuses
      // those. One round trip: a query without parameters may hold two statements.
      await client.query(`${begin}; SET LOCAL idle_in_transaction_session_timeout = '60s'`);
      const result = await fn(q);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackErr) {
        // The connection is unusable: it is destroyed below, and the server rolls back the transaction of a
        // closed connection. The caller needs the error that started this, thrown next.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      client.off("error", onError);
      // With an error, the pool closes the connection instead of handing it out again.
      client.release(broken);
    }
  }

  /**
   * Runs `fn` holding the session-level advisory lock `key` on a connection of its own, waiting for it
   * first. The server drops the lock if that connection dies. (Not through PgBouncer's transaction
   * pooling, which does not keep a session's locks.)
   */
  async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on("error", onError);
    try {
      try {
        await client.query("SELECT pg_advisory_lock($1)", [key]);
      } catch (err) {
        broken = err instanceof Error ? err : new Error(String(err));
        throw this.translate(err);
      }
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]).catch((err: unknown) => {
          broken = err instanceof Error ? err : new Error(String(err)); // a closed connection drops the lock anyway
        });
      }
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  /** Closes every connection; later calls do nothing. */
  async end(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    await this.pool.end();
  }

  /** StoreUnavailable for a server that cannot be reached or used; any other error unchanged. */
  translate(err: unknown): unknown {
    if (err instanceof CtxSyncError || !isUnavailable(err)) return err;
    const e = err as Error & { code?: string };
    const reason = e.message || e.code || "unknown error";
    return new StoreUnavailableError(
      `The PostgreSQL metadata store at ${this.target} is unavailable: ${reason}. Check that the server is running and that the URL's host, port, database and credentials are right.`,
      { cause: err },
    );
  }
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isUnavailable(err: unknown): boolean {
  const code = sqlState(err);
  if (code !== undefined) {
    if (UNREACHABLE_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^(08|28)[0-9A-Z]{3}$/.test(code)) return true;
  }
  return err instanceof Error && PG_CONNECTION_MESSAGE.test(err.message);
}

/** Deadlock victim or serialization failure: the server rolled the transaction back; running it again may succeed. */
function isTransient(err: unknown): boolean {
  const code = sqlState(err);
  return code === "40P01" || code === "40001";
}

/** A unique or primary-key constraint refused the row. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === "23505";
}
