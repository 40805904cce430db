//! The read path: select tenant-scoped rows, decrypt what the grant may read, audit every
//! record returned, then return it.

use datavern_core::access::{Grant, Operation};
use datavern_core::catalog::Kommunenummer;
use datavern_core::controls::{self, SubjectControls};
use datavern_core::record::FieldValue;
use datavern_crypto::envelope_key_id;
use datavern_sql::Backend;
use futures_util::future::try_join_all;
use sea_query::{Alias, Expr, Order, Query, SelectStatement};
use time::OffsetDateTime;
use uuid::Uuid;

use super::control::ControlQuery;
use super::cursor::{Cursor, Page, page_limit};
use super::error::RecordError;
use super::row::{self, Cell, ColumnKind};
use super::{
    MAX_LOOKUP_MATCHES, RecordSubject, RecordView, Records, RequestMeta, check_operation, with_meta,
};
use crate::audit::AuditEntry;
use crate::error::Result;
use crate::ids::SubjectId;
use crate::table::{KeyOwner, Table, TableField};
use datavern_sql::{Tx, TxMode};

/// A collection row as stored: metadata, subject ids and each field's stored form.
pub(super) struct StoredRow {
    pub(super) id: Uuid,
    pub(super) version: i64,
    pub(super) created_at: OffsetDateTime,
    pub(super) updated_at: OffsetDateTime,
    /// Per reference of the plan (primary first).
    pub(super) references: Vec<Option<Uuid>>,
    /// Per field of the plan (catalog order).
    pub(super) values: Vec<Stored>,
    /// The data subjects' controls, as read with the row (default when not asked for).
    pub(super) controls: SubjectControls,
}

/// A field's stored form.
pub(crate) enum Stored {
    Null,
    Plain(FieldValue),
    Sealed(Vec<u8>),
}

/// `SELECT id, version, created_at, updated_at, <subject columns>, <fields> FROM <table>`,
/// with the kind of each column, to be narrowed by the caller's `WHERE`; with `controls`, the
/// restriction mark and the consent and objection lookups the grant needs follow.
pub(super) fn row_select(
    plan: &Table,
    backend: Backend,
    controls: Option<&ControlQuery>,
) -> (SelectStatement, Vec<ColumnKind>) {
    let mut select = Query::select();
    select.from(Alias::new(plan.table()));
    let mut kinds = Vec::new();
    let mut add = |select: &mut SelectStatement, column: &str, kind: ColumnKind| {
        row::select_column(select, backend, column, kind);
        kinds.push(kind);
    };
    add(&mut select, "id", ColumnKind::Uuid);
    add(&mut select, "version", ColumnKind::Integer);
    add(&mut select, "created_at", ColumnKind::Time);
    add(&mut select, "updated_at", ColumnKind::Time);
    for reference in &plan.references {
        add(&mut select, &reference.column, ColumnKind::Uuid);
    }
    for field in &plan.fields {
        add(&mut select, &field.name, field_kind(field));
    }
    if let Some(controls) = controls {
        controls.add_columns(&mut select, plan, &mut kinds);
    }
    (select, kinds)
}

fn field_kind(field: &TableField) -> ColumnKind {
    use datavern_core::catalog::FieldType;
    if field.encrypted {
        return ColumnKind::Bytes;
    }
    match field.field_type {
        FieldType::String | FieldType::Text => ColumnKind::Text,
        FieldType::Integer => ColumnKind::Integer,
        FieldType::Decimal => ColumnKind::Decimal,
        FieldType::Boolean => ColumnKind::Boolean,
        FieldType::Date => ColumnKind::Date,
        FieldType::Timestamp => ColumnKind::Timestamp,
        FieldType::Json => ColumnKind::Json,
    }
}

