-- The sealer reads `WHERE sequence IS NULL ORDER BY id LIMIT n`. PostgreSQL and SQLite serve
-- it from a partial index (id WHERE sequence IS NULL); MariaDB/MySQL have no partial indexes,
-- and with only the unique index on `sequence` they read every unsealed entry and sort them,
-- or walk the primary key through every sealed one: each sealing round cost time in
-- proportion to the log. On (sequence, id) the unsealed entries are one range, in id order,
-- and a round reads just the entries it seals (the sealer names this index in its query).
CREATE INDEX dv_audit_unsealed ON dv_audit (sequence, id);
