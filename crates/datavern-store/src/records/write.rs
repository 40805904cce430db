//! The write path: every create, update and delete is one data-database transaction holding
//! the row change, its audit entry and its outbox event.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use datavern_core::access::{ConsentState, Denial, Grant, Operation};
use datavern_core::catalog::{ArchiveDuty, FieldName, Kommunenummer};
use datavern_core::consent::{ConsentAction, ConsentEvent};
use datavern_core::controls::SubjectControls;
use datavern_core::record::{FieldValue, Mode, ValidatedRecord};
use datavern_crypto::{BlindIndexKey, DataKey};
use datavern_sql::{Backend, Conn};
use sea_query::{Alias, Expr, LockType, Query, SimpleExpr};
use uuid::Uuid;

use super::control::ControlQuery;
use super::error::RecordError;
use super::read::{Stored, StoredRow, row_select, to_row, visible_subjects};
use super::row::{self, Cell, ColumnKind};
use super::unique::UniqueValue;
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
    let mut entry = AuditEntry::from_facts(&facts).with_record(id);
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

    let now = codec::now_micros();
    let time = time_expr(records.inner.store.data().backend(), now);
    let groups = records.new_rows(tenant, plan, &prepared, &keys, &index, &time)?;
    let entries: Vec<AuditEntry> = prepared
        .iter()
        .map(|new| created_entry(plan, grant, new, meta))
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
    if let Some(event) = consent {
        append_consents(&mut tx.conn(), grant, &prepared, event, meta).await?;
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
    plan: &Table,
    grant: &Grant,
    new: &NewRecord<'_, '_>,
    meta: &RequestMeta,
) -> AuditEntry {
    write_entry(
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
    grant: &Grant,
    prepared: &[NewRecord<'_, '_>],
    event: &ConsentEvent,
    meta: &RequestMeta,
) -> Result<()> {
    let actor = crate::controls::Actor {
        tenant: grant.tenant(),
        id: grant.principal().as_str(),
    };
    for new in prepared {
        crate::controls::append_consent(conn, actor, new.id, event, meta.request_id.as_deref())
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

pub(super) async fn update(
    records: &Records,
    grant: &Grant,
    id: Uuid,
    patch: ValidatedRecord,
    expected_version: Option<i64>,
    meta: &RequestMeta,
) -> Result<RecordView> {
    check_operation(grant, Operation::Update)?;
    check_patch(grant, &patch)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let backend = records.inner.store.data().backend();
    let patch_values = resolve(plan, &patch)?;

    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Write).await?;
    let mut row = locked_row(&mut tx.conn(), plan, backend, &controls, tenant, id).await?;
    if let Some(refusal) = check_change(records, &mut tx, grant, plan, &row, Change::Update).await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    check_version(expected_version, row.version)?;
    let patched = PatchedReferences::new(plan, &patch, &row.references);
    if let Some(refusal) = records
        .check_patched_subjects(&mut tx, grant, plan, &controls, &row, &patched)
        .await?
    {
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    let new_owner = plan.write_owner(id, &patched.references)?;
    let unique = records
        .unique_values(tenant, plan, id, &patch_values)
        .await?;
    if let Some((error, _)) = records
        .find_duplicate(&mut tx.conn(), plan, tenant, &unique)
        .await?
    {
        let refusal = Refusal::of_row(plan, &row, error);
        return Err(records.refuse_after(tx, grant, refusal, meta).await);
    }
    let now = codec::now_micros();
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
    let (merged, resealed) = records
        .merge_patch(grant, plan, &patch, &mut row, &patched)
        .await?;
    let mut to_write: Vec<(&TableField, &FieldValue)> = patch_values;
    to_write.extend(resealed.iter().map(|(f, v)| (*f, v)));
    check_references(&mut tx.conn(), plan, tenant, &patched.referenced()).await?;
    let mut columns = records
        .patch_columns(tenant, plan, id, new_owner, &to_write, &patched)
        .await?;
    columns.push(("updated_at", time_expr(backend, now)));
    columns.push(("version", Expr::col(col("version")).add(1i64)));
    update_row(&mut tx.conn(), plan, tenant, id, row.version, columns).await?;
    let version = row.version + 1;
    let updated = StoredRow {
        id,
        version,
        created_at: row.created_at,
        updated_at: now,
        references: patched.references,
        values: merged,
        controls: row.controls,
    };
    let entry = write_entry(
        grant,
        Some(patch.field_names().collect()),
        id,
        updated.primary_subject(plan),
        updated.secondary_subjects(plan),
        meta,
    );
    let event = RecordEvent {
        change: RecordChange::Updated,
        tenant,
        collection: plan.name(),
        record: id,
        version,
        fields: patch.field_names().map(|f| f.to_string()).collect(),
        time: now,
    };
    append_changes(&mut tx.conn(), &[&entry], vec![event]).await?;
    // Every value the view shows is plain by now, so showing it needs no key.
    let view = records.view(plan, grant, &updated).await?;
    tx.commit().await?;
    tracing::debug!(record = %id, version, "Updated record");
    Ok(view)
}

/// Checks a patch: validated as a patch, not empty, and setting only fields the grant may
/// write.
fn check_patch(grant: &Grant, patch: &ValidatedRecord) -> Result<()> {
    expect_mode(patch, Mode::Patch)?;
    if patch.is_empty() {
        return Err(RecordError::EmptyUpdate.into());
    }
    check_writable(grant, patch)
}

/// Refuses an update that expected another version than the stored one, `current`.
fn check_version(expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(expected) if expected != current => {
            Err(RecordError::VersionConflict { expected, current }.into())
        }
        _ => Ok(()),
    }
}

/// The subject references a record has after a patch.
struct PatchedReferences {
    /// Per subject reference of the plan, the referenced record.
    references: Vec<Option<Uuid>>,
    /// The positions the patch changes.
    changed: Vec<usize>,
}

impl PatchedReferences {
    /// The `stored` references with those `patch` sets.
    fn new(plan: &Table, patch: &ValidatedRecord, stored: &[Option<Uuid>]) -> Self {
        let mut references = stored.to_vec();
        let mut changed = Vec::new();
        for (position, reference) in plan.references.iter().enumerate() {
            let Some(value) = patch.get(&reference.field) else {
                continue;
            };
            let new = match value {
                FieldValue::Null => None,
                _ => referenced_record(patch, &reference.name),
            };
            if new != references[position] {
                references[position] = new;
                changed.push(position);
            }
        }
        PatchedReferences {
            references,
            changed,
        }
    }

    /// Whether the patch changes the primary subject.
    fn changes_primary(&self) -> bool {
        self.changed.contains(&0)
    }

    /// Whether the patch changes whose key seals the record.
    fn changes_owner(&self, plan: &Table) -> bool {
        plan.key_owner() == KeyOwner::PrimaryReference && self.changes_primary()
    }

    /// The records the patch newly references, with their positions.
    fn referenced(&self) -> Vec<(usize, Uuid)> {
        self.changed
            .iter()
            .filter_map(|&i| self.references[i].map(|s| (i, s)))
            .collect()
    }
}

/// Updates stored version `version` of record `id` to `columns`; a row changed by a writer
/// that ignored the lock is a version conflict.
async fn update_row(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: Kommunenummer,
    id: Uuid,
    version: i64,
    columns: Vec<Column<'_>>,
) -> Result<()> {
    let update = Query::update()
        .table(col(plan.table()))
        .values(columns.into_iter().map(|(name, expr)| (col(name), expr)))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("version")).eq(version))
        .to_owned();
    if conn.execute(&update).await? != 1 {
        // The row is locked, so only a writer that ignores the lock could get here.
        return Err(RecordError::VersionConflict {
            expected: version,
            current: version + 1,
        }
        .into());
    }
    Ok(())
}

