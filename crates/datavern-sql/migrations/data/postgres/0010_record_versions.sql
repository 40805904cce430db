-- Record versions under archive duty: a correction (PATCH) of a record in a collection with
-- archive duty keeps the version it replaces here, written in the same transaction as the
-- update, so the archive never loses a version (docs/records.md). content is the row as it was
-- stored: encrypted fields as their sealed envelopes (base64, still bound to tenant,
-- collection, field, record and subject, so destroying the subject's key makes them
-- unreadable), plain fields in their canonical text, and the subject references. Erasure
-- deletes a record's versions with the record, and with anonymization.
CREATE TABLE dv_record_versions (
    tenant        VARCHAR(4)   NOT NULL,
    collection    VARCHAR(64)  NOT NULL,
    record_id     UUID         NOT NULL,
    version       BIGINT       NOT NULL,
    created_at    TIMESTAMPTZ  NOT NULL,
    updated_at    TIMESTAMPTZ  NOT NULL,
    superseded_at TIMESTAMPTZ  NOT NULL,
    superseded_by VARCHAR(256) NOT NULL,
    content       TEXT         NOT NULL,
    PRIMARY KEY (tenant, collection, record_id, version)
);

-- Unique fields (catalog `unique: true`): a writer of a value claims its blind index here
-- (INSERT … ON CONFLICT DO UPDATE, which locks the row) before it looks for the value among
-- the records sharing that index, so two writers of the same value queue instead of both
-- finding nothing. Holds blind indexes only, never a value.
CREATE TABLE dv_unique_claims (
    tenant      VARCHAR(4)  NOT NULL,
    collection  VARCHAR(64) NOT NULL,
    field       VARCHAR(64) NOT NULL,
    blind_index BYTEA       NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, collection, field, blind_index)
);
