-- datavern key store, PostgreSQL. A database of its own, apart from the data, so that a copy
-- of the data never holds the keys that decrypt it. Only wrapped keys (WrappedKey::to_bytes,
-- encrypted by the KEK) are stored; the clear columns repeat the wrapped key's metadata so
-- keys can be found by envelope key id and rewrapped after a KEK rotation.

-- One data key per data subject and key version. Destroying a subject's keys
-- (crypto-shredding) sets wrapped to NULL and keeps the row as a tombstone.
CREATE TABLE dv_subject_keys (
    tenant       VARCHAR(4)   NOT NULL,
    subject_id   UUID         NOT NULL,
    key_version  BIGINT       NOT NULL,
    key_id       BYTEA        NOT NULL UNIQUE,
    kek_id       VARCHAR(128) NOT NULL,
    kek_version  BIGINT       NOT NULL,
    wrapped      BYTEA,
    created_at   TIMESTAMPTZ  NOT NULL,
    destroyed_at TIMESTAMPTZ,
    PRIMARY KEY (tenant, subject_id, key_version),
    CONSTRAINT dv_subject_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    CONSTRAINT dv_subject_keys_key_id CHECK (octet_length(key_id) = 16),
    CONSTRAINT dv_subject_keys_tombstone CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX dv_subject_keys_kek ON dv_subject_keys (kek_id, kek_version);

-- One blind-index root key per tenant and key version.
CREATE TABLE dv_index_keys (
    tenant      VARCHAR(4)   NOT NULL,
    key_version BIGINT       NOT NULL,
    key_id      BYTEA        NOT NULL UNIQUE,
    kek_id      VARCHAR(128) NOT NULL,
    kek_version BIGINT       NOT NULL,
    wrapped     BYTEA        NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (tenant, key_version),
    CONSTRAINT dv_index_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    CONSTRAINT dv_index_keys_key_id CHECK (octet_length(key_id) = 16)
);
CREATE INDEX dv_index_keys_kek ON dv_index_keys (kek_id, kek_version);
