//! Create: one record, a batch, or a person with their consent.

use std::collections::HashMap;

use datavern_core::access::{ConsentState, Grant, Operation};
use datavern_core::catalog::Kommunenummer;
use datavern_core::consent::{ConsentAction, ConsentEvent};
use datavern_core::controls::SubjectControls;
use datavern_core::record::{FieldValue, Mode, ValidatedRecord};
use datavern_crypto::DataKey;
use datavern_sql::{At, Conn, Tx, TxMode};
use sea_query::{Expr, SimpleExpr};
use uuid::Uuid;

use super::{
    Column, IndexKeys, Refusal, SealContext, append_changes, check_references, check_writable,
    expect_mode, indexed_fields, insert_rows, needs_key, reference_expr, referenced_record,
    resolve, write_entry,
};
use crate::audit::AuditEntry;
use crate::error::Result;
use crate::jobs::Checkpoint;
use crate::outbox::{RecordChange, RecordEvent};
use crate::records::control::ControlQuery;
use crate::records::error::RecordError;
use crate::records::read::visible_subjects;
use crate::records::unique::UniqueValue;
use crate::records::{MAX_BATCH, RecordView, Records, RequestMeta, check_operation, time_expr};
use crate::table::{KeyOwner, Table, TableField};

pub(in crate::records) async fn create(
    records: &Records,
    grant: &Grant,
    record: ValidatedRecord,
    meta: &RequestMeta,
) -> Result<RecordView> {
    let mut views = create_all(records, grant, vec![record], Also::Nothing, meta).await?;
    // One record in, one view out.
    views.pop().ok_or_else(|| {
        RecordError::NotFound {
            collection: grant.collection().to_string(),
        }
        .into()
    })
}

