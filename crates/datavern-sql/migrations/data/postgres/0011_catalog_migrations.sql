-- Catalog versions and catalog migrations (docs/migrations.md).
--
-- dv_catalog_versions: every catalog this database has served, in order, with the SHA-256 of
-- its text (checksum), the text itself (so a plan is made against what is applied, not a
-- file that may have changed), who applied it and when, and the migration that applied it
-- (NULL when it was applied at start-up as a compatible change).
CREATE TABLE dv_catalog_versions (
    version     BIGINT       PRIMARY KEY,
    checksum    VARCHAR(80)  NOT NULL,
    catalog     TEXT         NOT NULL,
    applied_by  VARCHAR(256) NOT NULL,
    applied_at  TIMESTAMPTZ  NOT NULL,
    migration   BIGINT       NULL
);

-- dv_migrations: one row per `datavern migrate apply`, from the version it was planned
-- against to the catalog it moves to, with the plan and its state (expanding, backfilling,
-- ready, completed, aborted). At most one is open (not completed or aborted) at a time.
CREATE TABLE dv_migrations (
    id            BIGINT       PRIMARY KEY,
    from_version  BIGINT       NOT NULL,
    from_checksum VARCHAR(80)  NOT NULL,
    to_checksum   VARCHAR(80)  NOT NULL,
    catalog       TEXT         NOT NULL,
    plan          JSONB        NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    started_by    VARCHAR(256) NOT NULL,
    started_at    TIMESTAMPTZ  NOT NULL,
    updated_at    TIMESTAMPTZ  NOT NULL,
    finished_at   TIMESTAMPTZ  NULL
);

-- dv_migration_progress: the checkpoint of each backfill, per tenant: the last record id it
-- committed (keyset order) and the rows it has rewritten, updated in the transaction of the
-- batch it describes, so a run killed at any point resumes after its last committed batch.
CREATE TABLE dv_migration_progress (
    migration   BIGINT       NOT NULL,
    step        INTEGER      NOT NULL,
    tenant      VARCHAR(4)   NOT NULL,
    last_id     UUID         NULL,
    rows_done   BIGINT       NOT NULL,
    done        BOOLEAN      NOT NULL,
    updated_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (migration, step, tenant)
);

-- dv_schema_window: the columns an open migration has added to collection tables and that
-- the applied catalog does not describe yet, so that a process serving the applied catalog
-- still starts during the window.
CREATE TABLE dv_schema_window (
    table_name  VARCHAR(64)  NOT NULL,
    column_name VARCHAR(64)  NOT NULL,
    migration   BIGINT       NOT NULL,
    PRIMARY KEY (table_name, column_name)
);
