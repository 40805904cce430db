//! Retention: records past their period are deleted, anonymized or archived as the catalog
//! says, except what a legal hold covers (`docs/retention.md`).
//!
//! For each tenant of the catalog and each collection with a retention rule, a record is
//! due when its start plus the period is at or before `now`:
//!
//! | `from` | start |
//! |---|---|
//! | `created` | `created_at` |
//! | `updated` | `updated_at` |
//! | `{ field: f }` | the date or timestamp in `f` (a record without one is never due) |
//! | `last_activity` | the latest `updated_at` of any record, in any collection, in which the record's primary subject appears (as `subjects: self` record or in any subject column); the record's own `updated_at` for collections without subjects |
//!
//! The work is set-based: per collection, batches of up to [`Retention::with_batch_size`]
//! ids are selected (one statement) and changed (one statement), each batch in its own
//! transaction with its audit entry and outbox events, so a million records never need one
//! giant transaction nor a statement per row. Anonymized and archived records are listed in
//! `dv_retention_register`, deleted ones are gone: either way a second run finds nothing
//! left to do.

mod select;

use std::sync::Arc;
use std::time::{Duration, Instant};

use datavern_core::catalog::{
    Catalog, ErasurePolicy, Kommunenummer, RetentionAction, RetentionStart,
};
use datavern_sql::{At, Tx, TxMode};
use sea_query::{Expr, Query};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use self::select::{REGISTER, Rule, col};
use crate::error::Result;
use crate::holds::{HoldSet, LegalHolds};
use datavern_store::Store;
use datavern_store::SubjectId;
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome, writer};
use datavern_store::outbox::{self, RecordChange, RecordEvent};

/// The principal retention's audit entries name.
pub const RETENTION_PRINCIPAL: &str = "system:retention";
/// The default number of records changed per transaction.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// The largest batch: audit entries list at most this many ids, and every backend takes an
/// id list this long in one statement.
pub const MAX_BATCH_SIZE: usize = 10_000;

/// The retention job over one store and catalog.
#[derive(Debug, Clone)]
pub struct Retention {
    store: Store,
    catalog: Arc<Catalog>,
    batch_size: usize,
}

/// What retention would do now, per tenant and collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionPlan {
    /// The time the plan was made for.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// One entry per tenant and collection with a retention rule.
    pub collections: Vec<PlannedCollection>,
}

/// One collection of one tenant in a [`RetentionPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCollection {
    /// The tenant.
    pub tenant: Kommunenummer,
    /// The collection.
    pub collection: String,
    /// The rule, e.g. `P5Y from created, then delete`.
    pub rule: String,
    /// What happens to records due.
    pub action: RetentionAction,
    /// Records past their period, not handled yet and not held.
    pub due: u64,
    /// Records past their period that an active legal hold keeps.
    pub held: u64,
    /// When the oldest record due (held or not) reached the end of its period, if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_due_at: Option<OffsetDateTime>,
}

/// Whether a run changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Delete, anonymize and archive.
    Apply,
    /// Count only; nothing is changed or audited.
    DryRun,
}

/// Progress of a run, after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The tenant worked on.
    pub tenant: Kommunenummer,
    /// The collection worked on.
    pub collection: String,
    /// Records handled so far in the whole run.
    pub done: u64,
    /// Records due in the whole run, as counted at its start.
    pub total: u64,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionReport {
    /// The run's id (in every audit entry's request id, `retention:<id>`).
    pub run_id: Uuid,
    /// The time the run counted periods against.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Whether it changed anything.
    pub mode: RunMode,
    /// One entry per tenant and collection with a retention rule.
    pub collections: Vec<CollectionOutcome>,
    /// Records deleted, anonymized and archived in all.
    pub handled: u64,
    /// Wall time of the run, in seconds.
    pub elapsed_seconds: f64,
    /// `handled / elapsed_seconds` (0 when nothing was handled).
    pub records_per_second: f64,
}

