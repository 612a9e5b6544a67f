/**
 * Writes of many rows at once: one array parameter per column, unnest()ed into rows by the server, so a
 * batch costs one round trip per ROWS_PER_STATEMENT rows instead of one per row.
 */
import type { BaseUpdate, EpochMs, FileChange } from "../meta-store.js";
import type { Queryable } from "./postgres-pool.js";

/**
 * Rows (or keys, or digests) per statement of a batch: a commit of 10 000 files is a few round trips, while
 * one message stays a few MB however large the batch.
 */
export const ROWS_PER_STATEMENT = 5000;

/** Deletes, then upserts, one path's base entries, a batch of rows per statement. */
export async function applyBase(q: Queryable, u: BaseUpdate): Promise<void> {
  for (const keys of chunks(u.deletes)) {
    await q.query("DELETE FROM bases WHERE session_id = $1 AND mount_path = $2 AND key = ANY($3::text[])", [u.sessionId, u.mountPath, keys]);
  }
  // The last entry of a key wins, as with one write per entry; ON CONFLICT refuses a key twice in one statement.
  const upserts = [...new Map(u.upserts.map((e) => [e.key, e])).values()];
  for (const batch of chunks(upserts)) {
    await q.query(
      `INSERT INTO bases (session_id, mount_path, key, type, digest, size, mode, mtime_ms, link_target)
       SELECT $1::text, $2::text, u.* FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::integer[], $8::float8[], $9::text[])
         AS u(key, type, digest, size, mode, mtime_ms, link_target)
       ON CONFLICT (session_id, mount_path, key) DO UPDATE SET type = EXCLUDED.type, digest = EXCLUDED.digest,
         size = EXCLUDED.size, mode = EXCLUDED.mode, mtime_ms = EXCLUDED.mtime_ms, link_target = EXCLUDED.link_target`,
      [
        u.sessionId,
        u.mountPath,
        batch.map((e) => e.key),
        batch.map((e) => e.type),
        batch.map((e) => e.digest),
        batch.map((e) => e.sizeBytes),
        batch.map((e) => e.mode),
        batch.map((e) => e.mtimeMs),
        batch.map((e) => e.linkTarget),
      ],
    );
  }
}

/** Inserts the new live versions of one commit's puts (at most ROWS_PER_STATEMENT) in one statement. */
export async function insertVersions(
  q: Queryable,
  contextId: string,
  gen: number,
  timeMs: EpochMs,
  puts: readonly Extract<FileChange, { kind: "put" }>[],
): Promise<void> {
  await q.query(
    `INSERT INTO file_versions (context_id, key, gen_from, type, digest, size, mode, mtime_ms, link_target, written_at, expires_at)
     SELECT $1::text, u.key, $2::integer, u.type, u.digest, u.size, u.mode, u.mtime_ms, u.link_target, $3::bigint, u.expires_at
     FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::integer[], $9::float8[], $10::text[], $11::bigint[])
       AS u(key, type, digest, size, mode, mtime_ms, link_target, expires_at)`,
    [
      contextId,
      gen,
      timeMs,
      puts.map((c) => c.key),
      puts.map((c) => c.meta.type),
      puts.map((c) => c.meta.digest),
      puts.map((c) => c.meta.sizeBytes),
      puts.map((c) => c.meta.mode),
      puts.map((c) => c.meta.mtimeMs),
      puts.map((c) => c.meta.linkTarget),
      puts.map((c) => c.expiresAtMs),
    ],
  );
}

/** `items` cut, in order, into runs of at most ROWS_PER_STATEMENT. */
export function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}