/// Decodes the cells of [`row_select`]'s columns (made with the same `controls`).
pub(super) fn to_row(
    plan: &Table,
    controls: Option<&ControlQuery>,
    cells: Vec<Cell>,
) -> Result<StoredRow> {
    let mut cells = cells.into_iter();
    let mut next = || cells.next().unwrap_or(Cell::Null);
    let id = match next() {
        Cell::Uuid(id) => id,
        _ => return Err(corrupt(plan, "id", Uuid::nil(), "record id")),
    };
    let version = match next() {
        Cell::Integer(v) => v,
        _ => return Err(corrupt(plan, "version", id, "integer")),
    };
    let mut time = |column: &str| match next() {
        Cell::Time(t) => Ok(t),
        _ => Err(corrupt(plan, column, id, "timestamp")),
    };
    let created_at = time("created_at")?;
    let updated_at = time("updated_at")?;
    let mut references = Vec::with_capacity(plan.references.len());
    for reference in &plan.references {
        references.push(match next() {
            Cell::Null => None,
            Cell::Uuid(subject) => Some(subject),
            _ => return Err(corrupt(plan, &reference.column, id, "record id")),
        });
    }
    let mut values = Vec::with_capacity(plan.fields.len());
    for field in &plan.fields {
        let bad = || corrupt(plan, &field.name, id, field.field_type.as_str());
        let stored = match next() {
            Cell::Null => Stored::Null,
            Cell::Bytes(bytes) if field.encrypted => Stored::Sealed(bytes),
            Cell::Text(text) => Stored::Plain(match field.field_type {
                datavern_core::catalog::FieldType::Decimal => FieldValue::Decimal(text),
                _ => FieldValue::String(text),
            }),
            Cell::Integer(i) => Stored::Plain(FieldValue::Integer(i)),
            Cell::Boolean(b) => Stored::Plain(FieldValue::Boolean(b)),
            Cell::Date(d) => Stored::Plain(FieldValue::Date(d)),
            Cell::Timestamp(t) => Stored::Plain(FieldValue::Timestamp(t)),
            Cell::Json(j) => Stored::Plain(FieldValue::Json(j)),
            Cell::Uuid(_) | Cell::Bytes(_) | Cell::Time(_) | Cell::Invalid => return Err(bad()),
        };
        values.push(stored);
    }
    let controls = match controls {
        Some(query) => query.decode(&mut cells),
        None => SubjectControls::default(),
    };
    Ok(StoredRow {
        id,
        version,
        created_at,
        updated_at,
        references,
        values,
        controls,
    })
}

fn corrupt(plan: &Table, field: &str, record: Uuid, field_type: &'static str) -> crate::StoreError {
    RecordError::CorruptValue {
        collection: plan.name().to_owned(),
        field: field.to_owned(),
        record,
        field_type,
    }
    .into()
}

impl StoredRow {
    /// The subject whose data key seals the record's encrypted fields, if known.
    pub(super) fn key_owner(&self, plan: &Table) -> Option<Uuid> {
        plan.owner_of(self.id, &self.references)
    }

    /// The primary data subject (for audit entries), if the record concerns a person.
    pub(super) fn primary_subject(&self, plan: &Table) -> Option<Uuid> {
        plan.primary_subject(self.id, &self.references)
    }

    /// The secondary data subjects (for audit entries).
    pub(super) fn secondary_subjects(&self, plan: &Table) -> Vec<Uuid> {
        plan.secondary_subjects(&self.references)
    }

    /// Whether a field the grant may read is encrypted and set (so the subject's key is
    /// needed to show the record).
    fn needs_key(&self, plan: &Table, grant: &Grant) -> bool {
        plan.fields.iter().zip(&self.values).any(|(field, stored)| {
            matches!(stored, Stored::Sealed(_)) && grant.may_read(&field.name)
        })
    }
}

