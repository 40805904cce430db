-- Data subject requests (GDPR Art. 15–22) and their history. See docs/requests.md.
-- The subject is stored as the subject ids the requester's identifier resolved to (JSON array
-- of UUID strings), never as a fødselsnummer; identified_by names only the kind of identifier.
-- Dates (due_on, ...) are calendar dates in Norway as YYYY-MM-DD text on every backend.
-- parameters: field and purpose names only; outcome: the executor's summary (ids, counts).
CREATE TABLE dv_requests (
    id               BINARY(16)   NOT NULL PRIMARY KEY,
    tenant           CHAR(4)      NOT NULL,
    request_type     VARCHAR(16)  NOT NULL,
    identified_by    VARCHAR(16)  NOT NULL,
    subjects         JSON         NOT NULL,
    parameters       JSON         NOT NULL,
    state            VARCHAR(24)  NOT NULL,
    received_at      DATETIME(6)  NOT NULL,
    received_by      VARCHAR(256) NOT NULL,
    due_on           CHAR(10)     NOT NULL,
    extension_months SMALLINT     NOT NULL DEFAULT 0,
    extended_due_on  CHAR(10),
    effective_due_on CHAR(10)     NOT NULL,
    extension_reason TEXT,
    verified_at      DATETIME(6),
    verified_by      VARCHAR(256),
    verification     VARCHAR(64),
    started_at       DATETIME(6),
    completed_at     DATETIME(6),
    outcome          JSON,
    rejection_reason TEXT,
    updated_at       DATETIME(6)  NOT NULL,
    CONSTRAINT dv_requests_extension CHECK (extension_months BETWEEN 0 AND 2),
    KEY dv_requests_due (tenant, state, effective_due_on)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every transition of a request, append-only: who moved it, when, from which state to which.
CREATE TABLE dv_request_events (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    request_id  BINARY(16)   NOT NULL,
    tenant      CHAR(4)      NOT NULL,
    occurred_at DATETIME(6)  NOT NULL,
    actor       VARCHAR(256) NOT NULL,
    event       VARCHAR(32)  NOT NULL,
    from_state  VARCHAR(24),
    to_state    VARCHAR(24)  NOT NULL,
    note        TEXT,
    KEY dv_request_events_request (request_id, id),
    CONSTRAINT dv_request_events_request_fk FOREIGN KEY (request_id) REFERENCES dv_requests (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
