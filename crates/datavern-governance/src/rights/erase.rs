//! The right to erasure (Art. 17), per collection policy, with archive duty and legal holds.
//!
//! Order and crash-safety: all row changes (deletes, anonymization, secondary parts nulled,
//! restriction flags), their audit entries and outbox events are **one** data-database
//! transaction; only after it commits are the subjects' data keys destroyed in the key store
//! and evicted from the key cache. A crash between the two leaves rows gone and keys alive,
//! which a second run (erasure is idempotent) completes; the opposite order could leave rows
//! with blind indexes and no key, or destroy the key of data a failed transaction kept. A key
//! is kept when a row sealed with it must stay readable (archive duty, a legal hold), and
//! the outcome says why.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use datavern_core::catalog::{Attribution, Collection, ErasurePolicy};
use datavern_sql::{At, Conn, Tx, TxMode};
use sea_query::{Alias, Expr, Keyword, Query, SimpleExpr};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use super::access::{SubjectRole, appearances};
use super::clearance::{Shortfall, cap, erased};
use super::{Actor, Rights, RightsError, subject_filter, uuids};
use crate::error::Result;
use crate::holds::HoldSet;
use datavern_store::SubjectId;
use datavern_store::audit::{self, AuditAction, AuditOutcome};
use datavern_store::outbox::{self, RecordChange, RecordEvent};
use datavern_store::records::history;
use datavern_store::records::raw::RawRow;
use datavern_store::records::time_expr;
use datavern_store::table::{Table, TableField};

/// Record ids per statement (well below every backend's parameter limit).
const CHUNK: usize = 500;

/// What an erasure did, per collection and per subject key.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ErasureOutcome {
    /// The tenant.
    pub tenant: String,
    /// The subject ids erased.
    pub subjects: Vec<SubjectId>,
    /// Every collection about persons, in catalog order.
    pub collections: Vec<CollectionErasure>,
    /// Each subject's data keys.
    pub keys: Vec<KeyDestruction>,
    /// The subjects with records that archive duty keeps (restricted instead of erased),
    /// also when an earlier run restricted them: they stay restricted in the register.
    pub archived: Vec<SubjectId>,
    /// Whether everything was erased or restricted as the catalog says; `false` when a legal
    /// hold refused a part (the request is then only partially completed).
    pub complete: bool,
}

/// How a collection was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErasureMethod {
    /// Rows and blind indexes deleted; the subject's key destroyed afterwards.
    CryptoShred,
    /// Rows and blind indexes deleted.
    Delete,
    /// Personal and encrypted fields, their blind indexes and the subject references nulled;
    /// the rest kept for statistics.
    Anonymize,
    /// Archive duty: rows kept and marked restricted (Art. 17(3), Art. 18).
    Restrict,
    /// A legal hold on the whole collection: nothing changed.
    Refuse,
}

/// One collection's part of an erasure.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CollectionErasure {
    /// The collection.
    pub collection: String,
    /// How records where the subject is the record itself or its primary subject were
    /// treated.
    pub method: ErasureMethod,
    /// How many such records were erased (or newly restricted) now; 0 on a second run.
    pub records: u64,
    /// How many records of others had the subject's part as a secondary party removed
    /// (their reference and the fields attributed to them nulled).
    pub secondary_records: u64,
    /// The fields erased (names), sorted.
    pub fields: Vec<String>,
    /// The archive duty's legal reason, when the records were restricted instead.
    pub legal_reason: Option<String>,
    /// How many records a legal hold kept unchanged.
    pub refused_records: u64,
    /// The hold's reason, when one refused a part.
    pub refusal_reason: Option<String>,
}

/// What happened to one subject's data keys.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct KeyDestruction {
    /// The subject.
    pub subject: SubjectId,
    /// Key versions destroyed now (0 when none existed or they were destroyed before).
    pub destroyed_versions: u64,
    /// Why the keys were kept, when they were.
    pub retained: Option<String>,
}

impl ErasureOutcome {
    /// The records erased, anonymized, restricted or stripped of the subject's part, in all.
    pub fn record_count(&self) -> u64 {
        self.collections
            .iter()
            .map(|c| c.records + c.secondary_records)
            .sum()
    }

