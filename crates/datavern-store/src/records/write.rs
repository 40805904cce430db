//! The write path: every create, update and delete is one data-database transaction holding
//! the row change, its audit entry and its outbox event.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use datavern_core::access::{ConsentState, Denial, Grant, Operation};
use datavern_core::catalog::{ArchiveDuty, FieldName, Kommunenummer};
use datavern_core::consent::{ConsentAction, ConsentEvent};
use datavern_core::controls::SubjectControls;
use datavern_core::record::{FieldValue, Mode, ValidatedRecord};
use datavern_crypto::{BlindIndexKey, DataKey};
use datavern_sql::{At, Backend, Conn};
use sea_query::{Alias, Expr, LockType, Query, SimpleExpr};
use uuid::Uuid;

use super::control::ControlQuery;
use super::error::RecordError;
use super::read::{Stored, StoredRow, row_select, to_row, visible_subjects};
use super::row::{self, Cell, ColumnKind};
use super::{MAX_BATCH, RecordView, Records, RequestMeta, check_operation, time_expr, with_meta};
use super::{codec, history};
use crate::audit::{self, AuditEntry};
use crate::error::Result;
use crate::outbox::{self, RecordChange, RecordEvent};
use crate::table::{KeyOwner, Table, TableField};
use datavern_sql::{Tx, TxMode};

/// Referenced ids per query when checking references (well below every backend's
/// parameter limit).
const REFERENCE_CHUNK: usize = 500;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn denied(denial: Denial) -> crate::StoreError {
    RecordError::Denied(Box::new(denial)).into()
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Create => "create",
        Mode::Patch => "patch",
    }
}

/// The record's values paired with their fields' plans, each checked against its column.
fn resolve<'p, 'r>(
    plan: &'p Table,
    record: &'r ValidatedRecord,
) -> Result<Vec<(&'p TableField, &'r FieldValue)>> {
    record
        .iter()
        .map(|(name, value)| {
            let field = plan
                .field(name.as_str())
                .ok_or_else(|| RecordError::Unstorable {
                    field: name.to_string(),
                    reason: format!(
                        "collection `{}` has no such field (the record was validated for another \
                     collection)",
                        plan.name()
                    ),
                })?;
            codec::check_storable(field, value)?;
            Ok((field, value))
        })
        .collect()
}

/// What sealing needs to know about the record.
struct SealContext<'a> {
    tenant: Kommunenummer,
    plan: &'a Table,
    record: Uuid,
    owner: Uuid,
}

/// The blind-index keys of the searchable fields a write sets, fetched once per write (or
/// batch) rather than once per value.
struct IndexKeys<'p> {
    keys: Vec<(&'p str, BlindIndexKey)>,
}

/// A column and its value, named as in the plan.
type Column<'p> = (&'p str, SimpleExpr);

impl Records {
    /// The blind-index keys of `fields` (see [`indexed_fields`]).
    async fn index_keys<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        fields: Vec<&'p TableField>,
    ) -> Result<IndexKeys<'p>> {
        let mut keys = Vec::with_capacity(fields.len());
        for field in fields {
            let key = self
                .inner
                .keys
                .index_key(tenant, plan.name(), &field.name, field.index_length)
                .await?;
            keys.push((field.name.as_str(), key));
        }
        Ok(IndexKeys { keys })
    }

    /// The column values of `values`: encrypted fields sealed with `key`, the owner's data
    /// key (needed when [`needs_key`] says so), and bound to tenant, collection, field,
    /// record and owner; blind indexes of searchable fields (with `index`, which must hold
    /// the key of every searchable field with a value); plain fields as their SQL type.
    fn seal_values<'p>(
        &self,
        cx: &SealContext<'p>,
        values: &[(&'p TableField, &FieldValue)],
        key: Option<&DataKey>,
        index: &IndexKeys<'p>,
        columns: &mut Vec<Column<'p>>,
    ) -> Result<()> {
        let backend = self.inner.store.data().backend();
        for (field, value) in values {
            if !field.encrypted {
                columns.push((field.name.as_str(), codec::plain_expr(backend, value)));
                continue;
            }
            let sealed = match key {
                Some(key) => cx
                    .plan
                    .seal(key, cx.tenant, field, cx.record, cx.owner, value)?,
                None => None,
            };
            columns.push((field.name.as_str(), codec::bytes_expr(sealed)));
            if let Some(index_column) = &field.blind_index {
                let index = match field.index_form(value) {
                    Some(form) => {
                        let key = index
                            .keys
                            .iter()
                            .find(|(name, _)| *name == field.name)
                            .map(|(_, key)| key)
                            .ok_or_else(|| RecordError::Unstorable {
                                field: field.name.clone(),
                                reason: "no blind-index key was fetched for it".to_owned(),
                            })?;
                        Some(key.compute(form.as_bytes()).as_bytes().to_vec())
                    }
                    None => None,
                };
                columns.push((index_column.as_str(), codec::bytes_expr(index)));
            }
        }
        Ok(())
    }
}

