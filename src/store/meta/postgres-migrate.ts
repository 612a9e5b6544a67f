import { InvalidParameterError } from "../../errors/index.js";
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import type { PostgresPool } from "./postgres-pool.js";

/** First key of the migration lock (second: the schema's name hashed), so other advisory locks do not collide. */
const MIGRATION_LOCK_CLASS = 0x63747873; // "ctxs"
/** Names used unquoted in search_path must be plain lower-case identifiers. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates `schema` when absent and applies the migrations it lacks, in one transaction. The advisory lock
 * (per schema) makes a second process opening the same schema wait, then find it migrated.
 */
export async function migratePostgres(db: PostgresPool, schema: string | undefined): Promise<void> {
  await db.transaction(async (q) => {
    await q.query("SELECT pg_advisory_xact_lock($1, hashtext(COALESCE($2::text, current_schema(), '')))", [
      MIGRATION_LOCK_CLASS,
      schema ?? null,
    ]);
    if (schema !== undefined) {
      // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even when
      // the schema exists, which a restricted role using a prepared schema may lack.
      const exists = await q.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      if (exists.rowCount === 0) await q.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    }
    // Named after us: a schema shared with another application may have its own schema_migrations.
    await q.query("CREATE TABLE IF NOT EXISTS ctxsync_migrations (version INTEGER PRIMARY KEY, applied_at_ms BIGINT NOT NULL)");
    const { rows } = await q.query<{ v: number }>("SELECT COALESCE(MAX(version), 0) AS v FROM ctxsync_migrations");
    const current = rows[0]?.v ?? 0;
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new InvalidParameterError(
        `The database schema is version ${current}, newer than this ctxsync understands (${POSTGRES_MIGRATIONS.length}); upgrade ctxsync.`,
      );
    }
    for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
      await q.query(POSTGRES_MIGRATIONS[v]!);
      await q.query("INSERT INTO ctxsync_migrations (version, applied_at_ms) VALUES ($1, $2)", [v + 1, Date.now()]);
    }
  });
}

/** `my_schema` → `"my_schema"`; names are checked against SCHEMA_NAME already, quoting is for safety. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