    /// The first part about `collection`.
    pub fn collection(&self, name: &str) -> Option<&CollectionErasure> {
        self.collections.iter().find(|c| c.collection == name)
    }

    /// The collections a legal hold refused (wholly or in part).
    pub fn refused(&self) -> Vec<&str> {
        self.collections
            .iter()
            .filter(|c| c.refusal_reason.is_some())
            .map(|c| c.collection.as_str())
            .collect()
    }
}

impl ErasureMethod {
    /// The name used in audit entries and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureMethod::CryptoShred => "crypto_shred",
            ErasureMethod::Delete => "delete",
            ErasureMethod::Anonymize => "anonymize",
            ErasureMethod::Restrict => "restrict",
            ErasureMethod::Refuse => "refuse",
        }
    }

    /// The outcome of an erasure part done this way, for its audit entry (a part a legal
    /// hold refused is `refused`).
    fn outcome(self) -> AuditOutcome {
        match self {
            ErasureMethod::CryptoShred => AuditOutcome::CryptoShred,
            ErasureMethod::Delete => AuditOutcome::Delete,
            ErasureMethod::Anonymize => AuditOutcome::Anonymize,
            ErasureMethod::Restrict => AuditOutcome::Restrict,
            ErasureMethod::Refuse => AuditOutcome::Refused,
        }
    }
}

impl fmt::Display for ErasureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one collection's erasure changes, worked out from its rows before any statement.
struct Plan {
    method: ErasureMethod,
    /// Rows where a subject is the record or its primary subject (not held).
    primary: Vec<Uuid>,
    /// Per secondary reference position, rows where a subject is only that party.
    secondary: BTreeMap<usize, Vec<Uuid>>,
    refused: u64,
    refusal_reason: Option<String>,
    /// Key owners whose rows stay readable, with why.
    retained: Vec<(Uuid, String)>,
    /// Versions of the rows, for outbox events.
    versions: BTreeMap<Uuid, i64>,
    subjects: BTreeSet<Uuid>,
    /// Subjects whose own records archive duty keeps.
    archived: BTreeSet<Uuid>,
}