/// What a run did to one collection of one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionOutcome {
    /// The tenant.
    pub tenant: Kommunenummer,
    /// The collection.
    pub collection: String,
    /// The action of its rule.
    pub action: RetentionAction,
    /// Records due when the run started (not held).
    pub due: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Records anonymized.
    pub anonymized: u64,
    /// Records archived.
    pub archived: u64,
    /// Records past their period kept by a legal hold.
    pub held: u64,
    /// Key versions destroyed: persons deleted from a `crypto_shred` collection of
    /// `subjects: self` whose data no other record still holds (crypto-shredding, so old
    /// backups of their rows cannot be decrypted either).
    pub keys_destroyed: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Wall time spent on the collection, in seconds.
    pub elapsed_seconds: f64,
}

impl Retention {
    /// Retention over `store` by the rules of `catalog`, [`DEFAULT_BATCH_SIZE`] records per
    /// transaction.
    pub fn new(store: Store, catalog: Arc<Catalog>) -> Self {
        Retention {
            store,
            catalog,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// The same job with `size` records per transaction (clamped to 1..=[`MAX_BATCH_SIZE`]).
    pub fn with_batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.clamp(1, MAX_BATCH_SIZE);
        self
    }

    /// What a run at `now` would do: per tenant and collection, records due, held, and the
    /// oldest end of period. Reads only.
    #[instrument(skip_all)]
    pub async fn plan(&self, now: OffsetDateTime) -> Result<RetentionPlan> {
        self.plan_tenants(&self.tenants(), now).await
    }

    /// [`plan`](Self::plan) for one tenant only.
    pub async fn plan_tenant(
        &self,
        tenant: Kommunenummer,
        now: OffsetDateTime,
    ) -> Result<RetentionPlan> {
        self.plan_tenants(&[tenant], now).await
    }

    async fn plan_tenants(
        &self,
        tenants: &[Kommunenummer],
        now: OffsetDateTime,
    ) -> Result<RetentionPlan> {
        let mut collections = Vec::new();
        for &tenant in tenants {
            let holds = LegalHolds::new(self.store.clone())
                .active(tenant, now)
                .await?;
            for rule in self.rules(now)? {
                collections.push(self.plan_collection(tenant, &rule, &holds).await?);
            }
        }
        Ok(RetentionPlan { now, collections })
    }

    /// Runs retention at `now`: every record due is deleted, anonymized or archived as its
    /// collection's rule says, in batches, each audited with its outbox events; held records
    /// are counted and left alone. With [`RunMode::DryRun`] it counts and changes nothing.
    /// `progress` is called after each batch.
    #[instrument(skip_all, fields(mode = ?mode))]
    pub async fn run(
        &self,
        now: OffsetDateTime,
        mode: RunMode,
        mut progress: impl FnMut(&Progress) + Send,
    ) -> Result<RetentionReport> {
        let started = Instant::now();
        let run_id = Uuid::now_v7();
        let now = OffsetDateTime::from(At::from(now));
        let rules = self.rules(now)?;
        let mut planned = Vec::new();
        for tenant in self.tenants() {
            let holds = LegalHolds::new(self.store.clone())
                .active(tenant, now)
                .await?;
            for rule in &rules {
                let plan = self.plan_collection(tenant, rule, &holds).await?;
                planned.push(plan);
            }
        }
        let total: u64 = planned.iter().map(|plan| plan.due).sum();
        let mut done = 0;
        let mut outcomes = Vec::new();
        for (plan, rule) in planned.into_iter().zip(rules.iter().cycle()) {
            let collection_started = Instant::now();
            let mut outcome = CollectionOutcome {
                tenant: plan.tenant,
                collection: plan.collection.clone(),
                action: plan.action,
                due: plan.due,
                deleted: 0,
                anonymized: 0,
                archived: 0,
                held: plan.held,
                keys_destroyed: 0,
                batches: 0,
                elapsed_seconds: 0.0,
            };
            if mode == RunMode::Apply && plan.due > 0 {
                // Keyset pagination by id: each batch starts after the last id of the one
                // before, so handled rows that stay (anonymized, archived) are not scanned
                // again.
                let mut after = None;
                loop {
                    let (changed, last, ids) = self.batch(plan.tenant, rule, after, run_id).await?;
                    if changed == 0 {
                        break;
                    }
                    if rule.action == RetentionAction::Delete && shreds(rule) {
                        outcome.keys_destroyed += self.shred_orphans(plan.tenant, &ids).await?;
                    }
                    after = last;
                    outcome.batches += 1;
                    match rule.action {
                        RetentionAction::Delete => outcome.deleted += changed,
                        RetentionAction::Anonymize => outcome.anonymized += changed,
                        RetentionAction::Archive => outcome.archived += changed,
                    }
                    done += changed;
                    progress(&Progress {
                        tenant: plan.tenant,
                        collection: plan.collection.clone(),
                        done,
                        total,
                    });
                    if changed < self.batch_size as u64 {
                        break;
                    }
                }
            }
            outcome.elapsed_seconds = collection_started.elapsed().as_secs_f64();
            if outcome.batches > 0 || outcome.held > 0 {
                tracing::info!(
                    tenant = %plan.tenant,
                    collection = %plan.collection,
                    action = plan.action.as_str(),
                    handled = outcome.deleted + outcome.anonymized + outcome.archived,
                    held = outcome.held,
                    "Retention applied to collection"
                );
            }
            outcomes.push(outcome);
        }
        let elapsed = started.elapsed();
        Ok(RetentionReport {
            run_id,
            now,
            mode,
            handled: done,
            records_per_second: per_second(done, elapsed),
            elapsed_seconds: elapsed.as_secs_f64(),
            collections: outcomes,
        })
    }

    fn tenants(&self) -> Vec<Kommunenummer> {
        self.catalog
            .deployment()
            .tenants()
            .iter()
            .map(|t| t.kommunenummer())
            .collect()
    }

    /// The collections with a retention rule, with the cutoff at `now`.
    fn rules(&self, now: OffsetDateTime) -> Result<Vec<Rule<'_>>> {
        let mut rules = Vec::new();
        for collection in self.catalog.collections() {
            let Some(retention) = collection.retention() else {
                continue;
            };
            let cutoff = cutoff(now, retention.period().span()).ok_or_else(|| {
                datavern_store::StoreError::Config(format!(
                    "the retention period {} of {} reaches before year -9999",
                    retention.period(),
                    collection.name()
                ))
            })?;
            rules.push(Rule {
                collection,
                table: datavern_store::table::Table::new(collection),
                action: retention.then(),
                cutoff,
            });
        }
        Ok(rules)
    }