impl Records {
    /// Decrypts one stored field envelope of record `record`, sealed for subject `owner`.
    pub(super) async fn open(
        &self,
        tenant: Kommunenummer,
        plan: &Table,
        field: &TableField,
        record: Uuid,
        owner: Uuid,
        envelope: &[u8],
    ) -> Result<FieldValue> {
        let failed = || RecordError::Decryption {
            collection: plan.name().to_owned(),
            field: field.name.clone(),
            record,
        };
        let key_id = envelope_key_id(envelope).map_err(|_| failed())?;
        let key = self
            .inner
            .keys
            .read_key(tenant, owner, key_id)
            .await?
            .ok_or_else(failed)?;
        plan.open(&key, tenant, field, record, owner, envelope)
    }

    /// The values of the fields of record `id` (with these subject `references` and stored
    /// `values`, per field of `plan`) that `wanted` selects (by position and field),
    /// decrypted, in catalog order. The one decrypt loop of the store.
    ///
    /// A sealed value whose key owner is unknown (the primary subject's link was cleared by
    /// erasure or anonymization while an envelope remained) reads as null: no key can be
    /// named to open it, which is exactly what clearing the link is for, and a person's
    /// other records (or a list holding this one) must stay readable. The same holds on
    /// every path that decrypts: record reads, lookups and the data subject rights.
    pub(crate) async fn open_values<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        id: Uuid,
        references: &[Option<Uuid>],
        values: &[Stored],
        wanted: impl Fn(usize, &TableField) -> bool,
    ) -> Result<Vec<(&'p TableField, FieldValue)>> {
        let owner = plan.owner_of(id, references);
        let mut opened = Vec::new();
        for (position, (field, stored)) in plan.fields.iter().zip(values).enumerate() {
            if !wanted(position, field) {
                continue;
            }
            let value = match (stored, owner) {
                (Stored::Null, _) | (Stored::Sealed(_), None) => FieldValue::Null,
                (Stored::Plain(value), _) => value.clone(),
                (Stored::Sealed(envelope), Some(owner)) => {
                    self.open(tenant, plan, field, id, owner, envelope).await?
                }
            };
            opened.push((field, value));
        }
        Ok(opened)
    }

    /// The row as `grant` may see it: readable fields decrypted, withheld ones only named.
    pub(super) async fn view(
        &self,
        plan: &Table,
        grant: &Grant,
        row: &StoredRow,
    ) -> Result<RecordView> {
        let tenant = grant.tenant();
        let fields = self
            .open_values(
                tenant,
                plan,
                row.id,
                &row.references,
                &row.values,
                |_, field| grant.may_read(&field.name),
            )
            .await?
            .into_iter()
            .map(|(field, value)| (field.field_name.clone(), value))
            .collect();
        Ok(RecordView {
            id: row.id,
            tenant,
            collection: plan.name().to_owned(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            fields,
            withheld: grant.withheld().to_vec(),
            subjects: visible_subjects(plan, grant, row.id, &row.references),
        })
    }

    /// The audit entry of a read of `row` under `grant`.
    pub(super) fn read_entry(
        &self,
        plan: &Table,
        grant: &Grant,
        row: &StoredRow,
        meta: &RequestMeta,
    ) -> AuditEntry {
        let mut entry =
            AuditEntry::from_facts(self.store().now(), &grant.audit()).with_record(row.id);
        if let Some(subject) = row.primary_subject(plan) {
            entry = entry.with_subject(subject);
        }
        with_meta(entry.with_subjects(row.secondary_subjects(plan)), meta)
    }

    /// Writes every entry through the group commit, concurrently (so one batch usually
    /// carries them all), and fails if any fails: the records must not be returned then.
    pub(super) async fn audit_reads(&self, entries: Vec<AuditEntry>) -> Result<()> {
        let log = self.inner.store.audit();
        try_join_all(entries.into_iter().map(|entry| log.record(entry))).await?;
        Ok(())
    }

    /// Shows the rows, drops those the consent rule does not admit, audits the rest and
    /// returns them.
    async fn show(
        &self,
        plan: &Table,
        grant: &Grant,
        rows: &[StoredRow],
        meta: &RequestMeta,
    ) -> Result<Vec<RecordView>> {
        let tenant = grant.tenant();
        // Records the subject's controls do not admit (restriction, objection, consent) are
        // left out silently, as if they were not there.
        let catalog = &self.inner.catalog;
        let admitted: Vec<&StoredRow> = rows
            .iter()
            .filter(|row| controls::check(catalog, grant, &row.controls).is_ok())
            .collect();
        let owners: Vec<Uuid> = admitted
            .iter()
            .filter(|row| row.needs_key(plan, grant))
            .filter_map(|row| row.key_owner(plan))
            .collect();
        self.inner.keys.preload(tenant, &owners).await?;
        let mut views = Vec::with_capacity(admitted.len());
        let mut entries = Vec::with_capacity(admitted.len());
        for row in admitted {
            views.push(self.view(plan, grant, row).await?);
            entries.push(self.read_entry(plan, grant, row, meta));
        }
        self.audit_reads(entries).await?;
        Ok(views)
    }
}