impl Rights {
    /// Erases `subjects` in the actor's tenant as the catalog says for each collection, at
    /// `now` (for the legal holds in force).
    ///
    /// - `crypto_shred` / `delete`: the records where a subject is the record itself or its
    ///   primary subject are deleted with their blind indexes; afterwards the subjects' data
    ///   keys are destroyed, so old backups of those rows cannot be decrypted.
    /// - `anonymize`: personal and encrypted fields, their blind indexes and the subject
    ///   references are nulled; the remaining fields stay for statistics.
    /// - archive duty: the records are kept and marked restricted (`dv_restricted`); the
    ///   outcome carries the collection's legal reason (Art. 17(3)), and the key stays.
    /// - a secondary party (a guardian on a child's application): their reference and the
    ///   fields attributed to them are nulled; the primary subject's data stays.
    /// - a legal hold on the collection, a record or a subject refuses that part with the
    ///   hold's reason; the outcome is then not `complete`.
    ///
    /// Every field it deletes or nulls must be within the actor's clearance (and the
    /// accreditation); otherwise nothing changes ([`RightsError::ClearanceInsufficient`]).
    ///
    /// One statement per collection and part, all in one data transaction with one audit
    /// entry per collection (collection, subjects, fields erased, method and record counts)
    /// and an outbox event per record changed. Running it again changes nothing and gives an
    /// outcome of the same shape with zero records.
    #[instrument(skip_all, fields(tenant = %actor.tenant, subjects = subjects.len()))]
    pub async fn erase(
        &self,
        actor: &Actor,
        subjects: &[SubjectId],
        now: OffsetDateTime,
    ) -> Result<ErasureOutcome> {
        let ids = uuids(subjects);
        if ids.is_empty() {
            return Err(RightsError::NoSubjects.into());
        }
        let tenant = actor.tenant;
        let records = &self.records;
        let catalog = records.catalog().clone();
        let backend = records.store().data().backend();
        let changed_at = records.now();

        let mut parts = Vec::new();
        let mut retained: BTreeMap<Uuid, String> = BTreeMap::new();
        let mut archived: BTreeSet<Uuid> = BTreeSet::new();
        let mut shortfall = Shortfall::new(cap(&catalog, actor));
        let mut tx = Tx::begin(records.store().data(), tenant, TxMode::Write).await?;
        // The holds in force, read in the erasure's own transaction: a hold placed while the
        // erasure runs is either seen here or placed after it commits (see `crate::holds`).
        let holds = datavern_store::holds::active_in(&mut tx.conn(), tenant, now).await?;
        for table in records.tables() {
            let Some(filter) = subject_filter(table, &ids) else {
                continue;
            };
            let Some(collection) = catalog.collection(table.name()) else {
                continue;
            };
            let rows = records
                .raw_rows(&mut tx.conn(), tenant, table.name(), filter, true)
                .await?;
            let plan = plan(collection, table, &rows, &ids, &holds);
            plan_within_cap(collection, table, &rows, &ids, &plan, &mut shortfall);
            for (owner, why) in &plan.retained {
                retained.entry(*owner).or_insert_with(|| why.clone());
            }
            archived.extend(plan.archived.iter().copied());
            let part = apply(
                &mut tx.conn(),
                actor,
                collection,
                table,
                &plan,
                backend,
                changed_at,
            )
            .await?;
            parts.push(part);
        }
        // Nothing above the runner's clearance is destroyed: refused, the transaction rolls
        // back (`clearance.rs`).
        shortfall.into_result()?;
        tx.commit().await?;

        // Only now, with the rows gone for good, the keys (see the module docs).
        let mut keys = Vec::with_capacity(ids.len());
        for id in &ids {
            let subject = SubjectId::from_uuid(*id);
            if let Some(why) = retained.get(id) {
                keys.push(KeyDestruction {
                    subject,
                    destroyed_versions: 0,
                    retained: Some(why.clone()),
                });
                continue;
            }
            let destroyed = records
                .store()
                .keys()
                .destroy_subject_keys(tenant, subject)
                .await?;
            records.evict(tenant, subject).await;
            keys.push(KeyDestruction {
                subject,
                destroyed_versions: destroyed,
                retained: None,
            });
        }
        // The erased rows' old pages out of the data database's files too (SQLite: its WAL;
        // `docs/storage.md`); the key store scrubbed itself when it destroyed the keys.
        if let Err(err) = records.store().data().scrub(&[]).await {
            tracing::warn!(
                error = %datavern_sql::report(&err),
                "Cannot scrub the data database after an erasure; old pages stay in its files \
                 until the next checkpoint"
            );
        }
        let complete = parts.iter().all(|p| p.refusal_reason.is_none());
        tracing::info!(collections = parts.len(), complete, "Erased data subjects");
        Ok(ErasureOutcome {
            tenant: tenant.to_string(),
            subjects: ids.into_iter().map(SubjectId::from_uuid).collect(),
            collections: parts,
            keys,
            archived: archived.into_iter().map(SubjectId::from_uuid).collect(),
            complete,
        })
    }
}

/// Counts in `shortfall` the fields above the cap that `plan` deletes or nulls (rows it
/// refuses or only restricts change no value).
fn plan_within_cap(
    collection: &Collection,
    table: &Table,
    rows: &[RawRow],
    subjects: &[Uuid],
    plan: &Plan,
    shortfall: &mut Shortfall,
) {
    if matches!(plan.method, ErasureMethod::Restrict | ErasureMethod::Refuse) {
        return;
    }
    let changed: BTreeSet<Uuid> = plan
        .primary
        .iter()
        .chain(plan.secondary.values().flatten())
        .copied()
        .collect();
    for row in rows.iter().filter(|row| changed.contains(&row.id)) {
        for appearance in appearances(table, row, subjects) {
            for field in erased(collection, table, &appearance) {
                shortfall.field(collection, &field);
            }
        }
    }
}

