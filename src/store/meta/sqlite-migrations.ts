/**
 * Versioned schema of the SQLite metadata store. Index i brings the schema from version i to i+1
 * (tracked in PRAGMA user_version). Append only: a released migration is never edited.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );
  CREATE TABLE contexts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'available',
    head INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, name)
  );
  CREATE TABLE generations (
    context_id TEXT NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    time INTEGER NOT NULL,
    session_id TEXT,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    PRIMARY KEY (context_id, generation)
  );
  -- Every version of every file: live ones have gen_to NULL. History and restore read the rest.
  CREATE TABLE file_versions (
    context_id TEXT NOT NULL REFERENCES contexts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    gen_from INTEGER NOT NULL,
    gen_to INTEGER,
    type TEXT NOT NULL,
    digest TEXT,
    size INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    link_target TEXT,
    written_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (context_id, key, gen_from)
  );
  CREATE UNIQUE INDEX file_versions_live ON file_versions (context_id, key) WHERE gen_to IS NULL;
  CREATE INDEX file_versions_digest ON file_versions (digest);
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    status TEXT NOT NULL,
    root TEXT NOT NULL,
    labels TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE mounts (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    context_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    wait_for_completion INTEGER NOT NULL,
    bind_time INTEGER NOT NULL,
    PRIMARY KEY (session_id, path)
  );
  -- What each synced path of a session last saw; ad-hoc sync paths have a base but no mount row.
  CREATE TABLE bases (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    mount_path TEXT NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    digest TEXT,
    size INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    link_target TEXT,
    PRIMARY KEY (session_id, mount_path, key)
  );
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    context_id TEXT NOT NULL,
    path TEXT NOT NULL,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time INTEGER,
    finish_time INTEGER,
    error_message TEXT NOT NULL DEFAULT '',
    files_done INTEGER NOT NULL DEFAULT 0,
    files_total INTEGER NOT NULL DEFAULT 0,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX tasks_session ON tasks (session_id, created_at);
  `,
  // Version 2, garbage collection: pruneHistory finds a context's generations before the cutoff and the versions
  // closed by then; deleteExpired finds expired versions without scanning those that never expire.
  `
  CREATE INDEX generations_time ON generations (context_id, time);
  CREATE INDEX file_versions_closed ON file_versions (context_id, gen_to) WHERE gen_to IS NOT NULL;
  CREATE INDEX file_versions_expiry ON file_versions (expires_at) WHERE expires_at IS NOT NULL;
  `,
  // Version 3, the server: external sessions (agent token, heartbeat), claiming tasks, API keys, and finding
  // contexts whose clear must be resumed.
  `
  ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT 'local';
  ALTER TABLE sessions ADD COLUMN token_hash TEXT;
  ALTER TABLE sessions ADD COLUMN last_heartbeat INTEGER;
  CREATE UNIQUE INDEX sessions_token ON sessions (token_hash) WHERE token_hash IS NOT NULL;
  CREATE INDEX sessions_heartbeat ON sessions (last_heartbeat) WHERE agent = 'external';
  CREATE INDEX tasks_status ON tasks (session_id, status);
  CREATE INDEX contexts_state ON contexts (state) WHERE state != 'available';
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    hash TEXT NOT NULL UNIQUE,
    is_admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  `,
  // Version 4, tenant isolation of the shared blob store: which blobs each session's agent sent the bytes of.
  `
  CREATE TABLE session_uploads (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, digest)
  ) WITHOUT ROWID;
  CREATE INDEX session_uploads_time ON session_uploads (at_ms);
  `,
  // Version 5: the size of each blob sent, so a commit can check the sizes its versions claim. NULL for
  // records made before (an upload in flight during the upgrade): not checked.
  `
  ALTER TABLE session_uploads ADD COLUMN size_bytes INTEGER;
  `,
  // Version 6: the log of blob deletions (BlobDeletionJournal) that lets a write on S3 see one that
  // overlapped it. AUTOINCREMENT: a change number is never given twice, also after pruning.
  `
  CREATE TABLE blob_deletion_marks (
    change INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('deleting', 'deleted', 'kept')),
    at_ms INTEGER NOT NULL
  );
  CREATE INDEX blob_deletion_marks_digest ON blob_deletion_marks (digest, change);
  CREATE INDEX blob_deletion_marks_time ON blob_deletion_marks (at_ms);
  CREATE INDEX blob_deletion_marks_deleting ON blob_deletion_marks (digest) WHERE state = 'deleting';
  `,
  // Version 7: which sessions mount a context, for its `in-use` state (MetaStore.contextsInUse).
  `
  CREATE INDEX mounts_context ON mounts (context_id);
  `,
  // Version 8: which attach of an external session's agent is the current one (MetaStore.nextAgentEpoch).
  `
  ALTER TABLE sessions ADD COLUMN agent_epoch INTEGER NOT NULL DEFAULT 0;
  `,
];