    async fn plan_collection(
        &self,
        tenant: Kommunenummer,
        rule: &Rule<'_>,
        holds: &HoldSet,
    ) -> Result<PlannedCollection> {
        let backend = self.store.data().backend();
        let name = rule.collection.name().as_str();
        let due = rule.due(&self.catalog, backend, tenant);
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Read).await?;
        let (all,): (i64,) = first(tx.conn().fetch_all(&rule.count(due.clone())).await?);
        let unheld = if holds.on_collection(name).is_some() {
            0
        } else if holds.is_empty() {
            all
        } else {
            let cond = due.clone().add(rule.unheld(holds));
            let (unheld,): (i64,) = first(tx.conn().fetch_all(&rule.count(cond)).await?);
            unheld
        };
        let oldest_start = if all > 0 {
            self.oldest_start(&mut tx, rule, due).await?
        } else {
            None
        };
        tx.commit().await?;
        let retention = rule.collection.retention();
        Ok(PlannedCollection {
            tenant,
            collection: name.to_owned(),
            rule: retention
                .map(|r| format!("{} from {}, then {}", r.period(), r.from(), r.then()))
                .unwrap_or_default(),
            action: rule.action,
            due: u64::try_from(unheld).unwrap_or(0),
            held: u64::try_from(all - unheld).unwrap_or(0),
            oldest_due_at: oldest_start
                .and_then(|start| retention.and_then(|r| end_of_period(start, r.period().span()))),
        })
    }

    /// The earliest start among the records due, as an instant (a date field's at midnight
    /// UTC).
    async fn oldest_start(
        &self,
        tx: &mut Tx,
        rule: &Rule<'_>,
        due: sea_query::Cond,
    ) -> Result<Option<OffsetDateTime>> {
        let query = rule.oldest(due);
        let is_date = matches!(
            rule.collection.retention().map(|r| r.from()),
            Some(RetentionStart::Field(field))
                if rule.collection.field(field.as_str())
                    .is_some_and(|f| f.field_type() == datavern_core::catalog::FieldType::Date)
        );
        if is_date {
            let (date,): (Option<time::Date>,) = first(tx.conn().fetch_all(&query).await?);
            Ok(date.map(|d| d.midnight().assume_utc()))
        } else {
            let (at,): (Option<At>,) = first(tx.conn().fetch_all(&query).await?);
            Ok(at.map(OffsetDateTime::from))
        }
    }

    /// Handles the next batch of `rule`'s records due in `tenant` with ids after `after`, in
    /// one transaction. Returns how many records it changed and the last id.
    async fn batch(
        &self,
        tenant: Kommunenummer,
        rule: &Rule<'_>,
        after: Option<Uuid>,
        run_id: Uuid,
    ) -> Result<(u64, Option<Uuid>, Vec<Uuid>)> {
        let backend = self.store.data().backend();
        // Periods are counted against the run's `now`; what the batch changes is recorded at
        // the time it is changed.
        let changed_at = self.store.now();
        let name = rule.collection.name().as_str();
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
        // The holds in force now, read in the batch's own transaction: a hold placed during
        // the run is seen by the next batch, or waits for this one (see `crate::holds`).
        let holds =
            &datavern_store::holds::active_in(&mut tx.conn(), tenant, changed_at.into()).await?;
        if holds.on_collection(name).is_some() {
            return Ok((0, None, Vec::new()));
        }
        let mut cond = rule
            .due(&self.catalog, backend, tenant)
            .add(rule.unheld(holds));
        if let Some(after) = after {
            cond = cond.add(rule.after(after));
        }
        let rows: Vec<(Uuid, i64)> = tx
            .conn()
            .fetch_all(&rule.batch(backend, cond, self.batch_size as u64))
            .await?;
        if rows.is_empty() {
            return Ok((0, None, Vec::new()));
        }
        let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
        let by_id = || {
            sea_query::Cond::all()
                .add(Expr::col(col("tenant")).eq(tenant.as_str()))
                .add(Expr::col(col("id")).is_in(ids.iter().copied()))
        };
        let (change, fields) = match rule.action {
            RetentionAction::Delete => {
                let delete = Query::delete()
                    .from_table(col(rule.table()))
                    .cond_where(by_id())
                    .to_owned();
                tx.conn().execute(&delete).await?;
                let fields = rule
                    .collection
                    .fields()
                    .iter()
                    .map(|f| f.name().to_string())
                    .collect();
                (Some(RecordChange::Deleted), fields)
            }
            RetentionAction::Anonymize => {
                let (columns, fields) = rule.anonymized_columns();
                let mut update = Query::update();
                update.table(col(rule.table()));
                for column in &columns {
                    update.value(
                        col(column),
                        sea_query::SimpleExpr::Keyword(sea_query::Keyword::Null),
                    );
                }
                update.value(col("version"), Expr::col(col("version")).add(1));
                update.cond_where(by_id());
                tx.conn().execute(&update).await?;
                register(&mut tx, tenant, name, &ids, "anonymize", run_id, changed_at).await?;
                (Some(RecordChange::Updated), fields)
            }
            RetentionAction::Archive => {
                let update = Query::update()
                    .table(col(rule.table()))
                    .value(col(datavern_store::schema::RESTRICTED_COLUMN), true)
                    .cond_where(by_id())
                    .to_owned();
                tx.conn().execute(&update).await?;
                register(&mut tx, tenant, name, &ids, "archive", run_id, changed_at).await?;
                (None, Vec::new())
            }
        };
        if let Some(change) = change {
            let events = rows
                .iter()
                .map(|(id, version)| RecordEvent {
                    change,
                    tenant,
                    collection: name,
                    record: *id,
                    version: if change == RecordChange::Deleted {
                        *version
                    } else {
                        version + 1
                    },
                    fields: fields.clone(),
                    time: changed_at.into(),
                })
                .collect();
            outbox::append_all(&mut tx.conn(), events).await?;
        }
        let mut entry = AuditEntry::new(
            changed_at,
            Some(tenant),
            RETENTION_PRINCIPAL,
            AuditAction::Retention(rule.action),
            AuditOutcome::Granted,
        )
        .with_request_id(format!("retention:{run_id}"))
        .with_fields(fields);
        entry.collection = Some(name.to_owned());
        entry.record_id = ids.first().copied();
        entry.reason = Some(format!("{} records", ids.len()));
        writer::append(&mut tx.conn(), &entry).await?;
        tx.commit().await?;
        Ok((ids.len() as u64, ids.last().copied(), ids))
    }

    /// Destroys the data keys of the persons `deleted` (ids of a `subjects: self` collection
    /// just deleted, committed) that no record of any collection still concerns: one
    /// `SELECT` per subject column of the catalog, then one key-store statement. A person
    /// with records left elsewhere (a kindergarten application sealed with their key) keeps
    /// the key until those go too; the erasure request destroys it then. Runs after the
    /// data transaction, like erasure: a crash in between leaves rows gone and keys alive,
    /// never keys gone under live rows.
    async fn shred_orphans(&self, tenant: Kommunenummer, deleted: &[Uuid]) -> Result<u64> {
        let mut remaining = std::collections::BTreeSet::new();
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Read).await?;
        for (table, column) in select::activity_columns(&self.catalog) {
            let query = Query::select()
                .distinct()
                .column(col(&column))
                .from(col(&table))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col(&column)).is_in(deleted.iter().copied()))
                .to_owned();
            let rows: Vec<(Uuid,)> = tx.conn().fetch_all(&query).await?;
            remaining.extend(rows.into_iter().map(|(id,)| id));
        }
        tx.commit().await?;
        let orphans: Vec<SubjectId> = deleted
            .iter()
            .filter(|id| !remaining.contains(*id))
            .map(|id| SubjectId::from_uuid(*id))
            .collect();
        Ok(self.store.keys().destroy_keys_of(tenant, &orphans).await?)
    }
}

