-- The audit tables are append-only, whoever connects: an entry is never deleted, a sealed
-- entry never changes, and an unsealed entry changes only by being sealed (sequence,
-- entry_hash, sealed_at set once). Checkpoints are never changed or deleted, and the head
-- never moves back. The privileges of the serving role (`datavern db grants`) enforce the
-- same for it; these triggers hold for the owner too, as defence in depth. An owner can drop
-- them: the hash chain and signed checkpoints still detect what is done after that.
-- See docs/audit.md.

CREATE FUNCTION dv_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE FUNCTION dv_audit_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sequence IS NOT NULL THEN
        RAISE EXCEPTION 'UPDATE on dv_audit refused: entry % is sealed and never changes',
            OLD.sequence USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.format, NEW.occurred_at, NEW.tenant, NEW.principal, NEW.purpose,
        NEW.action, NEW.collection, NEW.record_id, NEW.subject_id, NEW.subjects, NEW.fields,
        NEW.outcome, NEW.reason, NEW.request_id)
       IS DISTINCT FROM
       (OLD.id, OLD.format, OLD.occurred_at, OLD.tenant, OLD.principal, OLD.purpose,
        OLD.action, OLD.collection, OLD.record_id, OLD.subject_id, OLD.subjects, OLD.fields,
        OLD.outcome, OLD.reason, OLD.request_id) THEN
        RAISE EXCEPTION 'UPDATE on dv_audit refused: only an unsealed entry''s seal may be set'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION dv_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.singleton <> OLD.singleton OR NEW.size < OLD.size THEN
        RAISE EXCEPTION 'UPDATE on dv_audit_head refused: the head only moves forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER dv_audit_seal_only BEFORE UPDATE ON dv_audit
    FOR EACH ROW EXECUTE FUNCTION dv_audit_seal_only();
CREATE TRIGGER dv_audit_no_delete BEFORE DELETE ON dv_audit
    FOR EACH ROW EXECUTE FUNCTION dv_audit_refuse();
CREATE TRIGGER dv_audit_no_truncate BEFORE TRUNCATE ON dv_audit
    FOR EACH STATEMENT EXECUTE FUNCTION dv_audit_refuse();

CREATE TRIGGER dv_audit_head_forward BEFORE UPDATE ON dv_audit_head
    FOR EACH ROW EXECUTE FUNCTION dv_audit_head_forward();
CREATE TRIGGER dv_audit_head_no_delete BEFORE DELETE ON dv_audit_head
    FOR EACH ROW EXECUTE FUNCTION dv_audit_refuse();
CREATE TRIGGER dv_audit_head_no_truncate BEFORE TRUNCATE ON dv_audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION dv_audit_refuse();

CREATE TRIGGER dv_audit_checkpoints_no_update BEFORE UPDATE ON dv_audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION dv_audit_refuse();
CREATE TRIGGER dv_audit_checkpoints_no_delete BEFORE DELETE ON dv_audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION dv_audit_refuse();
CREATE TRIGGER dv_audit_checkpoints_no_truncate BEFORE TRUNCATE ON dv_audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION dv_audit_refuse();
