-- datavern key store, SQLite: keys.db, a file of its own beside data.db, so that a copy of
-- the data never holds the keys that decrypt it. Only wrapped keys (WrappedKey::to_bytes,
-- encrypted by the KEK) are stored; the clear columns repeat the wrapped key's metadata so
-- keys can be found by envelope key id and rewrapped after a KEK rotation. Times are
-- RFC 3339 text in UTC; UUIDs are 16-byte BLOBs. The connection sets secure_delete, so
-- destroyed keys are overwritten in the file.

-- One data key per data subject and key version. Destroying a subject's keys
-- (crypto-shredding) sets wrapped to NULL and keeps the row as a tombstone.
CREATE TABLE dv_subject_keys (
    tenant       TEXT    NOT NULL,
    subject_id   BLOB    NOT NULL,
    key_version  INTEGER NOT NULL,
    key_id       BLOB    NOT NULL UNIQUE,
    kek_id       TEXT    NOT NULL,
    kek_version  INTEGER NOT NULL,
    wrapped      BLOB,
    created_at   TEXT    NOT NULL,
    destroyed_at TEXT,
    PRIMARY KEY (tenant, subject_id, key_version),
    CONSTRAINT dv_subject_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    CONSTRAINT dv_subject_keys_key_id CHECK (length(key_id) = 16),
    CONSTRAINT dv_subject_keys_tombstone CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX dv_subject_keys_kek ON dv_subject_keys (kek_id, kek_version);

-- One blind-index root key per tenant and key version.
CREATE TABLE dv_index_keys (
    tenant      TEXT    NOT NULL,
    key_version INTEGER NOT NULL,
    key_id      BLOB    NOT NULL UNIQUE,
    kek_id      TEXT    NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant, key_version),
    CONSTRAINT dv_index_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    CONSTRAINT dv_index_keys_key_id CHECK (length(key_id) = 16)
);
CREATE INDEX dv_index_keys_kek ON dv_index_keys (kek_id, kek_version);
