-- A destroyed key's wrapped bytes stay in the table file as a dead row version until VACUUM
-- removes it. The key store vacuums the table after destroying keys, but only the table's
-- owner may: for a serving role that is not the owner, autovacuum must, and by default it
-- waits for 50 dead rows plus 20% of the table. Vacuum this table as soon as it has one, at
-- the next autovacuum round (autovacuum_naptime, one minute by default). See docs/storage.md.
ALTER TABLE dv_subject_keys SET (
    autovacuum_vacuum_threshold = 0,
    autovacuum_vacuum_scale_factor = 0
);
