-- datavern data database, SQLite: the internal tables. Collection tables (c_*) are not
-- migrations: they are generated from the catalog by apply_catalog. See docs/storage.md.
-- Times are RFC 3339 text in UTC; UUIDs are 16-byte BLOBs; JSON is text.

-- Registry of the collections applied from the catalog, with the table each one has.
CREATE TABLE dv_collections (
    name        TEXT NOT NULL PRIMARY KEY,
    table_name  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- The audit log. Entries are inserted in the transaction of the change they record, with
-- sequence and entry_hash NULL; a single sealer (holding SQLite's write lock) assigns both, in
-- the order entries became visible (commit order), chaining each hash to the previous one.
-- subjects: the other data subjects the entry concerns (JSON array of UUID strings).
-- No personal values: ids, names of fields, codes. See docs/audit.md.
CREATE TABLE dv_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sequence    INTEGER UNIQUE,
    entry_hash  BLOB,
    sealed_at   TEXT,
    format      INTEGER NOT NULL DEFAULT 1,
    occurred_at TEXT    NOT NULL,
    tenant      TEXT,
    principal   TEXT    NOT NULL,
    purpose     TEXT,
    action      TEXT    NOT NULL,
    collection  TEXT,
    record_id   BLOB,
    subject_id  BLOB,
    subjects    TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    reason      TEXT,
    request_id  TEXT,
    CONSTRAINT dv_audit_sealed CHECK ((sequence IS NULL) = (entry_hash IS NULL)),
    CONSTRAINT dv_audit_sequence_positive CHECK (sequence > 0),
    CONSTRAINT dv_audit_hash_length CHECK (length(entry_hash) = 32)
);
CREATE INDEX dv_audit_unsealed ON dv_audit (id) WHERE sequence IS NULL;
CREATE INDEX dv_audit_subject ON dv_audit (tenant, subject_id, occurred_at);
CREATE INDEX dv_audit_record ON dv_audit (tenant, collection, record_id);
CREATE INDEX dv_audit_time ON dv_audit (occurred_at);

-- The chain's head: one row, updated by whoever seals.
CREATE TABLE dv_audit_head (
    singleton INTEGER NOT NULL PRIMARY KEY,
    size      INTEGER NOT NULL,
    head_hash BLOB,
    sealed_at TEXT,
    CONSTRAINT dv_audit_head_one_row CHECK (singleton = 1),
    CONSTRAINT dv_audit_head_size CHECK (size >= 0),
    CONSTRAINT dv_audit_head_genesis CHECK ((size = 0) = (head_hash IS NULL))
);
INSERT INTO dv_audit_head (singleton, size) VALUES (1, 0);

-- Signed checkpoints of the chain head (C2SP signed notes).
CREATE TABLE dv_audit_checkpoints (
    size      INTEGER NOT NULL PRIMARY KEY,
    head_hash BLOB    NOT NULL,
    note      TEXT    NOT NULL,
    signed_at TEXT    NOT NULL,
    CONSTRAINT dv_audit_checkpoints_size CHECK (size >= 0)
);

-- Transactional outbox: CloudEvents written with the change, published later in position
-- order. data never holds personal values.
CREATE TABLE dv_outbox (
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    id              BLOB    NOT NULL UNIQUE,
    specversion     TEXT    NOT NULL DEFAULT '1.0',
    source          TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    subject         TEXT,
    time            TEXT    NOT NULL,
    datacontenttype TEXT,
    data            TEXT,
    tenant          TEXT,
    published_at    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX dv_outbox_unpublished ON dv_outbox (position) WHERE published_at IS NULL;

-- Background jobs (retention, erasure, rewrap, checkpoints, ...).
CREATE TABLE dv_jobs (
    id           BLOB    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    tenant       TEXT,
    unique_key   TEXT    UNIQUE,
    state        TEXT    NOT NULL DEFAULT 'pending',
    run_after    TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    payload      TEXT    NOT NULL,
    locked_by    TEXT,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX dv_jobs_due ON dv_jobs (state, run_after);