/// The searchable fields that have a value in `values`, each once: those whose blind-index
/// keys a write needs.
fn indexed_fields<'p, 'v>(
    values: impl IntoIterator<Item = (&'p TableField, &'v FieldValue)>,
) -> Vec<&'p TableField> {
    let mut fields: Vec<&'p TableField> = Vec::new();
    for (field, value) in values {
        if field.blind_index.is_some()
            && !value.is_null()
            && !fields.iter().any(|f| f.name == field.name)
        {
            fields.push(field);
        }
    }
    fields
}

/// Whether sealing `values` needs the owner's data key: some encrypted field has a value.
fn needs_key(values: &[(&TableField, &FieldValue)]) -> bool {
    values
        .iter()
        .any(|(field, value)| field.encrypted && !value.is_null())
}

/// Checks, inside the write's transaction, that every referenced person exists in the
/// tenant: one query per reference and [`REFERENCE_CHUNK`] ids, so a batch costs a few round
/// trips. Rows inserted earlier in the same transaction are seen. The first missing
/// reference (in the order given) is the error.
async fn check_references(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: Kommunenummer,
    references: &[(usize, Uuid)],
) -> Result<()> {
    let mut wanted: BTreeMap<usize, BTreeSet<Uuid>> = BTreeMap::new();
    for (position, id) in references {
        wanted.entry(*position).or_default().insert(*id);
    }
    let mut found: HashSet<(usize, Uuid)> = HashSet::new();
    for (position, ids) in wanted {
        let reference = &plan.references[position];
        let ids: Vec<Uuid> = ids.into_iter().collect();
        for chunk in ids.chunks(REFERENCE_CHUNK) {
            let select = Query::select()
                .column(col("id"))
                .from(col(&reference.target_table))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col("id")).is_in(chunk.iter().copied()))
                .to_owned();
            for cells in row::fetch(conn, &select, &[ColumnKind::Uuid]).await? {
                if let Some(Cell::Uuid(id)) = cells.into_iter().next() {
                    found.insert((position, id));
                }
            }
        }
    }
    match references.iter().find(|r| !found.contains(r)) {
        None => Ok(()),
        Some((position, _)) => {
            let reference = &plan.references[*position];
            Err(RecordError::ReferenceNotFound {
                field: reference.field.clone(),
                collection: reference.target_collection.clone(),
            }
            .into())
        }
    }
}