/// Sorts the collection's rows of the subjects into what to erase, restrict or refuse.
fn plan(
    collection: &Collection,
    table: &Table,
    rows: &[RawRow],
    subjects: &[Uuid],
    holds: &HoldSet,
) -> Plan {
    let name = table.name();
    let collection_hold = holds.on_collection(name);
    let method = match (collection_hold, collection.archive(), collection.erasure()) {
        (Some(_), _, _) => ErasureMethod::Refuse,
        (None, Some(_), _) => ErasureMethod::Restrict,
        (None, None, ErasurePolicy::CryptoShred) => ErasureMethod::CryptoShred,
        (None, None, ErasurePolicy::Delete) => ErasureMethod::Delete,
        (None, None, ErasurePolicy::Anonymize) => ErasureMethod::Anonymize,
    };
    let mut plan = Plan {
        method,
        primary: Vec::new(),
        secondary: BTreeMap::new(),
        refused: 0,
        refusal_reason: collection_hold.map(|h| h.reason.clone()),
        retained: Vec::new(),
        versions: BTreeMap::new(),
        subjects: BTreeSet::new(),
        archived: BTreeSet::new(),
    };
    for row in rows {
        let seen = appearances(table, row, subjects);
        if seen.is_empty() {
            continue;
        }
        plan.subjects.extend(seen.iter().map(|a| a.subject));
        plan.versions.insert(row.id, row.version);
        let hold = collection_hold
            .or_else(|| holds.on_record(name, row.id))
            .or_else(|| {
                seen.iter()
                    .find_map(|a| holds.on_subject(SubjectId::from_uuid(a.subject)))
            });
        if let Some(hold) = hold {
            plan.refused += 1;
            plan.refusal_reason
                .get_or_insert_with(|| hold.reason.clone());
            if let Some(owner) = row.key_owner(table) {
                plan.retained.push((
                    owner,
                    format!("a legal hold keeps `{name}`: {}", hold.reason),
                ));
            }
            continue;
        }
        let is_primary = seen
            .iter()
            .any(|a| matches!(a.role, SubjectRole::Itself | SubjectRole::Primary { .. }));
        if method == ErasureMethod::Restrict {
            plan.archived.extend(
                seen.iter()
                    .filter(|a| matches!(a.role, SubjectRole::Itself | SubjectRole::Primary { .. }))
                    .map(|a| a.subject),
            );
            if let Some(owner) = row.key_owner(table).filter(|_| is_primary) {
                let reason = collection
                    .archive()
                    .map(|a| a.legal_reason().to_owned())
                    .unwrap_or_default();
                plan.retained.push((
                    owner,
                    format!("archive duty keeps `{name}` readable: {reason}"),
                ));
            }
            if !row.restricted {
                plan.primary.push(row.id);
            }
            continue;
        }
        if is_primary {
            plan.primary.push(row.id);
            continue;
        }
        for appearance in seen {
            if let Some(position) = appearance.reference {
                plan.secondary.entry(position).or_default().push(row.id);
            }
        }
    }
    plan
}

/// The fields anonymization nulls in `table`: the personal, the encrypted and the subject
/// reference fields.
pub(super) fn anonymized<'t>(
    collection: &'t Collection,
    table: &'t Table,
) -> impl Iterator<Item = &'t TableField> {
    table.fields.iter().filter(|field| {
        collection
            .field(&field.name)
            .is_some_and(|f| f.is_personal())
            || field.encrypted
            || table.references.iter().any(|r| r.field == field.name)
    })
}

/// The fields attributed to reference `name` in `collection`.
pub(super) fn attributed<'c>(
    collection: &'c Collection,
    name: &'c str,
) -> impl Iterator<Item = &'c str> {
    collection
        .fields()
        .iter()
        .filter_map(move |f| match f.attribution() {
            Attribution::Subject(s) if s.as_str() == name => Some(f.name().as_str()),
            _ => None,
        })
}