impl Records {
    /// Why an update must be refused for the subjects it brings in, if it must: they are
    /// checked like those of a create (read in the write transaction `tx`), keeping the
    /// stored consent unless the primary subject changes.
    async fn check_patched_subjects(
        &self,
        tx: &mut Tx,
        grant: &Grant,
        plan: &Table,
        controls: &ControlQuery,
        row: &StoredRow,
        patched: &PatchedReferences,
    ) -> Result<Option<Refusal>> {
        if patched.changed.is_empty() {
            return Ok(None);
        }
        let references = &patched.references;
        let mut new_controls = controls
            .for_new_records(&mut tx.conn(), plan, &[references], ConsentState::Unknown)
            .await?
            .pop()
            .unwrap_or_default();
        if !patched.changes_primary() {
            new_controls.consent = row.controls.consent;
        }
        let Err(denial) = datavern_core::controls::check(&self.inner.catalog, grant, &new_controls)
        else {
            return Ok(None);
        };
        Ok(Some(Refusal {
            record: Some(row.id),
            primary: plan.primary_subject(row.id, references),
            secondary: plan.secondary_subjects(references),
            error: RecordError::Denied(Box::new(denial)),
        }))
    }

    /// The record as the update leaves it: the patch's values, and the others as stored
    /// (taken from `row`). Encrypted values the caller will see are decrypted now, before
    /// anything is written, so a tampered field fails the update instead of its answer; when
    /// the patch changes whose key seals the record, every encrypted value is decrypted, and
    /// also returned apart to be sealed again under the new key.
    async fn merge_patch<'p>(
        &self,
        grant: &Grant,
        plan: &'p Table,
        patch: &ValidatedRecord,
        row: &mut StoredRow,
        patched: &PatchedReferences,
    ) -> Result<(Vec<Stored>, Vec<(&'p TableField, FieldValue)>)> {
        let owner_changed = patched.changes_owner(plan);
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
                            self.open(grant.tenant(), plan, field, row.id, old_owner, &envelope)
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
        Ok((merged, resealed))
    }

    /// The columns an update sets: the values `to_write` sealed under `owner`'s key, with
    /// their blind indexes, and the subject references the patch changes.
    async fn patch_columns<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        id: Uuid,
        owner: Uuid,
        to_write: &[(&'p TableField, &FieldValue)],
        patched: &PatchedReferences,
    ) -> Result<Vec<Column<'p>>> {
        let cx = SealContext {
            tenant,
            plan,
            record: id,
            owner,
        };
        let key = if needs_key(to_write) {
            Some(self.inner.keys.write_key(tenant, owner).await?)
        } else {
            None
        };
        let index = self
            .index_keys(tenant, plan, indexed_fields(to_write.iter().copied()))
            .await?;
        let mut columns = Vec::with_capacity(to_write.len() * 2 + patched.changed.len() + 2);
        self.seal_values(&cx, to_write, key.as_ref(), &index, &mut columns)?;
        for &position in &patched.changed {
            let column = plan.references[position].column.as_str();
            columns.push((column, reference_expr(patched.references[position])));
        }
        Ok(columns)
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
        time: codec::now_micros(),
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
    let now = codec::now_micros();
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
