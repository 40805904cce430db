//! The write path: every create, update and delete is one data-database transaction holding
//! the row change, its audit entry and its outbox event.
//!
//! Each operation reads as a sequence of named steps: check the request, check the subjects'
//! controls, fetch keys, claim unique values, seal the values, write the row, append the audit
//! entry and outbox event ([`append_changes`]), commit. A create (`create.rs`, one record or a
//! batch) and an update (`update.rs`) share the steps written here; a refusal found inside
//! the transaction is audited after it rolls back ([`Refusal`]).

mod create;
mod update;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use datavern_core::access::{Denial, Grant, Operation};
use datavern_core::catalog::{ArchiveDuty, FieldName, Kommunenummer};
use datavern_core::record::{FieldValue, Mode, ValidatedRecord};
use datavern_crypto::{BlindIndexKey, DataKey};
use datavern_sql::{At, Backend, Conn};
use sea_query::{Alias, Expr, LockType, Query, SimpleExpr};
use uuid::Uuid;

use super::control::ControlQuery;
use super::error::RecordError;
use super::read::{StoredRow, row_select, to_row};
use super::row::{self, Cell, ColumnKind};
use super::{Records, RequestMeta, check_operation, codec, with_meta};
use crate::audit::{self, AuditEntry};
use crate::error::Result;
use crate::outbox::{self, RecordChange, RecordEvent};
use crate::table::{Table, TableField};
use datavern_sql::{Tx, TxMode};

pub(super) use self::create::{create, create_many, create_many_checkpointed, create_with_consent};
pub(super) use self::update::update;

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

/// Refuses a record validated for another mode than `expected`.
fn expect_mode(record: &ValidatedRecord, expected: Mode) -> Result<()> {
    if record.mode() != expected {
        return Err(RecordError::WrongMode {
            validated: mode_name(record.mode()),
            expected: mode_name(expected),
        }
        .into());
    }
    Ok(())
}

/// Refuses a record that sets a field the grant may not write.
fn check_writable(grant: &Grant, record: &ValidatedRecord) -> Result<()> {
    grant
        .check_write(record.field_names().map(FieldName::as_str))
        .map_err(denied)
}

/// A subject reference column's value.
fn reference_expr(subject: Option<Uuid>) -> SimpleExpr {
    match subject {
        Some(subject) => Expr::val(subject).into(),
        None => SimpleExpr::Keyword(sea_query::Keyword::Null),
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
    if let Some(refusal) = check_change(records, &mut tx, grant, plan, &row, Change::Delete).await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
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
    let event = RecordEvent {
        change: RecordChange::Deleted,
        tenant,
        collection: plan.name(),
        record: id,
        version: row.version,
        fields: plan.fields.iter().map(|f| f.name.clone()).collect(),
        time: records.now(),
    };
    append_changes(&mut tx.conn(), &[&entry], vec![event]).await?;
    tx.commit().await?;
    tracing::debug!(record = %id, "Deleted record");
    Ok(())
}

/// Appends a write's audit entries and outbox events inside its transaction, so they commit
/// or roll back with the rows they record.
async fn append_changes(
    conn: &mut Conn<'_>,
    entries: &[&AuditEntry],
    events: Vec<RecordEvent<'_>>,
) -> Result<()> {
    audit::append_all(conn, entries).await?;
    outbox::append_all(conn, events).await?;
    Ok(())
}

/// A write refused inside its transaction, with the record and subjects the refusal's audit
/// entry names.
struct Refusal {
    record: Option<Uuid>,
    primary: Option<Uuid>,
    secondary: Vec<Uuid>,
    error: RecordError,
}

impl Refusal {
    /// The refusal `error` of a change of the stored `row`.
    fn of_row(plan: &Table, row: &StoredRow, error: RecordError) -> Refusal {
        Refusal {
            record: Some(row.id),
            primary: row.primary_subject(plan),
            secondary: row.secondary_subjects(plan),
            error,
        }
    }
}

impl Records {
    /// Rolls the write `tx` back and audits `refusal` outside it (the group commit needs the
    /// write lock); returns the refusal's error (or the audit log's failure).
    async fn refuse_after(
        &self,
        tx: Tx,
        grant: &Grant,
        refusal: Refusal,
        meta: &RequestMeta,
    ) -> crate::StoreError {
        drop(tx);
        let Refusal {
            record,
            primary,
            secondary,
            error,
        } = refusal;
        self.refuse_with(grant, record, primary, secondary, error, meta)
            .await
    }
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

/// Why a change of the locked `row` must be refused, if it must: its subjects' controls
/// (restriction, objection, consent), then a legal hold or archive duty (see [`guard`]).
async fn check_change(
    records: &Records,
    tx: &mut Tx,
    grant: &Grant,
    plan: &Table,
    row: &StoredRow,
    change: Change,
) -> Result<Option<Refusal>> {
    if let Err(denial) =
        datavern_core::controls::check(&records.inner.catalog, grant, &row.controls)
    {
        let error = RecordError::Denied(Box::new(denial));
        return Ok(Some(Refusal::of_row(plan, row, error)));
    }
    let refused = guard(records, tx, plan, grant.tenant(), row, change).await?;
    Ok(refused.map(|error| Refusal::of_row(plan, row, error)))
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