impl Records {
    /// Refuses the operation if the row's subjects' controls do not allow it
    /// (`datavern_core::controls::check`). Call it with no write transaction open: the
    /// refusal is recorded in the audit log (group commit) first.
    pub(super) async fn check_controls(
        &self,
        plan: &Table,
        grant: &Grant,
        row: &StoredRow,
        meta: &RequestMeta,
    ) -> Result<()> {
        match controls::check(&self.inner.catalog, grant, &row.controls) {
            Ok(()) => Ok(()),
            Err(denial) => Err(self
                .refuse(
                    grant,
                    Some(row.id),
                    row.primary_subject(plan),
                    row.secondary_subjects(plan),
                    denial,
                    meta,
                )
                .await),
        }
    }

    /// Records `denial` of `grant`'s operation on record `record` (if it exists yet; about
    /// these subjects) in
    /// the audit log, and returns the error that answers it (or the audit log's failure).
    pub(super) async fn refuse(
        &self,
        grant: &Grant,
        record: Option<Uuid>,
        primary: Option<Uuid>,
        secondary: Vec<Uuid>,
        denial: datavern_core::access::Denial,
        meta: &RequestMeta,
    ) -> crate::StoreError {
        self.refuse_with(
            grant,
            record,
            primary,
            secondary,
            RecordError::Denied(Box::new(denial)),
            meta,
        )
        .await
    }

    /// Records the refusal `error` of `grant`'s operation on record `record` in the audit log
    /// (an entry with the outcome `denied`, the error's code as its reason, and no field or
    /// value), and returns `error` (or the audit log's failure). Call it with no write
    /// transaction open.
    pub(super) async fn refuse_with(
        &self,
        grant: &Grant,
        record: Option<Uuid>,
        primary: Option<Uuid>,
        secondary: Vec<Uuid>,
        error: RecordError,
        meta: &RequestMeta,
    ) -> crate::StoreError {
        let code = error.code();
        let mut facts = grant.audit().with_fields([]);
        facts.withheld.clear();
        facts.outcome = datavern_core::access::Outcome::Denied(code);
        let mut entry = AuditEntry::from_facts(self.store().now(), &facts);
        if let Some(record) = record {
            entry = entry.with_record(record);
        }
        if let Some(subject) = primary {
            entry = entry.with_subject(subject);
        }
        let entry = with_meta(entry.with_subjects(secondary), meta);
        match self.inner.store.audit().record(entry).await {
            Ok(()) => error.into(),
            Err(err) => err,
        }
    }
}

