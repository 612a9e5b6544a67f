/**
 * Versioned schema of the PostgreSQL metadata store. Index i brings the schema from version i to i+1
 * (recorded in ctxsync_migrations, see postgres-migrate.ts). Append only: a released migration is never edited.
 *
 * Version 1 is the SQLite schema at its version 3 (sqlite-migrations.ts), with these differences:
 * - Times and byte counts are BIGINT (epoch ms and sizes pass 2^31); postgres-rows.ts turns them back
 *   into numbers. mtime_ms is DOUBLE PRECISION: it holds any JS number exactly, as SQLite did (the API
 *   accepts fractional and negative mtimes).
 * - Ids, keys, paths and digests are COLLATE "C": listings order and prefix ranges compare bytes, as in
 *   SQLite, whatever the database's locale (a locale collation would sort "/a-b" after "/a.txt" and break
 *   the "P/" ≤ key < "P0" range of a prefix). The columns referring to them share the collation.
 * - Booleans are BOOLEAN; tenants' contexts and sessions get indexes for their listings.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );
  CREATE TABLE contexts (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'available',
    head INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, name)
  );
  CREATE INDEX contexts_tenant ON contexts (tenant_id, id);
  CREATE INDEX contexts_state ON contexts (state) WHERE state <> 'available';
  CREATE TABLE generations (
    context_id TEXT COLLATE "C" NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    time BIGINT NOT NULL,
    session_id TEXT COLLATE "C",
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    PRIMARY KEY (context_id, generation)
  );
  CREATE INDEX generations_time ON generations (context_id, time);
  -- Every version of every file: live ones have gen_to NULL. History and restore read the rest.
  CREATE TABLE file_versions (
    context_id TEXT COLLATE "C" NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    gen_from INTEGER NOT NULL,
    gen_to INTEGER,
    type TEXT NOT NULL,
    digest TEXT COLLATE "C",
    size BIGINT NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms DOUBLE PRECISION NOT NULL,
    link_target TEXT,
    written_at BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (context_id, key, gen_from)
  );
  CREATE UNIQUE INDEX file_versions_live ON file_versions (context_id, key) WHERE gen_to IS NULL;
  CREATE INDEX file_versions_digest ON file_versions (digest);
  -- pruneHistory finds the versions closed by the kept generation; deleteExpired finds expired versions
  -- without scanning those that never expire.
  CREATE INDEX file_versions_closed ON file_versions (context_id, gen_to) WHERE gen_to IS NOT NULL;
  CREATE INDEX file_versions_expiry ON file_versions (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    status TEXT NOT NULL,
    root TEXT NOT NULL,
    -- TEXT, not JSONB: labels come back exactly as written (JSONB reorders keys and refuses NUL characters).
    labels TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    agent TEXT NOT NULL DEFAULT 'local',
    token_hash TEXT,
    last_heartbeat BIGINT
  );
  CREATE INDEX sessions_tenant ON sessions (tenant_id, id);
  CREATE UNIQUE INDEX sessions_token ON sessions (token_hash) WHERE token_hash IS NOT NULL;
  CREATE INDEX sessions_heartbeat ON sessions (last_heartbeat) WHERE agent = 'external';
  CREATE TABLE mounts (
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    path TEXT COLLATE "C" NOT NULL,
    context_id TEXT COLLATE "C" NOT NULL,
    policy TEXT NOT NULL,
    wait_for_completion BOOLEAN NOT NULL,
    bind_time BIGINT NOT NULL,
    PRIMARY KEY (session_id, path)
  );
  -- What each synced path of a session last saw; ad-hoc sync paths have a base but no mount row.
  CREATE TABLE bases (
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    mount_path TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    type TEXT NOT NULL,
    digest TEXT COLLATE "C",
    size BIGINT NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms DOUBLE PRECISION NOT NULL,
    link_target TEXT,
    PRIMARY KEY (session_id, mount_path, key)
  );
  CREATE TABLE tasks (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    context_id TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time BIGINT,
    finish_time BIGINT,
    error_message TEXT NOT NULL DEFAULT '',
    files_done BIGINT NOT NULL DEFAULT 0,
    files_total BIGINT NOT NULL DEFAULT 0,
    bytes_done BIGINT NOT NULL DEFAULT 0,
    bytes_total BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX tasks_session ON tasks (session_id, created_at);
  CREATE INDEX tasks_status ON tasks (session_id, status);
  CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    hash TEXT NOT NULL UNIQUE,
    is_admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  `,
  // Version 2 (SQLite's version 4): which blobs each session's agent sent the bytes of.
  `
  CREATE TABLE session_uploads (
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    digest TEXT COLLATE "C" NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, digest)
  );
  CREATE INDEX session_uploads_time ON session_uploads (at_ms);
  `,
  // Version 3 (SQLite's version 5): the size of each blob sent; NULL for records made before.
  `
  ALTER TABLE session_uploads ADD COLUMN size_bytes BIGINT;
  `,
  // Version 4 (SQLite's version 6): the log of blob deletions (BlobDeletionJournal).
  `
  CREATE TABLE blob_deletion_marks (
    change BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('deleting', 'deleted', 'kept')),
    at_ms BIGINT NOT NULL
  );
  CREATE INDEX blob_deletion_marks_digest ON blob_deletion_marks (digest, change);
  CREATE INDEX blob_deletion_marks_time ON blob_deletion_marks (at_ms);
  CREATE INDEX blob_deletion_marks_deleting ON blob_deletion_marks (digest) WHERE state = 'deleting';
  `,
  // Version 5 (SQLite's version 7): which sessions mount a context, for its `in-use` state.
  `
  CREATE INDEX mounts_context ON mounts (context_id);
  `,
  // Version 6 (SQLite's version 8): which attach of an external session's agent is the current one.
  `
  ALTER TABLE sessions ADD COLUMN agent_epoch BIGINT NOT NULL DEFAULT 0;
  `,
];
