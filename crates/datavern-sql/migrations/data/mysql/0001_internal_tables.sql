-- datavern data database, MariaDB/MySQL: the internal tables. Collection tables (c_*) are
-- not migrations: they are generated from the catalog by apply_catalog. See docs/storage.md.
-- Times are DATETIME(6) in UTC (the driver sets time_zone = '+00:00'); UUIDs are BINARY(16).

-- Registry of the collections applied from the catalog, with the table each one has.
CREATE TABLE dv_collections (
    name        VARCHAR(64) NOT NULL PRIMARY KEY,
    table_name  VARCHAR(64) NOT NULL UNIQUE,
    description JSON        NOT NULL,
    fingerprint VARCHAR(80) NOT NULL,
    applied_at  DATETIME(6) NOT NULL,
    updated_at  DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The audit log. Entries are inserted in the transaction of the change they record, with
-- sequence and entry_hash NULL; a single sealer assigns both, in the order entries became
-- visible (commit order), chaining each hash to the previous one. subjects: the other data
-- subjects the entry concerns (JSON array of UUID strings). No personal values: ids, names of
-- fields, codes. See docs/audit.md.
CREATE TABLE dv_audit (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sequence    BIGINT       UNIQUE,
    entry_hash  VARBINARY(32),
    sealed_at   DATETIME(6),
    format      SMALLINT     NOT NULL DEFAULT 1,
    occurred_at DATETIME(6)  NOT NULL,
    tenant      CHAR(4),
    principal   VARCHAR(256) NOT NULL,
    purpose     VARCHAR(64),
    action      VARCHAR(32)  NOT NULL,
    collection  VARCHAR(64),
    record_id   BINARY(16),
    subject_id  BINARY(16),
    subjects    JSON         NOT NULL,
    fields      JSON         NOT NULL,
    outcome     VARCHAR(16)  NOT NULL,
    reason      VARCHAR(64),
    request_id  VARCHAR(128),
    CONSTRAINT dv_audit_sealed CHECK ((sequence IS NULL) = (entry_hash IS NULL)),
    CONSTRAINT dv_audit_sequence_positive CHECK (sequence > 0),
    CONSTRAINT dv_audit_hash_length CHECK (LENGTH(entry_hash) = 32),
    KEY dv_audit_subject (tenant, subject_id, occurred_at),
    KEY dv_audit_record (tenant, collection, record_id),
    KEY dv_audit_time (occurred_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The chain's head: one row, locked by the sealer (SELECT ... FOR UPDATE).
CREATE TABLE dv_audit_head (
    singleton SMALLINT NOT NULL PRIMARY KEY,
    size      BIGINT   NOT NULL,
    head_hash VARBINARY(32),
    sealed_at DATETIME(6),
    CONSTRAINT dv_audit_head_one_row CHECK (singleton = 1),
    CONSTRAINT dv_audit_head_size CHECK (size >= 0),
    CONSTRAINT dv_audit_head_genesis CHECK ((size = 0) = (head_hash IS NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO dv_audit_head (singleton, size) VALUES (1, 0);

-- Signed checkpoints of the chain head (C2SP signed notes).
CREATE TABLE dv_audit_checkpoints (
    size      BIGINT        NOT NULL PRIMARY KEY,
    head_hash VARBINARY(32) NOT NULL,
    note      TEXT          NOT NULL,
    signed_at DATETIME(6)   NOT NULL,
    CONSTRAINT dv_audit_checkpoints_size CHECK (size >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Transactional outbox: CloudEvents written with the change, published later in position
-- order. data never holds personal values.
CREATE TABLE dv_outbox (
    position        BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id              BINARY(16)   NOT NULL UNIQUE,
    specversion     VARCHAR(8)   NOT NULL DEFAULT '1.0',
    source          VARCHAR(255) NOT NULL,
    type            VARCHAR(255) NOT NULL,
    subject         VARCHAR(255),
    time            DATETIME(6)  NOT NULL,
    datacontenttype VARCHAR(127),
    data            JSON,
    tenant          CHAR(4),
    published_at    DATETIME(6),
    attempts        INTEGER      NOT NULL DEFAULT 0,
    last_error      TEXT,
    KEY dv_outbox_unpublished (published_at, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Background jobs (retention, erasure, rewrap, checkpoints, ...).
CREATE TABLE dv_jobs (
    id           BINARY(16)   NOT NULL PRIMARY KEY,
    name         VARCHAR(128) NOT NULL,
    tenant       CHAR(4),
    unique_key   VARCHAR(255) UNIQUE,
    state        VARCHAR(16)  NOT NULL DEFAULT 'pending',
    run_after    DATETIME(6)  NOT NULL,
    attempts     INTEGER      NOT NULL DEFAULT 0,
    max_attempts INTEGER      NOT NULL DEFAULT 5,
    payload      JSON         NOT NULL,
    locked_by    VARCHAR(255),
    locked_until DATETIME(6),
    last_error   TEXT,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    KEY dv_jobs_due (state, run_after)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