/// Whether deleting `rule`'s records is crypto-shredding persons: a `subjects: self`
/// collection whose erasure policy destroys keys.
fn shreds(rule: &Rule<'_>) -> bool {
    rule.collection.erasure() == ErasurePolicy::CryptoShred
        && rule.table.key_owner() == datavern_store::table::KeyOwner::Record
}

/// Lists `ids` in the retention register as handled by `action` in run `run_id`.
async fn register(
    tx: &mut Tx,
    tenant: Kommunenummer,
    collection: &str,
    ids: &[Uuid],
    action: &str,
    run_id: Uuid,
    now: At,
) -> Result<()> {
    const COLUMNS: [&str; 6] = [
        "tenant",
        "collection",
        "record_id",
        "action",
        "handled_at",
        "run_id",
    ];
    let backend = tx.conn().backend();
    for chunk in ids.chunks(backend.rows_per_insert(COLUMNS.len())) {
        let mut insert = Query::insert();
        insert.into_table(col(REGISTER)).columns(COLUMNS.map(col));
        for id in chunk {
            // Six columns, six values: cannot panic.
            insert.values_panic([
                tenant.as_str().into(),
                collection.into(),
                (*id).into(),
                action.into(),
                now.value(backend).into(),
                run_id.into(),
            ]);
        }
        tx.conn().execute(&insert).await?;
    }
    Ok(())
}

/// The first row of a one-row answer (an aggregate always has one).
fn first<T: Default>(rows: Vec<T>) -> T {
    rows.into_iter().next().unwrap_or_default()
}

/// `now` minus a calendar `span`, in UTC: records that started at or before it are due.
/// `None` when the result is outside the range of times (before year -9999).
pub fn cutoff(now: OffsetDateTime, span: jiff::Span) -> Option<OffsetDateTime> {
    let at = At::from(now).to_timestamp().ok()?;
    let earlier = at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_sub(span)
        .ok()?;
    Some(At::from(earlier.timestamp()).into())
}

/// `start` plus a calendar `span`, in UTC: when a record that started then is due.
/// `None` when the result is outside the range of times (after year 9999).
pub fn end_of_period(start: OffsetDateTime, span: jiff::Span) -> Option<OffsetDateTime> {
    let at = At::from(start).to_timestamp().ok()?;
    let later = at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(span)
        .ok()?;
    Some(At::from(later.timestamp()).into())
}

fn per_second(records: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if records == 0 || seconds <= 0.0 {
        0.0
    } else {
        records as f64 / seconds
    }
}