/// Inserts `rows` (each with a value for every column of `names`, in that order) into
/// `table` with multi-row `INSERT`s of as many rows as the backend's parameter limit allows.
async fn insert_rows(
    conn: &mut Conn<'_>,
    table: &str,
    names: &[&str],
    rows: Vec<Vec<SimpleExpr>>,
) -> Result<()> {
    let per_statement = conn.backend().rows_per_insert(names.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = Query::insert();
        insert
            .into_table(col(table))
            .columns(names.iter().map(|name| col(name)));
        for values in rows.by_ref().take(per_statement) {
            // As many values as columns: cannot panic.
            insert.values_panic(values);
        }
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// The audit entry of a write of record `id` about `subjects` (primary first).
fn write_entry(
    at: At,
    grant: &Grant,
    fields: Option<Vec<&FieldName>>,
    id: Uuid,
    primary: Option<Uuid>,
    secondary: Vec<Uuid>,
    meta: &RequestMeta,
) -> AuditEntry {
    let facts = match fields {
        Some(fields) => grant.audit().with_fields(fields),
        None => grant.audit(),
    };
    let mut entry = AuditEntry::from_facts(at, &facts).with_record(id);
    if let Some(primary) = primary {
        entry = entry.with_subject(primary);
    }
    with_meta(entry.with_subjects(secondary), meta)
}

/// Reads the row for a change, locked (`FOR UPDATE` on PostgreSQL and MariaDB/MySQL; the
/// SQLite write transaction already holds the database's write lock).
async fn locked_row(
    conn: &mut Conn<'_>,
    plan: &Table,
    backend: Backend,
    controls: &ControlQuery,
    tenant: Kommunenummer,
    id: Uuid,
) -> Result<StoredRow> {
    let (mut select, kinds) = row_select(plan, backend, Some(controls));
    select
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .lock(LockType::Update);
    let row = row::fetch(conn, &select, &kinds).await?.into_iter().next();
    match row {
        Some(cells) => to_row(plan, Some(controls), cells),
        None => Err(RecordError::NotFound {
            collection: plan.name().to_owned(),
        }
        .into()),
    }
}

pub(super) async fn create(
    records: &Records,
    grant: &Grant,
    record: ValidatedRecord,
    meta: &RequestMeta,
) -> Result<RecordView> {
    let mut views = create_all(records, grant, vec![record], None, meta).await?;
    // One record in, one view out.
    views.pop().ok_or_else(|| {
        RecordError::NotFound {
            collection: grant.collection().to_string(),
        }
        .into()
    })
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
    if record.mode() != Mode::Create {
        return Err(RecordError::WrongMode {
            validated: mode_name(record.mode()),
            expected: "create",
        }
        .into());
    }
    grant
        .check_write(record.field_names().map(FieldName::as_str))
        .map_err(denied)?;
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

pub(super) async fn create_many(
    records: &Records,
    grant: &Grant,
    batch: Vec<ValidatedRecord>,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    create_all(records, grant, batch, None, meta).await
}

/// Creates the person `record` with its consent `consent` to the grant's purpose, recorded in
/// the same transaction (see [`Records::create_with_consent`]).
pub(super) async fn create_with_consent(
    records: &Records,
    grant: &Grant,
    record: ValidatedRecord,
    consent: &ConsentEvent,
    meta: &RequestMeta,
) -> Result<RecordView> {
    let mut views = create_all(records, grant, vec![record], Some(consent), meta).await?;
    // One record in, one view out.
    views.pop().ok_or_else(|| {
        RecordError::NotFound {
            collection: grant.collection().to_string(),
        }
        .into()
    })
}

async fn create_all(
    records: &Records,
    grant: &Grant,
    batch: Vec<ValidatedRecord>,
    consent: Option<&ConsentEvent>,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    check_operation(grant, Operation::Create)?;
    if batch.len() > MAX_BATCH {
        return Err(RecordError::BatchTooLarge {
            given: batch.len(),
            max: MAX_BATCH,
        }
        .into());
    }
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let backend = records.inner.store.data().backend();
    let catalog = &records.inner.catalog;
    let controls = ControlQuery::new(catalog, grant);
    // A consent given with the create: a grant to the create's purpose, which must rest on
    // consent, of a person the create makes (`subjects: self`).
    let own_consent = match consent {
        None => ConsentState::NotGranted,
        Some(event) => {
            datavern_core::consent::consent_purpose(catalog, event.purpose().as_str())
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
            ConsentState::Granted
        }
    };
    let prepared = batch
        .iter()
        .map(|record| prepare(plan, grant, record))
        .collect::<Result<Vec<_>>>()?;
    if plan.key_owner() == KeyOwner::Record {
        // A new person has no restriction or objection yet: only consent can refuse, and
        // that is known before anything is written.
        let own = SubjectControls {
            consent: own_consent,
            ..SubjectControls::default()
        };
        if grant.consent() == datavern_core::access::ConsentCheck::PerRecord
            && let Err(denial) = datavern_core::controls::check(catalog, grant, &own)
        {
            return Err(records
                .refuse(grant, None, None, Vec::new(), denial, meta)
                .await);
        }
    }

    let referenced: Vec<(usize, Uuid)> = prepared
        .iter()
        .flat_map(|r| r.referenced.iter().copied())
        .collect();
    if !referenced.is_empty() {
        // Before a key is made for a referenced subject: a reference to nobody must not
        // leave a key behind. Checked again in the write's transaction.
        let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Read).await?;
        check_references(&mut tx.conn(), plan, tenant, &referenced).await?;
        tx.commit().await?;
    }
    // Every owner's key at once: one key store query, one KEK call and one key store
    // transaction for those that have none yet. A record that is its own key's owner
    // (`subjects: self`, or a key of its own) has an id made just now, so no key yet: its
    // key is made without asking the key store first.
    let (fresh, owners): (Vec<&NewRecord<'_, '_>>, Vec<&NewRecord<'_, '_>>) = prepared
        .iter()
        .filter(|r| needs_key(&r.values))
        .partition(|r| r.owner == r.id);
    let owners: Vec<Uuid> = owners.iter().map(|r| r.owner).collect();
    let mut keys = records.inner.keys.write_keys(tenant, &owners).await?;
    let fresh: Vec<Uuid> = fresh.iter().map(|r| r.owner).collect();
    keys.extend(records.inner.keys.new_subject_keys(tenant, fresh).await?);

    let indexed = indexed_fields(prepared.iter().flat_map(|r| r.values.iter().copied()));
    let index = records.index_keys(tenant, plan, indexed).await?;
    let mut unique = Vec::new();
    for new in &prepared {
        unique.extend(
            records
                .unique_values(tenant, plan, new.id, &new.values)
                .await?,
        );
    }

    let now = records.now();
    let time = time_expr(backend, now);
    let tenant_expr: SimpleExpr = Expr::val(tenant.as_str()).into();
    // Rows grouped by their columns (a record that leaves out an optional field has fewer),
    // in the order each set of columns first appears; each group is written with multi-row
    // INSERTs.
    let mut groups: Vec<(Vec<&str>, Vec<Vec<SimpleExpr>>)> = Vec::new();
    let mut entries = Vec::with_capacity(prepared.len());
    let mut columns: Vec<Column<'_>> = Vec::new();
    for new in &prepared {
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
            let value = match subject {
                Some(subject) => Expr::val(*subject).into(),
                None => SimpleExpr::Keyword(sea_query::Keyword::Null),
            };
            columns.push((reference.column.as_str(), value));
        }
        let key = if needs_key(&new.values) {
            keys.get(&new.owner)
        } else {
            None
        };
        records.seal_values(&cx, &new.values, key, &index, &mut columns)?;
        columns.push(("created_at", time.clone()));
        columns.push(("updated_at", time.clone()));
        columns.push(("version", Expr::val(1i64).into()));
        let (names, values): (Vec<&str>, Vec<SimpleExpr>) = columns.drain(..).unzip();
        match groups.iter_mut().find(|(group, _)| *group == names) {
            Some((_, rows)) => rows.push(values),
            None => groups.push((names, vec![values])),
        }

        let primary = plan.primary_subject(new.id, &new.references);
        let secondary = plan.secondary_subjects(&new.references);
        entries.push(write_entry(
            now.into(),
            grant,
            Some(new.record.field_names().collect()),
            new.id,
            primary,
            secondary,
            meta,
        ));
    }

    // All rows, audit entries and outbox events in one transaction: all or nothing.
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    check_references(&mut tx.conn(), plan, tenant, &referenced).await?;
    if plan.key_owner() == KeyOwner::PrimaryReference {
        let subjects: Vec<&[Option<Uuid>]> =
            prepared.iter().map(|r| r.references.as_slice()).collect();
        let states = controls
            .for_new_records(&mut tx.conn(), plan, &subjects, own_consent)
            .await?;
        for (new, state) in prepared.iter().zip(&states) {
            if let Err(denial) = datavern_core::controls::check(catalog, grant, state) {
                // Audited outside the write transaction (the group commit needs the lock).
                drop(tx);
                let (primary, secondary) = (
                    plan.primary_subject(new.id, &new.references),
                    plan.secondary_subjects(&new.references),
                );
                return Err(records
                    .refuse(grant, None, primary, secondary, denial, meta)
                    .await);
            }
        }
    }
    if let Some((error, record)) = records
        .find_duplicate(&mut tx.conn(), plan, tenant, &unique)
        .await?
    {
        drop(tx);
        let references = prepared
            .iter()
            .find(|new| new.id == record)
            .map(|new| new.references.as_slice())
            .unwrap_or_default();
        // The record was not written: its own id names nobody yet.
        let (primary, secondary) = (
            plan.primary_subject(record, references),
            plan.secondary_subjects(references),
        );
        let primary = primary.filter(|subject| *subject != record);
        return Err(records
            .refuse_with(grant, None, primary, secondary, error, meta)
            .await);
    }
    for (names, rows) in groups {
        insert_rows(&mut tx.conn(), plan.table(), &names, rows).await?;
    }
    audit::append_all(&mut tx.conn(), &entries.iter().collect::<Vec<_>>()).await?;
    outbox::append_all(
        &mut tx.conn(),
        prepared
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
            .collect(),
    )
    .await?;
    if let Some(event) = consent {
        let actor = crate::controls::Actor {
            tenant,
            id: grant.principal().as_str(),
            at: now.into(),
        };
        for new in &prepared {
            crate::controls::append_consent(
                &mut tx.conn(),
                actor,
                new.id,
                event,
                meta.request_id.as_deref(),
            )
            .await?;
        }
    }
    tx.commit().await?;
    tracing::debug!(records = prepared.len(), "Created records");

    Ok(prepared
        .iter()
        .map(|new| {
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
                tenant,
                collection: plan.name().to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
                fields,
                withheld: grant.withheld().to_vec(),
                subjects: visible_subjects(plan, grant, new.id, &new.references),
            }
        })
        .collect())
}

