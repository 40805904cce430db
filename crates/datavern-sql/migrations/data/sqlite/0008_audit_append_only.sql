-- The audit tables are append-only, whoever connects: an entry is never deleted, a sealed
-- entry never changes, and an unsealed entry changes only by being sealed (sequence,
-- entry_hash, sealed_at set once). Checkpoints are never changed or deleted, and the head
-- never moves back. SQLite has no roles: these triggers, the file's mode (0600) and the hash
-- chain with signed checkpoints are its protection. Whoever can write the file can drop
-- them; the chain still detects what is done after that. See docs/audit.md.

CREATE TRIGGER dv_audit_seal_only BEFORE UPDATE ON dv_audit
WHEN OLD.sequence IS NOT NULL
    OR NEW.id IS NOT OLD.id OR NEW.format IS NOT OLD.format
    OR NEW.occurred_at IS NOT OLD.occurred_at OR NEW.tenant IS NOT OLD.tenant
    OR NEW.principal IS NOT OLD.principal OR NEW.purpose IS NOT OLD.purpose
    OR NEW.action IS NOT OLD.action OR NEW.collection IS NOT OLD.collection
    OR NEW.record_id IS NOT OLD.record_id OR NEW.subject_id IS NOT OLD.subject_id
    OR NEW.subjects IS NOT OLD.subjects OR NEW.fields IS NOT OLD.fields
    OR NEW.outcome IS NOT OLD.outcome OR NEW.reason IS NOT OLD.reason
    OR NEW.request_id IS NOT OLD.request_id
BEGIN
    SELECT RAISE(ABORT, 'UPDATE on dv_audit refused: a sealed entry never changes, an unsealed one only gets its seal');
END;

CREATE TRIGGER dv_audit_no_delete BEFORE DELETE ON dv_audit
BEGIN
    SELECT RAISE(ABORT, 'DELETE on dv_audit refused: the audit log is append-only');
END;

CREATE TRIGGER dv_audit_head_forward BEFORE UPDATE ON dv_audit_head
WHEN NEW.singleton IS NOT OLD.singleton OR NEW.size < OLD.size
BEGIN
    SELECT RAISE(ABORT, 'UPDATE on dv_audit_head refused: the head only moves forward');
END;

CREATE TRIGGER dv_audit_head_no_delete BEFORE DELETE ON dv_audit_head
BEGIN
    SELECT RAISE(ABORT, 'DELETE on dv_audit_head refused: the audit log is append-only');
END;

CREATE TRIGGER dv_audit_checkpoints_no_update BEFORE UPDATE ON dv_audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'UPDATE on dv_audit_checkpoints refused: the audit log is append-only');
END;

CREATE TRIGGER dv_audit_checkpoints_no_delete BEFORE DELETE ON dv_audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'DELETE on dv_audit_checkpoints refused: the audit log is append-only');
END;
