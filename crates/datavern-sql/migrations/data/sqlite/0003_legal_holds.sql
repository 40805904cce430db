-- Legal holds (GDPR Art. 17(3)(e), litigation, investigations): while a hold is active, no
-- erasure, retention deletion or anonymization touches what it covers. A hold covers a whole
-- collection, one record, or one data subject's data everywhere. Rows are never deleted:
-- releasing a hold sets released_at. reason is the DPO's own text (a case reference), shown to
-- operators, never written to the audit log.
CREATE TABLE dv_legal_holds (
    id             BLOB    PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    collection     TEXT,
    record_id      BLOB,
    subject_id     BLOB,
    reason         TEXT    NOT NULL,
    placed_by      TEXT    NOT NULL,
    placed_at      TEXT    NOT NULL,
    expires_at     TEXT,
    released_at    TEXT,
    released_by    TEXT,
    release_reason TEXT,
    CONSTRAINT dv_legal_holds_scope CHECK (
        (scope = 'collection' AND collection IS NOT NULL AND record_id IS NULL AND subject_id IS NULL)
        OR (scope = 'record' AND collection IS NOT NULL AND record_id IS NOT NULL AND subject_id IS NULL)
        OR (scope = 'subject' AND collection IS NULL AND record_id IS NULL AND subject_id IS NOT NULL)
    ),
    CONSTRAINT dv_legal_holds_released CHECK ((released_at IS NULL) = (released_by IS NULL))
);
CREATE INDEX dv_legal_holds_active ON dv_legal_holds (tenant, released_at);