pub(super) async fn update(
    records: &Records,
    grant: &Grant,
    id: Uuid,
    patch: ValidatedRecord,
    expected_version: Option<i64>,
    meta: &RequestMeta,
) -> Result<RecordView> {
    check_operation(grant, Operation::Update)?;
    if patch.mode() != Mode::Patch {
        return Err(RecordError::WrongMode {
            validated: mode_name(patch.mode()),
            expected: "patch",
        }
        .into());
    }
    if patch.is_empty() {
        return Err(RecordError::EmptyUpdate.into());
    }
    grant
        .check_write(patch.field_names().map(FieldName::as_str))
        .map_err(denied)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let backend = records.inner.store.data().backend();
    let patch_values = resolve(plan, &patch)?;

    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    let mut row = locked_row(&mut tx.conn(), plan, backend, &controls, tenant, id).await?;
    if let Err(denial) =
        datavern_core::controls::check(&records.inner.catalog, grant, &row.controls)
    {
        // Audited outside the write transaction (the group commit needs the write lock).
        drop(tx);
        let (primary, secondary) = (row.primary_subject(plan), row.secondary_subjects(plan));
        return Err(records
            .refuse(grant, Some(id), primary, secondary, denial, meta)
            .await);
    }
    if let Some(error) = guard(records, &mut tx, plan, tenant, &row, Change::Update).await? {
        drop(tx);
        let (primary, secondary) = (row.primary_subject(plan), row.secondary_subjects(plan));
        return Err(records
            .refuse_with(grant, Some(id), primary, secondary, error, meta)
            .await);
    }
    if let Some(expected) = expected_version
        && expected != row.version
    {
        return Err(RecordError::VersionConflict {
            expected,
            current: row.version,
        }
        .into());
    }

    // Subject references the patch changes.
    let mut references = row.references.clone();
    let mut changed = Vec::new();
    for (position, reference) in plan.references.iter().enumerate() {
        let Some(value) = patch.get(&reference.field) else {
            continue;
        };
        let new = match value {
            FieldValue::Null => None,
            _ => referenced_record(&patch, &reference.name),
        };
        if new != references[position] {
            references[position] = new;
            changed.push(position);
        }
    }
    if !changed.is_empty() {
        // The subjects the patch brings in are checked like those of a create.
        let mut new_controls = controls
            .for_new_records(&mut tx.conn(), plan, &[&references], ConsentState::Unknown)
            .await?
            .pop()
            .unwrap_or_default();
        if !changed.contains(&0) {
            new_controls.consent = row.controls.consent;
        }
        if let Err(denial) =
            datavern_core::controls::check(&records.inner.catalog, grant, &new_controls)
        {
            drop(tx);
            let (primary, secondary) = (
                plan.primary_subject(id, &references),
                plan.secondary_subjects(&references),
            );
            return Err(records
                .refuse(grant, Some(id), primary, secondary, denial, meta)
                .await);
        }
    }
    let new_owner = plan.write_owner(id, &references)?;
    let owner_changed = plan.key_owner() == KeyOwner::PrimaryReference && changed.contains(&0);

    // The record as it will be: the patch's values, and the others as stored. Encrypted
    // values the caller will see are decrypted now, before anything is written, so a
    // tampered field fails the update instead of its answer; when the primary subject
    // changes, every encrypted value is decrypted to be sealed again under the new key.
    let unique = records
        .unique_values(tenant, plan, id, &patch_values)
        .await?;
    if let Some((error, _)) = records
        .find_duplicate(&mut tx.conn(), plan, tenant, &unique)
        .await?
    {
        drop(tx);
        let (primary, secondary) = (row.primary_subject(plan), row.secondary_subjects(plan));
        return Err(records
            .refuse_with(grant, Some(id), primary, secondary, error, meta)
            .await);
    }
    let now = records.now();
    if archive_duty(records, plan).is_some() {
        // Archive duty: the version replaced is kept, in this transaction (see `history`).
        history::keep(
            &mut tx.conn(),
            plan,
            tenant,
            grant.principal().as_str(),
            &row,
            now,
        )
        .await?;
    }
    let mut merged: Vec<Stored> = Vec::with_capacity(plan.fields.len());
    let mut resealed: Vec<(&TableField, FieldValue)> = Vec::new();
    let old_owner = row.key_owner(plan);
    let stored_values = std::mem::take(&mut row.values);
    for (field, stored) in plan.fields.iter().zip(stored_values) {
        if let Some(value) = patch.get(&field.name) {
            merged.push(Stored::Plain(value.clone()));
            continue;
        }
        let decrypt = owner_changed || grant.may_read(&field.name);
        merged.push(match stored {
            Stored::Sealed(envelope) if decrypt => {
                // Without a key owner the value reads as null (see `Records::open_values`).
                let value = match old_owner {
                    Some(old_owner) => {
                        records
                            .open(tenant, plan, field, id, old_owner, &envelope)
                            .await?
                    }
                    None => FieldValue::Null,
                };
                if owner_changed {
                    resealed.push((field, value.clone()));
                }
                Stored::Plain(value)
            }
            other => other,
        });
    }
    let mut to_write: Vec<(&TableField, &FieldValue)> = patch_values;
    to_write.extend(resealed.iter().map(|(f, v)| (*f, v)));
    let referenced: Vec<(usize, Uuid)> = changed
        .iter()
        .filter_map(|&i| references[i].map(|s| (i, s)))
        .collect();
    check_references(&mut tx.conn(), plan, tenant, &referenced).await?;
    let cx = SealContext {
        tenant,
        plan,
        record: id,
        owner: new_owner,
    };
    let key = if needs_key(&to_write) {
        Some(records.inner.keys.write_key(tenant, new_owner).await?)
    } else {
        None
    };
    let index = records
        .index_keys(tenant, plan, indexed_fields(to_write.iter().copied()))
        .await?;
    let mut columns = Vec::with_capacity(to_write.len() * 2 + changed.len() + 2);
    records.seal_values(&cx, &to_write, key.as_ref(), &index, &mut columns)?;
    for position in &changed {
        let value = match references[*position] {
            Some(subject) => Expr::val(subject).into(),
            None => SimpleExpr::Keyword(sea_query::Keyword::Null),
        };
        columns.push((plan.references[*position].column.as_str(), value));
    }
    columns.push(("updated_at", time_expr(backend, now)));
    columns.push(("version", Expr::col(col("version")).add(1i64)));
    let update = Query::update()
        .table(col(plan.table()))
        .values(columns.into_iter().map(|(name, expr)| (col(name), expr)))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("version")).eq(row.version))
        .to_owned();
    if tx.conn().execute(&update).await? != 1 {
        // The row is locked, so only a writer that ignores the lock could get here.
        return Err(RecordError::VersionConflict {
            expected: row.version,
            current: row.version + 1,
        }
        .into());
    }
    let version = row.version + 1;
    let updated = StoredRow {
        id,
        version,
        created_at: row.created_at,
        updated_at: now,
        references,
        values: merged,
        controls: row.controls,
    };
    let entry = write_entry(
        now.into(),
        grant,
        Some(patch.field_names().collect()),
        id,
        updated.primary_subject(plan),
        updated.secondary_subjects(plan),
        meta,
    );
    audit::append(&mut tx.conn(), &entry).await?;
    outbox::append(
        &mut tx.conn(),
        RecordEvent {
            change: RecordChange::Updated,
            tenant,
            collection: plan.name(),
            record: id,
            version,
            fields: patch.field_names().map(|f| f.to_string()).collect(),
            time: now,
        },
    )
    .await?;
    // Every value the view shows is plain by now, so showing it needs no key.
    let view = records.view(plan, grant, &updated).await?;
    tx.commit().await?;
    tracing::debug!(record = %id, version, "Updated record");
    Ok(view)
}

