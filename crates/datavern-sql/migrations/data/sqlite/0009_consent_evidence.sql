-- Consent evidence (docs/consent.md), SQLite: where the proof of a consent is kept, the id of
-- the signed form or message (never its content, never personal data; at most 128 bytes,
-- checked by the service). Events recorded before this column have none.
ALTER TABLE dv_consent_events ADD COLUMN evidence_ref TEXT;