/// What a create writes in its transaction besides the records, their audit entries and
/// outbox events.
#[derive(Clone, Copy)]
enum Also<'a> {
    /// Nothing else.
    Nothing,
    /// The consent of each person created (see [`Records::create_with_consent`]).
    Consent(&'a ConsentEvent),
    /// A resumable job's checkpoint (see [`crate::jobs`]).
    Checkpoint(&'a Checkpoint),
}

/// A record to create, checked and with its id, references and key owner settled.
struct NewRecord<'p, 'r> {
    record: &'r ValidatedRecord,
    values: Vec<(&'p TableField, &'r FieldValue)>,
    id: Uuid,
    references: Vec<Option<Uuid>>,
    referenced: Vec<(usize, Uuid)>,
    owner: Uuid,
}

/// Checks one record of a create (mode, writable fields, storable values) and settles its
/// id, references and key owner.
fn prepare<'p, 'r>(
    plan: &'p Table,
    grant: &Grant,
    record: &'r ValidatedRecord,
) -> Result<NewRecord<'p, 'r>> {
    expect_mode(record, Mode::Create)?;
    check_writable(grant, record)?;
    let values = resolve(plan, record)?;
    let id = Uuid::now_v7();
    let references: Vec<Option<Uuid>> = plan
        .references
        .iter()
        .map(|r| referenced_record(record, &r.name))
        .collect();
    let owner = plan.write_owner(id, &references)?;
    let referenced = references
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    Ok(NewRecord {
        record,
        values,
        id,
        references,
        referenced,
        owner,
    })
}

pub(in crate::records) async fn create_many(
    records: &Records,
    grant: &Grant,
    batch: Vec<ValidatedRecord>,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    create_all(records, grant, batch, Also::Nothing, meta).await
}

/// [`create_many`] with a job's checkpoint moved in the same transaction (see
/// [`Records::create_many_checkpointed`]).
pub(in crate::records) async fn create_many_checkpointed(
    records: &Records,
    grant: &Grant,
    batch: Vec<ValidatedRecord>,
    checkpoint: &Checkpoint,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    create_all(records, grant, batch, Also::Checkpoint(checkpoint), meta).await
}

/// Creates the person `record` with its consent `consent` to the grant's purpose, recorded in
/// the same transaction (see [`Records::create_with_consent`]).
pub(in crate::records) async fn create_with_consent(
    records: &Records,
    grant: &Grant,
    record: ValidatedRecord,
    consent: &ConsentEvent,
    meta: &RequestMeta,
) -> Result<RecordView> {
    let mut views = create_all(records, grant, vec![record], Also::Consent(consent), meta).await?;
    // One record in, one view out.
    views.pop().ok_or_else(|| {
        RecordError::NotFound {
            collection: grant.collection().to_string(),
        }
        .into()
    })
}

/// Creates the records of `batch`, all or none, and writes what `also` says with them (the
/// consent of each person created, a job's checkpoint). Before the transaction: the checks, the new persons' consent, the
/// references, the owners' keys, blind-index keys and unique values, the sealed rows and the
/// audit entries; in it: the references again, the referenced subjects' controls, the unique
/// claims, the rows, audit entries, outbox events and consents.
async fn create_all(
    records: &Records,
    grant: &Grant,
    batch: Vec<ValidatedRecord>,
    also: Also<'_>,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    let consent = match also {
        Also::Consent(event) => Some(event),
        Also::Nothing | Also::Checkpoint(_) => None,
    };
    check_operation(grant, Operation::Create)?;
    check_batch_size(batch.len())?;
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let own_consent = own_consent(records, grant, plan, consent)?;
    let prepared = batch
        .iter()
        .map(|record| prepare(plan, grant, record))
        .collect::<Result<Vec<_>>>()?;
    records
        .check_new_persons(grant, plan, own_consent, meta)
        .await?;
    let referenced: Vec<(usize, Uuid)> = prepared
        .iter()
        .flat_map(|r| r.referenced.iter().copied())
        .collect();
    records
        .precheck_references(plan, tenant, &referenced)
        .await?;
    let keys = records.owner_keys(tenant, &prepared).await?;
    let indexed = indexed_fields(prepared.iter().flat_map(|r| r.values.iter().copied()));
    let index = records.index_keys(tenant, plan, indexed).await?;
    let unique = records.unique_claims(tenant, plan, &prepared).await?;

    let now = records.now();
    let time = time_expr(records.inner.store.data().backend(), now);
    let groups = records.new_rows(tenant, plan, &prepared, &keys, &index, &time)?;
    let entries: Vec<AuditEntry> = prepared
        .iter()
        .map(|new| created_entry(now.into(), plan, grant, new, meta))
        .collect();

    // All rows, audit entries and outbox events in one transaction: all or nothing.
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    check_references(&mut tx.conn(), plan, tenant, &referenced).await?;
    if let Some(refusal) = records
        .check_referenced_subjects(&mut tx, grant, plan, &prepared, own_consent)
        .await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    if let Some(refusal) = records
        .duplicate_of_new(&mut tx, plan, tenant, &prepared, &unique)
        .await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    for (names, rows) in groups {
        insert_rows(&mut tx.conn(), plan.table(), &names, rows).await?;
    }
    let events = prepared
        .iter()
        .map(|new| RecordEvent {
            change: RecordChange::Created,
            tenant,
            collection: plan.name(),
            record: new.id,
            version: 1,
            fields: new.record.field_names().map(|f| f.to_string()).collect(),
            time: now,
        })
        .collect();
    append_changes(&mut tx.conn(), &entries.iter().collect::<Vec<_>>(), events).await?;
    match also {
        Also::Consent(event) => {
            append_consents(&mut tx.conn(), now.into(), grant, &prepared, event, meta).await?;
        }
        Also::Checkpoint(checkpoint) => {
            crate::jobs::advance_in(&mut tx.conn(), checkpoint, now.into()).await?;
        }
        Also::Nothing => {}
    }
    tx.commit().await?;
    tracing::debug!(records = prepared.len(), "Created records");
    Ok(prepared
        .iter()
        .map(|new| created_view(plan, grant, new, now))
        .collect())
}

/// Refuses a batch of more than [`MAX_BATCH`] records.
fn check_batch_size(given: usize) -> Result<()> {
    if given > MAX_BATCH {
        return Err(RecordError::BatchTooLarge {
            given,
            max: MAX_BATCH,
        }
        .into());
    }
    Ok(())
}

/// The consent of the persons a create makes to the create's purpose: granted when the
/// create brings a consent (`consent`), which must be a grant to the create's purpose, a
/// purpose resting on consent, of a person the create makes (`subjects: self`).
fn own_consent(
    records: &Records,
    grant: &Grant,
    plan: &Table,
    consent: Option<&ConsentEvent>,
) -> Result<ConsentState> {
    let Some(event) = consent else {
        return Ok(ConsentState::NotGranted);
    };
    datavern_core::consent::consent_purpose(&records.inner.catalog, event.purpose().as_str())
        .map_err(RecordError::from)?;
    if event.purpose() != grant.purpose()
        || event.action() != ConsentAction::Grant
        || plan.key_owner() != KeyOwner::Record
    {
        return Err(RecordError::ConsentNotApplicable {
            collection: plan.name().to_owned(),
            purpose: grant.purpose().to_string(),
        }
        .into());
    }
    Ok(ConsentState::Granted)
}