pub(super) async fn delete(
    records: &Records,
    grant: &Grant,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<()> {
    check_operation(grant, Operation::Delete)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let backend = records.inner.store.data().backend();

    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    let row = locked_row(&mut tx.conn(), plan, backend, &controls, tenant, id).await?;
    if let Err(denial) =
        datavern_core::controls::check(&records.inner.catalog, grant, &row.controls)
    {
        // Audited outside the write transaction (the group commit needs the write lock).
        drop(tx);
        let (primary, secondary) = (row.primary_subject(plan), row.secondary_subjects(plan));
        return Err(records
            .refuse(grant, Some(id), primary, secondary, denial, meta)
            .await);
    }
    if let Some(error) = guard(records, &mut tx, plan, tenant, &row, Change::Delete).await? {
        drop(tx);
        let (primary, secondary) = (row.primary_subject(plan), row.secondary_subjects(plan));
        return Err(records
            .refuse_with(grant, Some(id), primary, secondary, error, meta)
            .await);
    }
    let delete = Query::delete()
        .from_table(col(plan.table()))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    tx.conn().execute(&delete).await?;
    // Every field goes with the row (the grant's audit facts list them all for a delete).
    let entry = write_entry(
        records.store().now(),
        grant,
        None,
        id,
        row.primary_subject(plan),
        row.secondary_subjects(plan),
        meta,
    );
    audit::append(&mut tx.conn(), &entry).await?;
    outbox::append(
        &mut tx.conn(),
        RecordEvent {
            change: RecordChange::Deleted,
            tenant,
            collection: plan.name(),
            record: id,
            version: row.version,
            fields: plan.fields.iter().map(|f| f.name.clone()).collect(),
            time: records.now(),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::debug!(record = %id, "Deleted record");
    Ok(())
}

/// `plan`'s collection's archive duty, if it has one.
pub(super) fn archive_duty<'r>(records: &'r Records, plan: &Table) -> Option<&'r ArchiveDuty> {
    records
        .inner
        .catalog
        .collection(plan.name())
        .and_then(|c| c.archive())
}

/// The change of a stored record a [`guard`] judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Update,
    Delete,
}

