-- The sealer's unsealed-entry index on MariaDB/MySQL (see mysql/0002). Nothing changes on this
-- dialect: the partial index dv_audit_unsealed (id WHERE sequence IS NULL) of 0001 already
-- serves the sealer's query. Every dialect keeps the same migration versions.
SELECT 1;
