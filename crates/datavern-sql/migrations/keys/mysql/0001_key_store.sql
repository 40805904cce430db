-- datavern key store, MariaDB/MySQL. A database of its own, apart from the data, so that a
-- copy of the data never holds the keys that decrypt it. Only wrapped keys
-- (WrappedKey::to_bytes, encrypted by the KEK) are stored; the clear columns repeat the
-- wrapped key's metadata so keys can be found by envelope key id and rewrapped after a KEK
-- rotation. Times are DATETIME(6) in UTC; UUIDs are BINARY(16).

-- One data key per data subject and key version. Destroying a subject's keys
-- (crypto-shredding) sets wrapped to NULL and keeps the row as a tombstone.
CREATE TABLE dv_subject_keys (
    tenant       CHAR(4)       NOT NULL,
    subject_id   BINARY(16)    NOT NULL,
    key_version  BIGINT        NOT NULL,
    key_id       BINARY(16)    NOT NULL UNIQUE,
    kek_id       VARCHAR(128)  NOT NULL,
    kek_version  BIGINT        NOT NULL,
    wrapped      VARBINARY(8192),
    created_at   DATETIME(6)   NOT NULL,
    destroyed_at DATETIME(6),
    PRIMARY KEY (tenant, subject_id, key_version),
    CONSTRAINT dv_subject_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    CONSTRAINT dv_subject_keys_tombstone CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),
    KEY dv_subject_keys_kek (kek_id, kek_version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One blind-index root key per tenant and key version.
CREATE TABLE dv_index_keys (
    tenant      CHAR(4)         NOT NULL,
    key_version BIGINT          NOT NULL,
    key_id      BINARY(16)      NOT NULL UNIQUE,
    kek_id      VARCHAR(128)    NOT NULL,
    kek_version BIGINT          NOT NULL,
    wrapped     VARBINARY(8192) NOT NULL,
    created_at  DATETIME(6)     NOT NULL,
    PRIMARY KEY (tenant, key_version),
    CONSTRAINT dv_index_keys_version CHECK (key_version BETWEEN 1 AND 4294967295),
    KEY dv_index_keys_kek (kek_id, kek_version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