/// Runs the collection's statements and writes its audit entry and outbox events.
async fn apply(
    conn: &mut Conn<'_>,
    actor: &Actor,
    collection: &Collection,
    table: &Table,
    plan: &Plan,
    backend: datavern_sql::Backend,
    now: OffsetDateTime,
) -> Result<CollectionErasure> {
    let scope = Scope {
        tenant: actor.tenant,
        collection,
        table,
        backend,
        now,
    };
    let mut changes = Changes::default();
    let records = erase_primary(conn, &scope, plan, &mut changes).await?;
    let secondary_records = erase_secondary(conn, &scope, plan, &mut changes).await?;
    let legal_reason = match plan.method {
        ErasureMethod::Restrict => collection.archive().map(|a| a.legal_reason().to_owned()),
        _ => None,
    };
    let part = CollectionErasure {
        collection: table.name().to_owned(),
        method: plan.method,
        records,
        secondary_records,
        fields: changes.fields.into_iter().collect(),
        legal_reason,
        refused_records: plan.refused,
        refusal_reason: plan.refusal_reason.clone(),
    };
    if !plan.subjects.is_empty() || part.refusal_reason.is_some() {
        audit::append(conn, &erasure_entry(now.into(), actor, plan, &part)).await?;
    }
    append_events(conn, &scope, plan, changes.events).await?;
    Ok(part)
}

/// The collection one [`apply`] erases in, and when.
struct Scope<'a> {
    tenant: datavern_core::catalog::Kommunenummer,
    collection: &'a Collection,
    table: &'a Table,
    backend: datavern_sql::Backend,
    now: OffsetDateTime,
}

/// What an erasure changed in one collection: the fields, and per record changed its change
/// and fields (for its outbox event).
#[derive(Default)]
struct Changes {
    fields: BTreeSet<String>,
    events: Vec<(Uuid, RecordChange, Vec<String>)>,
}

impl Changes {
    /// Notes the change `change` of `fields` in each of the records `ids`.
    fn note(&mut self, ids: &[Uuid], change: RecordChange, fields: Vec<String>) {
        self.fields.extend(fields.iter().cloned());
        self.events
            .extend(ids.iter().map(|id| (*id, change, fields.clone())));
    }
}

/// Erases the records where a subject is the record itself or its primary subject, by the
/// plan's method; the number of records changed.
async fn erase_primary(
    conn: &mut Conn<'_>,
    scope: &Scope<'_>,
    plan: &Plan,
    changes: &mut Changes,
) -> Result<u64> {
    if plan.primary.is_empty() {
        return Ok(0);
    }
    let Scope {
        tenant,
        collection,
        table,
        backend,
        now,
    } = *scope;
    let name = table.name();
    let null = || SimpleExpr::Keyword(Keyword::Null);
    match plan.method {
        ErasureMethod::CryptoShred | ErasureMethod::Delete => {
            let mut records = 0;
            for chunk in plan.primary.chunks(CHUNK) {
                let delete = Query::delete()
                    .from_table(Alias::new(table.table()))
                    .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
                    .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                    .to_owned();
                records += conn.execute(&delete).await?;
            }
            // Versions kept under an archive duty since lifted go with the record.
            history::forget(conn, tenant, name, &plan.primary).await?;
            let all: Vec<String> = table.fields.iter().map(|f| f.name.clone()).collect();
            changes.note(&plan.primary, RecordChange::Deleted, all);
            Ok(records)
        }
        ErasureMethod::Anonymize => {
            let mut columns: Vec<(String, SimpleExpr)> = Vec::new();
            let mut erased = Vec::new();
            for field in anonymized(collection, table) {
                columns.push((field.name.clone(), null()));
                if let Some(index) = &field.blind_index {
                    columns.push((index.clone(), null()));
                }
                erased.push(field.name.clone());
            }
            for reference in &table.references {
                columns.push((reference.column.clone(), null()));
            }
            let records = update(conn, table, tenant, &plan.primary, columns, backend, now).await?;
            // Earlier versions hold what was just anonymized.
            history::forget(conn, tenant, name, &plan.primary).await?;
            changes.note(&plan.primary, RecordChange::Updated, erased);
            Ok(records)
        }
        ErasureMethod::Restrict => {
            let columns = vec![(
                datavern_store::schema::RESTRICTED_COLUMN.to_owned(),
                Expr::val(true).into(),
            )];
            let records = update(conn, table, tenant, &plan.primary, columns, backend, now).await?;
            changes.note(&plan.primary, RecordChange::Updated, Vec::new());
            Ok(records)
        }
        ErasureMethod::Refuse => Ok(0),
    }
}

