-- Data subject requests (GDPR Art. 15–22) and their history. See docs/requests.md.
-- The subject is stored as the subject ids the requester's identifier resolved to (JSON array
-- of UUID strings), never as a fødselsnummer; identified_by names only the kind of identifier.
-- Dates (due_on, ...) are calendar dates in Norway as YYYY-MM-DD text on every backend.
-- parameters: field and purpose names only; outcome: the executor's summary (ids, counts).
CREATE TABLE dv_requests (
    id               BLOB    NOT NULL PRIMARY KEY,
    tenant           TEXT    NOT NULL,
    request_type     TEXT    NOT NULL,
    identified_by    TEXT    NOT NULL,
    subjects         TEXT    NOT NULL,
    parameters       TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    received_at      TEXT    NOT NULL,
    received_by      TEXT    NOT NULL,
    due_on           TEXT    NOT NULL,
    extension_months INTEGER NOT NULL DEFAULT 0,
    extended_due_on  TEXT,
    effective_due_on TEXT    NOT NULL,
    extension_reason TEXT,
    verified_at      TEXT,
    verified_by      TEXT,
    verification     TEXT,
    started_at       TEXT,
    completed_at     TEXT,
    outcome          TEXT,
    rejection_reason TEXT,
    updated_at       TEXT    NOT NULL,
    CONSTRAINT dv_requests_extension CHECK (extension_months BETWEEN 0 AND 2)
);
CREATE INDEX dv_requests_due ON dv_requests (tenant, state, effective_due_on);

-- Every transition of a request, append-only: who moved it, when, from which state to which.
CREATE TABLE dv_request_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  BLOB    NOT NULL REFERENCES dv_requests (id),
    tenant      TEXT    NOT NULL,
    occurred_at TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    note        TEXT
);
CREATE INDEX dv_request_events_request ON dv_request_events (request_id, id);