/// The subjects of a record the caller may see: the record itself for `subjects: self`;
/// for references, those whose reference field the grant may read (a withheld reference
/// field's id is not revealed through the subject list either).
pub(super) fn visible_subjects(
    plan: &Table,
    grant: &Grant,
    id: Uuid,
    references: &[Option<Uuid>],
) -> Vec<RecordSubject> {
    match plan.key_owner() {
        KeyOwner::Record => vec![RecordSubject {
            reference: None,
            id: SubjectId::from_uuid(id),
            primary: true,
        }],
        KeyOwner::OwnKey => Vec::new(),
        KeyOwner::PrimaryReference => plan
            .references
            .iter()
            .zip(references)
            .filter(|(reference, _)| grant.may_read(&reference.field))
            .filter_map(|(reference, subject)| {
                subject.map(|subject| RecordSubject {
                    reference: Some(reference.name.clone()),
                    id: SubjectId::from_uuid(subject),
                    primary: reference.primary,
                })
            })
            .collect(),
    }
}

/// Reads `select` (built by [`row_select`] with `controls`) in a read transaction of the
/// tenant.
pub(super) async fn fetch_rows(
    records: &Records,
    plan: &Table,
    tenant: Kommunenummer,
    controls: &ControlQuery,
    select: &SelectStatement,
    kinds: &[ColumnKind],
) -> Result<Vec<StoredRow>> {
    let mut tx = Tx::begin(records.inner.store.data(), tenant, TxMode::Read).await?;
    let rows = row::fetch(&mut tx.conn(), select, kinds).await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|cells| to_row(plan, Some(controls), cells))
        .collect()
}

pub(super) async fn get(
    records: &Records,
    grant: &Grant,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<RecordView> {
    check_operation(grant, Operation::Read)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let (mut select, kinds) =
        row_select(plan, records.inner.store.data().backend(), Some(&controls));
    select
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(Alias::new("id")).eq(id));
    let rows = fetch_rows(records, plan, tenant, &controls, &select, &kinds).await?;
    let Some(row) = rows.first() else {
        return Err(RecordError::NotFound {
            collection: plan.name().to_owned(),
        }
        .into());
    };
    records.check_controls(plan, grant, row, meta).await?;
    let view = records.view(plan, grant, row).await?;
    records
        .audit_reads(vec![records.read_entry(plan, grant, row, meta)])
        .await?;
    Ok(view)
}

pub(super) async fn list(
    records: &Records,
    grant: &Grant,
    cursor: Option<Cursor>,
    limit: u32,
    meta: &RequestMeta,
) -> Result<Page<RecordView>> {
    check_operation(grant, Operation::List)?;
    let plan = records.plan(grant)?;
    let tenant = grant.tenant();
    let limit = page_limit(limit) as usize;
    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let (mut select, kinds) =
        row_select(plan, records.inner.store.data().backend(), Some(&controls));
    select.and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()));
    if let Some(cursor) = cursor {
        select.and_where(Expr::col(Alias::new("id")).gt(cursor.after_id()));
    }
    select
        .order_by(Alias::new("id"), Order::Asc)
        // One more than the page, to know whether there is a next page.
        .limit(limit as u64 + 1);
    let mut rows = fetch_rows(records, plan, tenant, &controls, &select, &kinds).await?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| Cursor::after(row.id))
    } else {
        None
    };
    let items = records.show(plan, grant, &rows, meta).await?;
    Ok(Page { items, next })
}

/// The candidates of a lookup: the tenant's rows whose blind-index column `index` holds
/// `blind_index`, after `after` if given, in id order, at most one more than
/// [`MAX_LOOKUP_MATCHES`].
pub(super) fn lookup_select(
    plan: &Table,
    backend: Backend,
    controls: Option<&ControlQuery>,
    tenant: Kommunenummer,
    index: &str,
    blind_index: &[u8],
    after: Option<Uuid>,
) -> (SelectStatement, Vec<ColumnKind>) {
    let (mut select, kinds) = row_select(plan, backend, controls);
    select
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(Alias::new(index)).eq(blind_index.to_vec()));
    if let Some(after) = after {
        select.and_where(Expr::col(Alias::new("id")).gt(after));
    }
    // In id order, still seeking the blind index.
    backend.dialect().order_by_key_after_seek(&mut select, "id");
    select.limit(MAX_LOOKUP_MATCHES as u64 + 1);
    (select, kinds)
}