/// Erases the parts of secondary parties (a guardian on a child's application): their
/// reference and the fields attributed to them; the number of records changed.
async fn erase_secondary(
    conn: &mut Conn<'_>,
    scope: &Scope<'_>,
    plan: &Plan,
    changes: &mut Changes,
) -> Result<u64> {
    let Scope {
        tenant,
        collection,
        table,
        backend,
        now,
    } = *scope;
    let null = || SimpleExpr::Keyword(Keyword::Null);
    let mut secondary_records = 0;
    for (position, ids) in &plan.secondary {
        let reference = &table.references[*position];
        // The reference field itself may be attributed to its subject too: each column once.
        let mut erased = vec![reference.field.clone()];
        for field in attributed(collection, &reference.name) {
            if !erased.iter().any(|e| e == field) {
                erased.push(field.to_owned());
            }
        }
        let mut columns: Vec<(String, SimpleExpr)> = vec![(reference.column.clone(), null())];
        for field in &erased {
            columns.push((field.clone(), null()));
            if let Some(index) = table
                .fields
                .iter()
                .find(|f| &f.name == field)
                .and_then(|f| f.blind_index.clone())
            {
                columns.push((index, null()));
            }
        }
        secondary_records += update(conn, table, tenant, ids, columns, backend, now).await?;
        if collection.archive().is_none() {
            // Earlier versions hold the party's part too; under archive duty they are the
            // archive, kept like the record.
            history::forget(conn, tenant, table.name(), ids).await?;
        }
        changes.note(ids, RecordChange::Updated, erased);
    }
    Ok(secondary_records)
}

/// The audit entry of one collection's part of an erasure.
fn erasure_entry(
    at: At,
    actor: &Actor,
    plan: &Plan,
    part: &CollectionErasure,
) -> audit::AuditEntry {
    let outcome = if plan.refused > 0 {
        AuditOutcome::Refused
    } else {
        plan.method.outcome()
    };
    let mut entry = actor
        .entry(at, AuditAction::DsrErase, outcome)
        .with_subjects(plan.subjects.iter().copied())
        .with_fields(part.fields.iter().cloned());
    entry.collection = Some(part.collection.clone());
    // Counts only (the audit's reason holds at most 64 bytes); the method is the outcome.
    entry.reason = Some(format!(
        "records={} secondary={} refused={}",
        part.records, part.secondary_records, part.refused_records
    ));
    entry
}

/// Appends the outbox event of each record changed, with the version the change gave it.
async fn append_events(
    conn: &mut Conn<'_>,
    scope: &Scope<'_>,
    plan: &Plan,
    events: Vec<(Uuid, RecordChange, Vec<String>)>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    outbox::append_all(
        conn,
        events
            .into_iter()
            .map(|(record, change, fields)| RecordEvent {
                change,
                tenant: scope.tenant,
                collection: scope.table.name(),
                record,
                version: match change {
                    RecordChange::Deleted => plan.versions.get(&record).copied().unwrap_or(0),
                    _ => plan.versions.get(&record).copied().unwrap_or(0) + 1,
                },
                fields,
                time: scope.now,
            })
            .collect(),
    )
    .await?;
    Ok(())
}

/// `UPDATE <table> SET <columns>, version = version + 1, updated_at = now WHERE tenant = ?
/// AND id IN (..)`, in chunks; the number of rows changed.
async fn update(
    conn: &mut Conn<'_>,
    table: &Table,
    tenant: datavern_core::catalog::Kommunenummer,
    ids: &[Uuid],
    columns: Vec<(String, SimpleExpr)>,
    backend: datavern_sql::Backend,
    now: OffsetDateTime,
) -> Result<u64> {
    let mut changed = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut values: Vec<(Alias, SimpleExpr)> = columns
            .iter()
            .map(|(name, expr)| (Alias::new(name.as_str()), expr.clone()))
            .collect();
        values.push((Alias::new("updated_at"), time_expr(backend, now)));
        values.push((
            Alias::new("version"),
            Expr::col(Alias::new("version")).add(1i64),
        ));
        let statement = Query::update()
            .table(Alias::new(table.table()))
            .values(values)
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
            .to_owned();
        changed += conn.execute(&statement).await?;
    }
    Ok(changed)
}

impl fmt::Display for CollectionErasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({} records, {} secondary, {} refused)",
            self.collection,
            self.method,
            self.records,
            self.secondary_records,
            self.refused_records
        )
    }
}