/// Rows of one set of columns (a record that leaves out an optional field has fewer), in
/// the order each set of columns first appears; each group is written with multi-row
/// `INSERT`s.
type RowGroups<'p> = Vec<(Vec<&'p str>, Vec<Vec<SimpleExpr>>)>;

impl Records {
    /// Refuses (with its audit entry) a create of persons (`subjects: self`) for a purpose
    /// that needs each person's consent when the create brings none. A new person has no
    /// restriction or objection yet: only consent can refuse, and that is known before
    /// anything is written.
    async fn check_new_persons(
        &self,
        grant: &Grant,
        plan: &Table,
        own_consent: ConsentState,
        meta: &RequestMeta,
    ) -> Result<()> {
        if plan.key_owner() != KeyOwner::Record
            || grant.consent() != datavern_core::access::ConsentCheck::PerRecord
        {
            return Ok(());
        }
        let own = SubjectControls {
            consent: own_consent,
            ..SubjectControls::default()
        };
        if let Err(denial) = datavern_core::controls::check(&self.inner.catalog, grant, &own) {
            return Err(self
                .refuse(grant, None, None, Vec::new(), denial, meta)
                .await);
        }
        Ok(())
    }

    /// Checks the `referenced` persons exist before a key is made for any of them: a
    /// reference to nobody must not leave a key behind. Checked again in the write's
    /// transaction.
    async fn precheck_references(
        &self,
        plan: &Table,
        tenant: Kommunenummer,
        referenced: &[(usize, Uuid)],
    ) -> Result<()> {
        if referenced.is_empty() {
            return Ok(());
        }
        let mut tx = Tx::begin(self.inner.store.data(), tenant, TxMode::Read).await?;
        check_references(&mut tx.conn(), plan, tenant, referenced).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The data keys of the owners of the records that seal a value, all at once: one key
    /// store query, one KEK call and one key store transaction for those that have none yet.
    /// A record that is its own key's owner (`subjects: self`, or a key of its own) has an
    /// id made just now, so no key yet: its key is made without asking the key store first.
    async fn owner_keys(
        &self,
        tenant: Kommunenummer,
        prepared: &[NewRecord<'_, '_>],
    ) -> Result<HashMap<Uuid, DataKey>> {
        let (fresh, owners): (Vec<&NewRecord<'_, '_>>, Vec<&NewRecord<'_, '_>>) = prepared
            .iter()
            .filter(|r| needs_key(&r.values))
            .partition(|r| r.owner == r.id);
        let owners: Vec<Uuid> = owners.iter().map(|r| r.owner).collect();
        let mut keys = self.inner.keys.write_keys(tenant, &owners).await?;
        let fresh: Vec<Uuid> = fresh.iter().map(|r| r.owner).collect();
        keys.extend(self.inner.keys.new_subject_keys(tenant, fresh).await?);
        Ok(keys)
    }

    /// The values the records of a create give the collection's unique fields.
    async fn unique_claims<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        prepared: &[NewRecord<'p, '_>],
    ) -> Result<Vec<UniqueValue<'p>>> {
        let mut unique = Vec::new();
        for new in prepared {
            unique.extend(
                self.unique_values(tenant, plan, new.id, &new.values)
                    .await?,
            );
        }
        Ok(unique)
    }

    /// The rows of a create: id, tenant, subject references, the values sealed under their
    /// owner's key (from `keys`), times `time` and version 1.
    fn new_rows<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        prepared: &[NewRecord<'p, '_>],
        keys: &HashMap<Uuid, DataKey>,
        index: &IndexKeys<'p>,
        time: &SimpleExpr,
    ) -> Result<RowGroups<'p>> {
        let tenant_expr: SimpleExpr = Expr::val(tenant.as_str()).into();
        let mut groups: RowGroups<'p> = Vec::new();
        let mut columns: Vec<Column<'p>> = Vec::new();
        for new in prepared {
            let cx = SealContext {
                tenant,
                plan,
                record: new.id,
                owner: new.owner,
            };
            columns.clear();
            columns.push(("id", Expr::val(new.id).into()));
            columns.push(("tenant", tenant_expr.clone()));
            for (reference, subject) in plan.references.iter().zip(&new.references) {
                columns.push((reference.column.as_str(), reference_expr(*subject)));
            }
            let key = if needs_key(&new.values) {
                keys.get(&new.owner)
            } else {
                None
            };
            self.seal_values(&cx, &new.values, key, index, &mut columns)?;
            columns.push(("created_at", time.clone()));
            columns.push(("updated_at", time.clone()));
            columns.push(("version", Expr::val(1i64).into()));
            let (names, values): (Vec<&str>, Vec<SimpleExpr>) = columns.drain(..).unzip();
            match groups.iter_mut().find(|(group, _)| *group == names) {
                Some((_, rows)) => rows.push(values),
                None => groups.push((names, vec![values])),
            }
        }
        Ok(groups)
    }

    /// Why a create must be refused, if it must, when a record's key owner is its primary
    /// reference: the controls (restriction, objection, consent) of the persons the records
    /// reference, read in the write transaction `tx`.
    async fn check_referenced_subjects(
        &self,
        tx: &mut Tx,
        grant: &Grant,
        plan: &Table,
        prepared: &[NewRecord<'_, '_>],
        own_consent: ConsentState,
    ) -> Result<Option<Refusal>> {
        if plan.key_owner() != KeyOwner::PrimaryReference {
            return Ok(None);
        }
        let catalog = &self.inner.catalog;
        let subjects: Vec<&[Option<Uuid>]> =
            prepared.iter().map(|r| r.references.as_slice()).collect();
        let states = ControlQuery::new(catalog, grant)
            .for_new_records(&mut tx.conn(), plan, &subjects, own_consent)
            .await?;
        for (new, state) in prepared.iter().zip(&states) {
            if let Err(denial) = datavern_core::controls::check(catalog, grant, state) {
                return Ok(Some(Refusal {
                    record: None,
                    primary: plan.primary_subject(new.id, &new.references),
                    secondary: plan.secondary_subjects(&new.references),
                    error: RecordError::Denied(Box::new(denial)),
                }));
            }
        }
        Ok(None)
    }

    /// The refusal of a create that gives a unique field a value another record (or another
    /// record of the batch) has, if it does; the values are claimed in `tx` (see `unique`).
    async fn duplicate_of_new(
        &self,
        tx: &mut Tx,
        plan: &Table,
        tenant: Kommunenummer,
        prepared: &[NewRecord<'_, '_>],
        unique: &[UniqueValue<'_>],
    ) -> Result<Option<Refusal>> {
        let Some((error, record)) = self
            .find_duplicate(&mut tx.conn(), plan, tenant, unique)
            .await?
        else {
            return Ok(None);
        };
        let references = prepared
            .iter()
            .find(|new| new.id == record)
            .map(|new| new.references.as_slice())
            .unwrap_or_default();
        // The record was not written: its own id names nobody yet.
        let primary = plan
            .primary_subject(record, references)
            .filter(|subject| *subject != record);
        Ok(Some(Refusal {
            record: None,
            primary,
            secondary: plan.secondary_subjects(references),
            error,
        }))
    }
}

