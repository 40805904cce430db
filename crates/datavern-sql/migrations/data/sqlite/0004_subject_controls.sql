-- The data subject's controls over processing (GDPR Art. 7, 18, 21), SQLite. See
-- docs/consent.md. No personal values: subject ids, purpose codes, reason codes, principals.

-- Every consent grant and withdrawal, append-only (Art. 7(1): consent must be demonstrable).
-- position is the insertion order, which decides between events of the same instant.
CREATE TABLE dv_consent_events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    id             BLOB    NOT NULL UNIQUE,
    tenant         TEXT    NOT NULL,
    subject_id     BLOB    NOT NULL,
    purpose        TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action IN ('grant', 'withdraw')),
    notice_version TEXT,
    channel        TEXT    NOT NULL,
    occurred_at    TEXT    NOT NULL,
    recorded_by    TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    request_id     TEXT,
    CHECK (action = 'withdraw' OR notice_version IS NOT NULL)
);
CREATE INDEX dv_consent_events_subject ON dv_consent_events (tenant, subject_id, position);

-- The current consent per (subject, purpose): the latest event, written in the event's
-- transaction. The decision point reads it by primary key.
CREATE TABLE dv_consent_state (
    tenant     TEXT NOT NULL,
    subject_id BLOB NOT NULL,
    purpose    TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('granted', 'withdrawn')),
    since      TEXT NOT NULL,
    event_id   BLOB NOT NULL,
    PRIMARY KEY (tenant, subject_id, purpose)
);

-- Objections (Art. 21): purpose NULL covers every purpose based on 6(1)(e) or 6(1)(f).
-- Active while lifted_at IS NULL.
CREATE TABLE dv_objections (
    id          BLOB NOT NULL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    subject_id  BLOB NOT NULL,
    purpose     TEXT,
    since       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    request_id  TEXT,
    lifted_at   TEXT,
    lifted_by   TEXT,
    lift_request_id TEXT
);
CREATE INDEX dv_objections_subject ON dv_objections (tenant, subject_id);

-- Restrictions of processing (Art. 18). Active while lifted_at IS NULL; the records of the
-- subject carry dv_restricted = TRUE meanwhile.
CREATE TABLE dv_restrictions (
    id          BLOB NOT NULL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    subject_id  BLOB NOT NULL,
    reason      TEXT NOT NULL,
    since       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    request_id  TEXT,
    lifted_at   TEXT,
    lifted_by   TEXT,
    lift_request_id TEXT
);
CREATE INDEX dv_restrictions_subject ON dv_restrictions (tenant, subject_id);
