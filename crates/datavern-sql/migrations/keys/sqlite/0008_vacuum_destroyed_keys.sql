-- PostgreSQL only (autovacuum of dv_subject_keys as soon as a key is destroyed). SQLite
-- zeroes deleted content itself (secure_delete) and the key store checkpoints its WAL after
-- destroying keys. Kept so that every dialect has the same versions. See docs/storage.md.
SELECT 1;
