-- The audit tables are append-only, whoever connects: an entry is never deleted, a sealed
-- entry never changes, and an unsealed entry changes only by being sealed (sequence,
-- entry_hash, sealed_at set once). Checkpoints are never changed or deleted, and the head
-- never moves back. The privileges of the serving account (`datavern db grants`) enforce the
-- same for it; these triggers hold for the owner too, as defence in depth. An owner can drop
-- them: the hash chain and signed checkpoints still detect what is done after that. Triggers
-- do not fire on TRUNCATE: no account but the owner may truncate (it needs DROP).
-- Rerunnable: each trigger is dropped first (MySQL DDL commits implicitly).
-- See docs/audit.md.

DROP TRIGGER IF EXISTS dv_audit_seal_only;
CREATE TRIGGER dv_audit_seal_only BEFORE UPDATE ON dv_audit FOR EACH ROW
BEGIN
    IF OLD.sequence IS NOT NULL OR NOT (
        NEW.id <=> OLD.id AND NEW.format <=> OLD.format
        AND NEW.occurred_at <=> OLD.occurred_at AND NEW.tenant <=> OLD.tenant
        AND NEW.principal <=> OLD.principal AND NEW.purpose <=> OLD.purpose
        AND NEW.action <=> OLD.action AND NEW.collection <=> OLD.collection
        AND NEW.record_id <=> OLD.record_id AND NEW.subject_id <=> OLD.subject_id
        AND NEW.subjects <=> OLD.subjects AND NEW.fields <=> OLD.fields
        AND NEW.outcome <=> OLD.outcome AND NEW.reason <=> OLD.reason
        AND NEW.request_id <=> OLD.request_id
    ) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'UPDATE on dv_audit refused: a sealed entry never changes, an unsealed one only gets its seal';
    END IF;
END;

DROP TRIGGER IF EXISTS dv_audit_no_delete;
CREATE TRIGGER dv_audit_no_delete BEFORE DELETE ON dv_audit FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'DELETE on dv_audit refused: the audit log is append-only';

DROP TRIGGER IF EXISTS dv_audit_head_forward;
CREATE TRIGGER dv_audit_head_forward BEFORE UPDATE ON dv_audit_head FOR EACH ROW
BEGIN
    IF NEW.singleton <> OLD.singleton OR NEW.size < OLD.size THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'UPDATE on dv_audit_head refused: the head only moves forward';
    END IF;
END;

DROP TRIGGER IF EXISTS dv_audit_head_no_delete;
CREATE TRIGGER dv_audit_head_no_delete BEFORE DELETE ON dv_audit_head FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'DELETE on dv_audit_head refused: the audit log is append-only';

DROP TRIGGER IF EXISTS dv_audit_checkpoints_no_update;
CREATE TRIGGER dv_audit_checkpoints_no_update BEFORE UPDATE ON dv_audit_checkpoints FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'UPDATE on dv_audit_checkpoints refused: the audit log is append-only';

DROP TRIGGER IF EXISTS dv_audit_checkpoints_no_delete;
CREATE TRIGGER dv_audit_checkpoints_no_delete BEFORE DELETE ON dv_audit_checkpoints FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
        'DELETE on dv_audit_checkpoints refused: the audit log is append-only';
