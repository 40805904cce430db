-- PostgreSQL only (autovacuum of dv_subject_keys as soon as a key is destroyed). InnoDB
-- purges old row versions from its undo log by itself; see docs/storage.md for what stays
-- (freed record space until OPTIMIZE TABLE, redo and binary logs). Kept so that every
-- dialect has the same versions.
SELECT 1;