/// Why a change of `row` (locked in `tx`) must be refused, if it must: an active legal hold on
/// the record, its collection or one of its data subjects (read in `tx`, so that a hold placed
/// concurrently is either seen here or placed after this transaction; see `crate::holds`),
/// or, for a delete, its collection's archive duty.
async fn guard(
    records: &Records,
    tx: &mut Tx,
    plan: &Table,
    tenant: Kommunenummer,
    row: &StoredRow,
    change: Change,
) -> Result<Option<RecordError>> {
    let subjects = plan.all_subjects(row.id, &row.references);
    let now = records.now();
    if let Some(held) = held(&mut tx.conn(), plan, tenant, row.id, &subjects, now).await? {
        return Ok(Some(held));
    }
    if change == Change::Delete
        && let Some(archive) = archive_duty(records, plan)
    {
        return Ok(Some(RecordError::ArchiveDuty {
            collection: plan.name().to_owned(),
            legal_reason: archive.legal_reason().to_owned(),
        }));
    }
    Ok(None)
}

/// The refusal of a change of record `record` of `plan`'s collection, concerning `subjects`,
/// if an active legal hold covers it: on the record, its collection or one of the subjects.
/// Read in the caller's write transaction (see `crate::holds`).
pub(super) async fn held(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: Kommunenummer,
    record: Uuid,
    subjects: &[Uuid],
    now: time::OffsetDateTime,
) -> Result<Option<RecordError>> {
    let hold = crate::holds::covering(conn, tenant, plan.name(), record, subjects, now).await?;
    Ok(hold.map(|hold| RecordError::Held {
        collection: plan.name().to_owned(),
        reason: hold.reason,
    }))
}

/// The record id the validated record (or patch) gives for the subject reference `subject`.
fn referenced_record(record: &ValidatedRecord, subject: &str) -> Option<Uuid> {
    record
        .subjects()
        .iter()
        .find(|s| s.subject.as_str() == subject)
        .map(|s| s.record_id)
}