/// One page of a lookup: the exact matches among the next [`MAX_LOOKUP_MATCHES`] candidates
/// (rows sharing the value's blind index) after `cursor`, in id order, not yet shown or
/// audited, and the cursor after the last candidate examined if more follow.
async fn lookup_matches(
    records: &Records,
    grant: &Grant,
    field: &str,
    normalized_value: &str,
    cursor: Option<Cursor>,
) -> Result<(Vec<StoredRow>, Option<Cursor>)> {
    check_operation(grant, Operation::Lookup)?;
    let plan = records.plan(grant)?;
    let not_searchable = || RecordError::NotSearchable {
        field: field.to_owned(),
    };
    if grant.lookup_field().map(|f| f.as_str()) != Some(field) {
        return Err(not_searchable().into());
    }
    let (index, (position, field_plan)) = match plan
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == field)
    {
        Some((position, f)) => match &f.blind_index {
            Some(column) => (column, (position, f)),
            None => return Err(not_searchable().into()),
        },
        None => return Err(not_searchable().into()),
    };
    let tenant = grant.tenant();
    let key = records
        .inner
        .keys
        .index_key(tenant, plan.name(), field, field_plan.index_length)
        .await?;
    let blind_index = key.compute(normalized_value.as_bytes());

    let controls = ControlQuery::new(&records.inner.catalog, grant);
    let (select, kinds) = lookup_select(
        plan,
        records.inner.store.data().backend(),
        Some(&controls),
        tenant,
        index,
        blind_index.as_bytes(),
        cursor.map(|c| c.after_id()),
    );
    let mut candidates = fetch_rows(records, plan, tenant, &controls, &select, &kinds).await?;
    candidates.sort_unstable_by_key(|row| row.id);
    let next = if candidates.len() > MAX_LOOKUP_MATCHES {
        candidates.truncate(MAX_LOOKUP_MATCHES);
        candidates.last().map(|row| Cursor::after(row.id))
    } else {
        None
    };

    // A truncated index also matches other values: decrypt each candidate's field and keep
    // only exact matches of the normalised form. Only these count and are returned.
    let owners: Vec<Uuid> = candidates
        .iter()
        .filter_map(|row| row.key_owner(plan))
        .collect();
    records.inner.keys.preload(tenant, &owners).await?;
    let mut matches = Vec::new();
    for row in candidates {
        let opened = records
            .open_values(
                tenant,
                plan,
                row.id,
                &row.references,
                &row.values,
                |p, _| p == position,
            )
            .await?;
        let value = opened.into_iter().next().map(|(_, value)| value);
        let form = value.and_then(|value| field_plan.index_form(&value));
        if form.as_deref() == Some(normalized_value) {
            matches.push(row);
        }
    }
    Ok((matches, next))
}

pub(super) async fn lookup(
    records: &Records,
    grant: &Grant,
    field: &str,
    normalized_value: &str,
    meta: &RequestMeta,
) -> Result<Vec<RecordView>> {
    let mut matches = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = lookup_matches(records, grant, field, normalized_value, cursor).await?;
        matches.extend(page);
        if matches.len() > MAX_LOOKUP_MATCHES {
            return Err(RecordError::TooManyMatches {
                limit: MAX_LOOKUP_MATCHES,
            }
            .into());
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let plan = records.plan(grant)?;
    records.show(plan, grant, &matches, meta).await
}

pub(super) async fn lookup_page(
    records: &Records,
    grant: &Grant,
    field: &str,
    normalized_value: &str,
    cursor: Option<Cursor>,
    meta: &RequestMeta,
) -> Result<Page<RecordView>> {
    let (matches, next) = lookup_matches(records, grant, field, normalized_value, cursor).await?;
    let plan = records.plan(grant)?;
    let items = records.show(plan, grant, &matches, meta).await?;
    Ok(Page { items, next })
}
