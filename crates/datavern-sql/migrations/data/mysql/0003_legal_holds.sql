-- Legal holds (GDPR Art. 17(3)(e), litigation, investigations): while a hold is active, no
-- erasure, retention deletion or anonymization touches what it covers. A hold covers a whole
-- collection, one record, or one data subject's data everywhere. Rows are never deleted:
-- releasing a hold sets released_at. reason is the DPO's own text (a case reference), shown to
-- operators, never written to the audit log.
CREATE TABLE dv_legal_holds (
    id             BINARY(16)   PRIMARY KEY,
    tenant         VARCHAR(4)   NOT NULL,
    scope          VARCHAR(16)  NOT NULL,
    collection     VARCHAR(64),
    record_id      BINARY(16),
    subject_id     BINARY(16),
    reason         TEXT         NOT NULL,
    placed_by      VARCHAR(256) NOT NULL,
    placed_at      DATETIME(6)  NOT NULL,
    expires_at     DATETIME(6),
    released_at    DATETIME(6),
    released_by    VARCHAR(256),
    release_reason TEXT,
    CONSTRAINT dv_legal_holds_scope CHECK (
        (scope = 'collection' AND collection IS NOT NULL AND record_id IS NULL AND subject_id IS NULL)
        OR (scope = 'record' AND collection IS NOT NULL AND record_id IS NOT NULL AND subject_id IS NULL)
        OR (scope = 'subject' AND collection IS NULL AND record_id IS NULL AND subject_id IS NOT NULL)
    ),
    CONSTRAINT dv_legal_holds_released CHECK ((released_at IS NULL) = (released_by IS NULL)),
    KEY dv_legal_holds_active (tenant, released_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
