-- Retention register: the records the retention job anonymized or archived (docs/retention.md).
-- Deleted records leave no row (the audit log counts them). A record listed here is not picked
-- up again, which keeps runs idempotent: an anonymized record keeps its created_at, and an
-- archived one stays in its table (collection tables never change shape, so "archived" is a
-- row here plus dv_restricted set on the record). Holds only ids and times, nothing personal.
CREATE TABLE dv_retention_register (
    tenant     TEXT NOT NULL,
    collection TEXT NOT NULL,
    record_id  BLOB NOT NULL,
    action     TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    run_id     BLOB NOT NULL,
    PRIMARY KEY (tenant, collection, record_id),
    CONSTRAINT dv_retention_register_action CHECK (action IN ('anonymize', 'archive'))
);
