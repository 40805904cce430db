-- The data subject's controls over processing (GDPR Art. 7, 18, 21), MariaDB/MySQL. See
-- docs/consent.md. No personal values: subject ids, purpose codes, reason codes, principals.

-- Every consent grant and withdrawal, append-only (Art. 7(1): consent must be demonstrable).
-- position is the insertion order, which decides between events of the same instant.
CREATE TABLE dv_consent_events (
    position       BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id             BINARY(16)   NOT NULL UNIQUE,
    tenant         CHAR(4)      NOT NULL,
    subject_id     BINARY(16)   NOT NULL,
    purpose        VARCHAR(64)  NOT NULL,
    action         VARCHAR(16)  NOT NULL,
    notice_version VARCHAR(64),
    channel        VARCHAR(16)  NOT NULL,
    occurred_at    DATETIME(6)  NOT NULL,
    recorded_by    VARCHAR(256) NOT NULL,
    recorded_at    DATETIME(6)  NOT NULL,
    request_id     VARCHAR(128),
    CONSTRAINT dv_consent_events_action CHECK (action IN ('grant', 'withdraw')),
    CONSTRAINT dv_consent_events_notice CHECK (action = 'withdraw' OR notice_version IS NOT NULL),
    KEY dv_consent_events_subject (tenant, subject_id, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The current consent per (subject, purpose): the latest event, written in the event's
-- transaction. The decision point reads it by primary key.
CREATE TABLE dv_consent_state (
    tenant     CHAR(4)     NOT NULL,
    subject_id BINARY(16)  NOT NULL,
    purpose    VARCHAR(64) NOT NULL,
    state      VARCHAR(16) NOT NULL,
    since      DATETIME(6) NOT NULL,
    event_id   BINARY(16)  NOT NULL,
    PRIMARY KEY (tenant, subject_id, purpose),
    CONSTRAINT dv_consent_state_state CHECK (state IN ('granted', 'withdrawn'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Objections (Art. 21): purpose NULL covers every purpose based on 6(1)(e) or 6(1)(f).
-- Active while lifted_at IS NULL.
CREATE TABLE dv_objections (
    id              BINARY(16)   NOT NULL PRIMARY KEY,
    tenant          CHAR(4)      NOT NULL,
    subject_id      BINARY(16)   NOT NULL,
    purpose         VARCHAR(64),
    since           DATETIME(6)  NOT NULL,
    recorded_by     VARCHAR(256) NOT NULL,
    request_id      VARCHAR(128),
    lifted_at       DATETIME(6),
    lifted_by       VARCHAR(256),
    lift_request_id VARCHAR(128),
    KEY dv_objections_subject (tenant, subject_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Restrictions of processing (Art. 18). Active while lifted_at IS NULL; the records of the
-- subject carry dv_restricted = TRUE meanwhile.
CREATE TABLE dv_restrictions (
    id              BINARY(16)   NOT NULL PRIMARY KEY,
    tenant          CHAR(4)      NOT NULL,
    subject_id      BINARY(16)   NOT NULL,
    reason          VARCHAR(64)  NOT NULL,
    since           DATETIME(6)  NOT NULL,
    recorded_by     VARCHAR(256) NOT NULL,
    request_id      VARCHAR(128),
    lifted_at       DATETIME(6),
    lifted_by       VARCHAR(256),
    lift_request_id VARCHAR(128),
    KEY dv_restrictions_subject (tenant, subject_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