/// The audit entry of the create of `new`.
fn created_entry(
    at: At,
    plan: &Table,
    grant: &Grant,
    new: &NewRecord<'_, '_>,
    meta: &RequestMeta,
) -> AuditEntry {
    write_entry(
        at,
        grant,
        Some(new.record.field_names().collect()),
        new.id,
        plan.primary_subject(new.id, &new.references),
        plan.secondary_subjects(&new.references),
        meta,
    )
}

/// Records `event`, the consent given with a create, for each person the create makes, in
/// the create's transaction.
async fn append_consents(
    conn: &mut Conn<'_>,
    at: At,
    grant: &Grant,
    prepared: &[NewRecord<'_, '_>],
    event: &ConsentEvent,
    meta: &RequestMeta,
) -> Result<()> {
    let actor = crate::consent::Actor {
        tenant: grant.tenant(),
        id: grant.principal().as_str(),
        at,
    };
    for new in prepared {
        crate::consent::append_consent(conn, actor, new.id, event, meta.request_id.as_deref())
            .await?;
    }
    Ok(())
}

/// The view of the created record `new`: the values it was given, of the fields the grant
/// may read (plain already, so showing them needs no key).
fn created_view(
    plan: &Table,
    grant: &Grant,
    new: &NewRecord<'_, '_>,
    now: time::OffsetDateTime,
) -> RecordView {
    let fields = plan
        .fields
        .iter()
        .filter(|f| grant.may_read(&f.name))
        .map(|f| {
            let value = new.record.get(&f.name).cloned().unwrap_or(FieldValue::Null);
            (f.field_name.clone(), value)
        })
        .collect();
    RecordView {
        id: new.id,
        tenant: grant.tenant(),
        collection: plan.name().to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        fields,
        withheld: grant.withheld().to_vec(),
        subjects: visible_subjects(plan, grant, new.id, &new.references),
    }
}
