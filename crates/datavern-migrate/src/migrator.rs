//! [`Migrator`]: plan, apply, complete, abort and status of catalog migrations on one store.

use std::sync::Arc;
use std::time::Duration;

use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_crypto::KekProvider;
use datavern_sql::{At, Conn, Json, SchemaLock, Text, Tx, TxMode};
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome, MigrationEvent};
use datavern_store::schema::{self, versions};
use datavern_store::{Records, Store};
use indicatif::{ProgressBar, ProgressStyle};
use sea_query::{Alias, Expr, Order, Query};

use crate::backfill::{self, Checkpoint, Filler, OnInvalid};
use crate::error::{MigrateError, Refusal, Result};
use crate::plan::{self, Backfill, Change, ChangeKind, Guard, PLAN_FORMAT, Plan, Statement};

/// Keeps two processes from migrating one database at once (PostgreSQL advisory lock key
/// "dvmigrat" in ASCII; a MariaDB named lock; a lock file beside a SQLite database).
const MIGRATION_LOCK: SchemaLock = SchemaLock {
    what: "migrating the catalog",
    name: "datavern_migrate",
    key: 0x6476_6d69_6772_6174,
    timeout_secs: 0,
};

/// How a migration runs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Rows per backfill batch (one transaction each).
    pub batch_size: u64,
    /// A pause after each batch, to leave the database to the application.
    pub throttle: Duration,
    /// What to do with values that do not convert to a field's new type.
    pub on_invalid: OnInvalid,
    /// Whether to draw progress bars (on a terminal).
    pub progress: bool,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        MigrateOptions {
            batch_size: 1000,
            throttle: Duration::ZERO,
            on_invalid: OnInvalid::Refuse,
            progress: false,
        }
    }
}

/// Catalog migrations on one store, for one principal.
pub struct Migrator {
    store: Store,
    kek: Arc<dyn KekProvider>,
    principal: String,
    options: MigrateOptions,
}

/// A migration as the register holds it.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Its id.
    pub id: i64,
    /// `expanding`, `backfilling`, `ready`, `completed` or `aborted`.
    pub state: String,
    /// The plan it runs.
    pub plan: Plan,
    /// The catalog it moves to, as text.
    pub catalog: String,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: At,
}

/// What `apply` did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The migration.
    pub id: i64,
    /// Rows each backfill rewrote, in plan order (`collection.field`, rows).
    pub backfilled: Vec<(String, u64)>,
    /// The catalog version in force, if `apply` completed the migration (a plan without
    /// backfill or contract); otherwise `complete` is next.
    pub version: Option<i64>,
}

/// The state of a database's migrations.
#[derive(Debug, Clone)]
pub struct Status {
    /// Every catalog version, oldest first.
    pub versions: Vec<versions::CatalogVersion>,
    /// The open migration, if one is.
    pub open: Option<Migration>,
}

const STATE_EXPANDING: &str = "expanding";
const STATE_BACKFILLING: &str = "backfilling";
const STATE_READY: &str = "ready";
const STATE_COMPLETED: &str = "completed";
const STATE_ABORTED: &str = "aborted";

impl Migrator {
    /// Migrations on `store`, keys unwrapped by `kek`, by `principal`.
    pub fn new(store: Store, kek: Arc<dyn KekProvider>, principal: impl Into<String>) -> Self {
        Migrator {
            store,
            kek,
            principal: principal.into(),
            options: MigrateOptions::default(),
        }
    }

    /// The same with `options`.
    pub fn with_options(mut self, options: MigrateOptions) -> Self {
        self.options = options;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The catalog in force, parsed.
    pub async fn current(&self) -> Result<(versions::AppliedCatalog, Catalog)> {
        let mut conn = self.store.data().acquire().await?;
        let current = versions::current_catalog(&mut conn.conn()).await?;
        let Some(current) = current else {
            return Err(MigrateError::refused(
                Refusal::NoCatalogVersion,
                "no catalog version is recorded in this database: start datavern once with the \
                 catalog it serves (datavern serve, or any command that opens the store), then \
                 plan the migration",
            ));
        };
        let catalog = Catalog::from_yaml(&current.source).map_err(|errors| {
            MigrateError::refused(
                Refusal::CatalogInvalid,
                format!(
                    "the catalog in force (version {}) no longer validates with this datavern: \
                     {errors}",
                    current.version.version
                ),
            )
        })?;
        Ok((current, catalog))
    }

    /// The plan from the catalog in force to `new`, with the rows each change touches
    /// counted on this database.
    pub async fn plan(&self, new: &Catalog) -> Result<Plan> {
        let (current, old) = self.current().await?;
        self.plan_from(current, &old, new).await
    }

    /// [`Migrator::plan`] from the catalog in force, already read.
    async fn plan_from(
        &self,
        current: versions::AppliedCatalog,
        old: &Catalog,
        new: &Catalog,
    ) -> Result<Plan> {
        let mut changes = plan::changes(old, new)?;
        let tenants = tenants(old, new);
        for change in &mut changes {
            if let Some((table, column)) = plan::counted(change) {
                if matches!(change.kind, ChangeKind::CollectionAdded) {
                    continue;
                }
                let mut rows = 0;
                for tenant in &tenants {
                    rows += backfill::count(self.store.data(), *tenant, &table, column.as_deref())
                        .await?;
                }
                change.rows = Some(rows);
            }
        }
        Ok(Plan {
            format: PLAN_FORMAT,
            from_version: current.version.version,
            from_checksum: current.version.checksum,
            to_checksum: versions::checksum(new.source()),
            changes,
        })
    }

    /// The versions and the open migration.
    pub async fn status(&self) -> Result<Status> {
        let mut conn = self.store.data().acquire().await?;
        let versions = versions::catalog_versions(&mut conn.conn()).await?;
        drop(conn);
        Ok(Status {
            versions,
            open: self.open().await?,
        })
    }

    /// Runs the migration to `new` online: records it, expands, backfills, and completes it
    /// at once when nothing is left to contract. With `expected`, refuses unless the plan
    /// made now is that plan (made against the catalog version still in force). An open
    /// migration to the same catalog is resumed where it stopped.
    pub async fn apply(&self, new: &Catalog, expected: Option<&Plan>) -> Result<Applied> {
        let result = self.locked(self.apply_locked(new, expected)).await;
        self.audit_refusal(&result).await;
        result
    }

    /// Contracts the open migration once its backfills are done, and puts its catalog in
    /// force.
    pub async fn complete(&self) -> Result<i64> {
        let result = self.locked(self.complete_locked()).await;
        self.audit_refusal(&result).await;
        result
    }

    /// Rolls the open migration back before its contract phase: its triggers, columns and
    /// tables dropped, the catalog in force unchanged.
    pub async fn abort(&self) -> Result<i64> {
        let result = self.locked(self.abort_locked()).await;
        self.audit_refusal(&result).await;
        result
    }

    async fn locked<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let lock = self.store.data().lock_session(MIGRATION_LOCK).await?;
        let result = work.await;
        let released = lock.release().await;
        let value = result?;
        released?;
        Ok(value)
    }

    async fn apply_locked(&self, new: &Catalog, expected: Option<&Plan>) -> Result<Applied> {
        let to_checksum = versions::checksum(new.source());
        let (current, old) = self.current().await?;
        let migration = match self.open().await? {
            Some(open) if open.plan.to_checksum == to_checksum => {
                tracing::info!(migration = open.id, state = %open.state, "Resuming the migration");
                open
            }
            Some(open) => {
                return Err(MigrateError::refused(
                    Refusal::MigrationOpen,
                    format!(
                        "migration {} to another catalog is open ({}): complete it with \
                         `datavern migrate complete` or roll it back with `datavern migrate \
                         abort` first",
                        open.id, open.state
                    ),
                ));
            }
            None => self.start(current, &old, new, expected).await?,
        };
        if migration.state == STATE_EXPANDING {
            self.expand(&migration).await?;
        }
        let backfilled = self.backfill_all(&migration, &old, new).await?;
        if migration.plan.is_one_step() {
            let version = self.finish(&migration, &old, new).await?;
            return Ok(Applied {
                id: migration.id,
                backfilled,
                version: Some(version),
            });
        }
        self.set_state(migration.id, STATE_READY).await?;
        Ok(Applied {
            id: migration.id,
            backfilled,
            version: None,
        })
    }

    /// Checks the plan, validates conversions and records the migration.
    async fn start(
        &self,
        current: versions::AppliedCatalog,
        old: &Catalog,
        new: &Catalog,
        expected: Option<&Plan>,
    ) -> Result<Migration> {
        let plan = self.plan_from(current, old, new).await?;
        if plan.from_checksum == plan.to_checksum {
            return Err(MigrateError::refused(
                Refusal::NothingToDo,
                format!(
                    "this catalog is already in force (version {})",
                    plan.from_version
                ),
            ));
        }
        if let Some(expected) = expected {
            check_expected(expected, &plan)?;
        }
        let unsupported: Vec<String> = plan
            .unsupported()
            .filter_map(|c| match &c.kind {
                ChangeKind::Unsupported { reason } => Some(format!("- {reason}")),
                _ => None,
            })
            .collect();
        if !unsupported.is_empty() {
            return Err(MigrateError::refused(
                Refusal::Unsupported,
                format!(
                    "the plan has changes a migration cannot make; nothing was changed:\n{}",
                    unsupported.join("\n")
                ),
            ));
        }
        self.validate_conversions(&plan, old, new).await?;

        let now = self.store.now();
        let plan_json = serde_json::to_value(&plan).map_err(|err| {
            MigrateError::refused(
                Refusal::CatalogInvalid,
                format!("cannot record the plan: {err}"),
            )
        })?;
        let mut tx = self.store.data().begin(datavern_sql::Begin::Write).await?;
        let mut conn = tx.conn();
        let last: Vec<(Option<i64>,)> = conn
            .fetch_all(
                Query::select()
                    .expr(Expr::col(Alias::new("id")).max())
                    .from(Alias::new("dv_migrations")),
            )
            .await?;
        let id = last.first().and_then(|(v,)| *v).unwrap_or(0) + 1;
        let backend = conn.backend();
        conn.execute(
            Query::insert()
                .into_table(Alias::new("dv_migrations"))
                .columns(
                    [
                        "id",
                        "from_version",
                        "from_checksum",
                        "to_checksum",
                        "catalog",
                        "plan",
                        "state",
                        "started_by",
                        "started_at",
                        "updated_at",
                    ]
                    .map(Alias::new),
                )
                // Ten columns, ten values: cannot panic.
                .values_panic([
                    id.into(),
                    plan.from_version.into(),
                    plan.from_checksum.clone().into(),
                    plan.to_checksum.clone().into(),
                    new.source().into(),
                    plan_json.into(),
                    STATE_EXPANDING.into(),
                    self.principal.clone().into(),
                    now.value(backend).into(),
                    now.value(backend).into(),
                ]),
        )
        .await?;
        datavern_store::audit::writer::append(
            &mut conn,
            &self.entry(MigrationEvent::Started, id, &plan),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            migration = id,
            changes = plan.changes.len(),
            "Started a catalog migration"
        );
        Ok(Migration {
            id,
            state: STATE_EXPANDING.to_owned(),
            plan,
            catalog: new.source().to_owned(),
            started_by: self.principal.clone(),
            started_at: now,
        })
    }

    /// Refuses a type change while a stored value would not convert (unless told to store
    /// none for it), listing every such record.
    async fn validate_conversions(&self, plan: &Plan, old: &Catalog, new: &Catalog) -> Result<()> {
        if self.options.on_invalid == OnInvalid::Null {
            return Ok(());
        }
        let conversions: Vec<Backfill> = plan
            .backfills()
            .into_iter()
            .filter(|b| {
                plan.changes.iter().any(|c| {
                    matches!(&c.kind,
                    ChangeKind::FieldReshaped { field, from, to }
                        if *field == b.field && c.collection == b.collection
                            && from.field_type != to.field_type)
                })
            })
            .collect();
        if conversions.is_empty() {
            return Ok(());
        }
        let (old_records, new_records) = self.records(old, new);
        let mut problems = Vec::new();
        for backfill in &conversions {
            let filler = Filler {
                old: &old_records,
                new: &new_records,
                backfill,
                on_invalid: OnInvalid::Null,
            };
            for tenant in tenants(old, new) {
                let mut after = None;
                loop {
                    let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
                    let page = filler
                        .fill_page(&mut tx.conn(), tenant, after, self.options.batch_size, true)
                        .await?;
                    drop(tx);
                    for id in page.invalid {
                        problems.push(format!(
                            "{}.{} of record {id} (tenant {tenant})",
                            backfill.collection, backfill.field
                        ));
                    }
                    if page.rows < self.options.batch_size {
                        break;
                    }
                    after = page.last;
                }
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(MigrateError::refused(
            Refusal::InvalidValues,
            format!(
                "{} stored values would not convert to the field's new type; nothing was \
                 changed. Correct them, or give --on-invalid null to store no value for them:\n{}",
                problems.len(),
                problems
                    .iter()
                    .map(|p| format!("- {p}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        ))
    }

    fn records(&self, old: &Catalog, new: &Catalog) -> (Records, Records) {
        (
            Records::new(self.store.clone(), Arc::new(old.clone()), self.kek.clone()),
            Records::new(self.store.clone(), Arc::new(new.clone()), self.kek.clone()),
        )
    }

    async fn expand(&self, migration: &Migration) -> Result<()> {
        let backend = self.store.data().backend();
        let mut pooled = self.store.data().acquire().await?;
        let mut conn = pooled.conn();
        for change in &migration.plan.changes {
            let Some(phases) = phases(change, backend) else {
                continue;
            };
            run_statements(&mut conn, &phases.expand).await?;
        }
        for (table, column) in migration.plan.window_columns() {
            conn.execute(
                Query::delete()
                    .from_table(Alias::new("dv_schema_window"))
                    .and_where(Expr::col(Alias::new("table_name")).eq(table.as_str()))
                    .and_where(Expr::col(Alias::new("column_name")).eq(column.as_str())),
            )
            .await?;
            conn.execute(
                Query::insert()
                    .into_table(Alias::new("dv_schema_window"))
                    .columns(["table_name", "column_name", "migration"].map(Alias::new))
                    // Three columns, three values: cannot panic.
                    .values_panic([table.into(), column.into(), migration.id.into()]),
            )
            .await?;
        }
        drop(pooled);
        self.set_state(migration.id, STATE_BACKFILLING).await?;
        self.audit(MigrationEvent::Expanded, migration.id, &migration.plan)
            .await?;
        Ok(())
    }

    /// Runs every backfill to its end from its checkpoints.
    async fn backfill_all(
        &self,
        migration: &Migration,
        old: &Catalog,
        new: &Catalog,
    ) -> Result<Vec<(String, u64)>> {
        let backfills = migration.plan.backfills();
        if backfills.is_empty() {
            return Ok(Vec::new());
        }
        let (old_records, new_records) = self.records(old, new);
        let mut done = Vec::new();
        for backfill in &backfills {
            let filler = Filler {
                old: &old_records,
                new: &new_records,
                backfill,
                on_invalid: self.options.on_invalid,
            };
            let total: u64 = migration
                .plan
                .changes
                .iter()
                .filter(|c| c.collection == backfill.collection)
                .filter_map(|c| match &c.kind {
                    ChangeKind::FieldReshaped { field, .. }
                    | ChangeKind::FieldSearchable { field }
                    | ChangeKind::FieldRenamed { field, .. }
                        if *field == backfill.field =>
                    {
                        c.rows
                    }
                    _ => None,
                })
                .next()
                .unwrap_or(0);
            let bar = self.bar(
                total,
                &format!("{}.{}", backfill.collection, backfill.field),
            );
            let mut rows = 0;
            for tenant in tenants(old, new) {
                rows += self.walk(migration.id, &filler, tenant, &bar).await?;
            }
            bar.finish_and_clear();
            let mut entry = self.entry(MigrationEvent::Backfilled, migration.id, &migration.plan);
            entry.collection = Some(backfill.collection.clone());
            entry.fields = vec![backfill.field.clone()];
            self.store.audit().record(entry).await?;
            tracing::info!(
                migration = migration.id,
                collection = %backfill.collection,
                field = %backfill.field,
                rows,
                "Backfill done"
            );
            done.push((format!("{}.{}", backfill.collection, backfill.field), rows));
        }
        Ok(done)
    }

    /// Walks one tenant from its checkpoint to the end, a batch per transaction.
    async fn walk(
        &self,
        migration: i64,
        filler: &Filler<'_>,
        tenant: Kommunenummer,
        bar: &ProgressBar,
    ) -> Result<u64> {
        let step = filler.backfill.step;
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
        let mut checkpoint = backfill::checkpoint(&mut tx.conn(), migration, step, tenant).await?;
        tx.commit().await?;
        bar.inc(u64::try_from(checkpoint.rows).unwrap_or(0));
        while !checkpoint.done {
            let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
            let page = filler
                .fill_page(
                    &mut tx.conn(),
                    tenant,
                    checkpoint.last,
                    self.options.batch_size,
                    false,
                )
                .await?;
            checkpoint = Checkpoint {
                last: page.last.or(checkpoint.last),
                rows: checkpoint.rows + i64::try_from(page.rows).unwrap_or(i64::MAX),
                done: page.rows < self.options.batch_size,
            };
            backfill::save_checkpoint(
                &mut tx.conn(),
                migration,
                step,
                tenant,
                &checkpoint,
                self.store.now(),
            )
            .await?;
            tx.commit().await?;
            bar.inc(page.rows);
            if !self.options.throttle.is_zero() && !checkpoint.done {
                tokio::time::sleep(self.options.throttle).await;
            }
        }
        Ok(u64::try_from(checkpoint.rows).unwrap_or(0))
    }

    /// Sweeps every backfill once more over the whole table of each tenant, on `conn` when
    /// given (the contract transaction) or a transaction per batch.
    async fn sweep(&self, old: &Catalog, new: &Catalog, backfills: &[Backfill]) -> Result<u64> {
        let (old_records, new_records) = self.records(old, new);
        let mut rows = 0;
        for backfill in backfills {
            let filler = Filler {
                old: &old_records,
                new: &new_records,
                backfill,
                on_invalid: self.options.on_invalid,
            };
            for tenant in tenants(old, new) {
                let mut after = None;
                loop {
                    let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
                    if let Some(lock) = tx.conn().dialect().exclude_writers(&backfill.table) {
                        tx.conn().execute_raw(&lock).await?;
                    }
                    let page = filler
                        .fill_page(
                            &mut tx.conn(),
                            tenant,
                            after,
                            self.options.batch_size,
                            false,
                        )
                        .await?;
                    tx.commit().await?;
                    rows += page.rows - page.invalid.len() as u64;
                    if page.rows < self.options.batch_size {
                        break;
                    }
                    after = page.last;
                }
            }
        }
        Ok(rows)
    }

    async fn complete_locked(&self) -> Result<i64> {
        let Some(migration) = self.open().await? else {
            return Err(no_migration("complete"));
        };
        if migration.state != STATE_READY {
            return Err(MigrateError::refused(
                Refusal::WrongState,
                format!(
                    "migration {} is {}, not ready: run `datavern migrate apply` again to finish \
                     its backfill, then complete it",
                    migration.id, migration.state
                ),
            ));
        }
        let (_, old) = self.current().await?;
        let new = Catalog::from_yaml(&migration.catalog).map_err(|errors| {
            MigrateError::refused(
                Refusal::CatalogInvalid,
                format!("the migration's catalog no longer validates: {errors}"),
            )
        })?;
        self.finish(&migration, &old, &new).await
    }

    /// The final sweep, the contract phase, the registry and the new version.
    async fn finish(&self, migration: &Migration, old: &Catalog, new: &Catalog) -> Result<i64> {
        let backfills = migration.plan.backfills();
        // Rows changed behind the walks: swept until a pass finds none (each page locks its
        // table against writers on PostgreSQL while it runs).
        loop {
            let swept = self.sweep(old, new, &backfills).await?;
            if swept == 0 {
                break;
            }
            tracing::info!(
                migration = migration.id,
                rows = swept,
                "Swept rows changed during the backfill"
            );
        }
        let backend = self.store.data().backend();
        let now = self.store.now();
        let version = self
            .store
            .data()
            .serialized(MIGRATION_CONTRACT, async |mut conn: Conn<'_>| {
                for change in &migration.plan.changes {
                    if let Some(phases) = phases(change, backend) {
                        run_statements(&mut conn, &phases.unhook).await?;
                    }
                }
                for change in &migration.plan.changes {
                    if let Some(phases) = phases(change, backend) {
                        run_statements(&mut conn, &phases.contract).await?;
                    }
                }
                register(&mut conn, migration, new, now).await?;
                let version = versions::record_version(
                    &mut conn,
                    &migration.catalog,
                    &self.principal,
                    Some(migration.id),
                    now,
                )
                .await?;
                set_state(&mut conn, migration.id, STATE_COMPLETED, now, true).await?;
                datavern_store::audit::writer::append(
                    &mut conn,
                    &self.entry(MigrationEvent::Completed, migration.id, &migration.plan),
                )
                .await?;
                Ok::<i64, MigrateError>(version)
            })
            .await?;
        let dropped: Vec<&str> = migration
            .plan
            .changes
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    ChangeKind::FieldRemoved { .. }
                        | ChangeKind::FieldReshaped { .. }
                        | ChangeKind::FieldRenamed { .. }
                )
            })
            .map(|c| c.table.as_str())
            .collect();
        if !dropped.is_empty() {
            // What the dropped columns held must not stay readable in free pages.
            self.store.data().scrub(&dropped).await?;
        }
        tracing::info!(
            migration = migration.id,
            version,
            "Completed the catalog migration"
        );
        Ok(version)
    }

    async fn abort_locked(&self) -> Result<i64> {
        let Some(migration) = self.open().await? else {
            return Err(no_migration("abort"));
        };
        let backend = self.store.data().backend();
        let now = self.store.now();
        let mut conn = self.store.data().acquire().await?;
        let mut conn = conn.conn();
        for change in &migration.plan.changes {
            if let Some(phases) = phases(change, backend) {
                run_statements(&mut conn, &phases.unhook).await?;
            }
        }
        for change in migration.plan.changes.iter().rev() {
            if let Some(phases) = phases(change, backend) {
                run_statements(&mut conn, &phases.abort).await?;
            }
        }
        conn.execute(
            Query::delete()
                .from_table(Alias::new("dv_schema_window"))
                .and_where(Expr::col(Alias::new("migration")).eq(migration.id)),
        )
        .await?;
        set_state(&mut conn, migration.id, STATE_ABORTED, now, true).await?;
        datavern_store::audit::writer::append(
            &mut conn,
            &self.entry(MigrationEvent::Aborted, migration.id, &migration.plan),
        )
        .await?;
        tracing::info!(migration = migration.id, "Aborted the catalog migration");
        Ok(migration.id)
    }

    /// The open migration, if any.
    pub async fn open(&self) -> Result<Option<Migration>> {
        let mut conn = self.store.data().acquire().await?;
        let rows: Vec<(i64, Text, Json<serde_json::Value>, Text, Text, At)> = conn
            .conn()
            .fetch_all(
                Query::select()
                    .columns(
                        ["id", "state", "plan", "catalog", "started_by", "started_at"]
                            .map(Alias::new),
                    )
                    .from(Alias::new("dv_migrations"))
                    .and_where(
                        Expr::col(Alias::new("state")).is_not_in([STATE_COMPLETED, STATE_ABORTED]),
                    )
                    .order_by(Alias::new("id"), Order::Desc)
                    .limit(1),
            )
            .await?;
        let Some((id, Text(state), Json(plan), Text(catalog), Text(started_by), started_at)) =
            rows.into_iter().next()
        else {
            return Ok(None);
        };
        let plan: Plan = serde_json::from_value(plan).map_err(|err| {
            MigrateError::refused(
                Refusal::WrongState,
                format!("the plan of migration {id} cannot be read: {err}"),
            )
        })?;
        Ok(Some(Migration {
            id,
            state,
            plan,
            catalog,
            started_by,
            started_at,
        }))
    }

    async fn set_state(&self, id: i64, state: &str) -> Result<()> {
        let mut conn = self.store.data().acquire().await?;
        set_state(&mut conn.conn(), id, state, self.store.now(), false).await
    }

    fn entry(&self, event: MigrationEvent, id: i64, plan: &Plan) -> AuditEntry {
        let mut collections: Vec<String> =
            plan.changes.iter().map(|c| c.collection.clone()).collect();
        collections.dedup();
        AuditEntry::new(
            self.store.now(),
            None,
            self.principal.clone(),
            AuditAction::Migration(event),
            AuditOutcome::Granted,
        )
        .with_fields(collections)
        .with_request_id(format!("migration-{id}"))
    }

    async fn audit(&self, event: MigrationEvent, id: i64, plan: &Plan) -> Result<()> {
        Ok(self
            .store
            .audit()
            .record(self.entry(event, id, plan))
            .await?)
    }

    async fn audit_refusal<T>(&self, result: &Result<T>) {
        let Err(err) = result else { return };
        let Some(refusal) = err.refusal() else { return };
        let mut entry = AuditEntry::new(
            self.store.now(),
            None,
            self.principal.clone(),
            AuditAction::Migration(MigrationEvent::Refused),
            AuditOutcome::Refused,
        );
        entry.reason = Some(refusal.code().to_owned());
        if let Err(audit_err) = self.store.audit().record(entry).await {
            tracing::error!(error = %audit_err, "Cannot audit a refused migration step");
        }
    }

    fn bar(&self, total: u64, label: &str) -> ProgressBar {
        if !self.options.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} rows ({per_sec}, {eta})")
        {
            bar.set_style(style);
        }
        bar.set_message(label.to_owned());
        bar
    }
}

/// The contract phase's lock: the transaction-scoped form of the migration lock, taken
/// while the session lock is held, so the catalog apply at start-up waits for it too.
const MIGRATION_CONTRACT: SchemaLock = SchemaLock {
    what: "completing a catalog migration",
    name: "datavern_apply",
    key: 0x6476_6361_7461_6c67,
    timeout_secs: 60,
};

fn no_migration(step: &str) -> MigrateError {
    MigrateError::refused(
        Refusal::NoMigration,
        format!(
            "no migration is open, so there is nothing to {step}: start one with `datavern migrate apply`"
        ),
    )
}

fn check_expected(expected: &Plan, plan: &Plan) -> Result<()> {
    if expected.format != PLAN_FORMAT {
        return Err(MigrateError::refused(
            Refusal::ChecksumMismatch,
            format!(
                "the plan file has format {}, this datavern writes {PLAN_FORMAT}: make the plan \
                 again with `datavern migrate plan`",
                expected.format
            ),
        ));
    }
    if expected.from_checksum != plan.from_checksum {
        return Err(MigrateError::refused(
            Refusal::ChecksumMismatch,
            format!(
                "the plan was made against catalog {}, but version {} ({}) is in force now: the \
                 database changed since; make the plan again with `datavern migrate plan`",
                expected.from_checksum, plan.from_version, plan.from_checksum
            ),
        ));
    }
    if expected.to_checksum != plan.to_checksum {
        return Err(MigrateError::refused(
            Refusal::ChecksumMismatch,
            format!(
                "the plan was made for catalog {}, not the one given ({}): give the catalog the \
                 plan was made for, or make the plan again",
                expected.to_checksum, plan.to_checksum
            ),
        ));
    }
    let shape = |p: &Plan| -> Vec<(String, String)> {
        p.changes
            .iter()
            .map(|c| (c.collection.clone(), c.summary.clone()))
            .collect()
    };
    if shape(expected) != shape(plan) {
        return Err(MigrateError::refused(
            Refusal::ChecksumMismatch,
            "the plan made now differs from the plan file: make the plan again with `datavern \
             migrate plan`",
        ));
    }
    Ok(())
}

/// Every tenant of either catalog.
fn tenants(old: &Catalog, new: &Catalog) -> Vec<Kommunenummer> {
    let mut tenants: Vec<Kommunenummer> = old
        .deployment()
        .tenants()
        .iter()
        .chain(new.deployment().tenants())
        .map(|t| t.kommunenummer())
        .collect();
    tenants.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    tenants.dedup();
    tenants
}

fn phases(change: &Change, backend: datavern_sql::Backend) -> Option<&plan::Phases> {
    change.ddl.get(backend.as_str())
}

/// Runs each statement whose guard holds.
async fn run_statements(conn: &mut Conn<'_>, statements: &[Statement]) -> Result<()> {
    for statement in statements {
        let run = match &statement.guard {
            None => true,
            Some(Guard::ColumnAbsent { table, column }) => !has_column(conn, table, column).await?,
            Some(Guard::ColumnPresent { table, column }) => has_column(conn, table, column).await?,
        };
        if run {
            conn.execute_raw(&statement.sql).await?;
        }
    }
    Ok(())
}

async fn has_column(conn: &mut Conn<'_>, table: &str, column: &str) -> Result<bool> {
    Ok(conn
        .table_columns(schema::checked(table)?)
        .await?
        .iter()
        .any(|c| c == column))
}

async fn set_state(
    conn: &mut Conn<'_>,
    id: i64,
    state: &str,
    now: At,
    finished: bool,
) -> Result<()> {
    let backend = conn.backend();
    let mut update = Query::update();
    update
        .table(Alias::new("dv_migrations"))
        .value(Alias::new("state"), state)
        .value(Alias::new("updated_at"), now.value(backend))
        .and_where(Expr::col(Alias::new("id")).eq(id));
    if finished {
        update.value(Alias::new("finished_at"), now.value(backend));
    }
    conn.execute(&update).await?;
    Ok(())
}

/// Rewrites the registry (`dv_collections`) for the collections the migration changed, and
/// clears its window.
async fn register(
    conn: &mut Conn<'_>,
    migration: &Migration,
    new: &Catalog,
    now: At,
) -> Result<()> {
    let backend = conn.backend();
    for name in migration.plan.changed_collections() {
        conn.execute(
            Query::delete()
                .from_table(Alias::new("dv_collections"))
                .and_where(Expr::col(Alias::new("name")).eq(name)),
        )
        .await?;
        let Some(collection) = new.collection(name) else {
            continue;
        };
        let layout = schema::describe(collection);
        let description = serde_json::to_value(&layout).map_err(|err| {
            MigrateError::refused(
                Refusal::CatalogInvalid,
                format!("cannot describe {name}: {err}"),
            )
        })?;
        conn.execute(
            Query::insert()
                .into_table(Alias::new("dv_collections"))
                .columns(
                    [
                        "name",
                        "table_name",
                        "description",
                        "fingerprint",
                        "applied_at",
                        "updated_at",
                    ]
                    .map(Alias::new),
                )
                // Six columns, six values: cannot panic.
                .values_panic([
                    name.into(),
                    layout.table.clone().into(),
                    description.into(),
                    layout.fingerprint().into(),
                    now.value(backend).into(),
                    now.value(backend).into(),
                ]),
        )
        .await?;
    }
    conn.execute(
        Query::delete()
            .from_table(Alias::new("dv_schema_window"))
            .and_where(Expr::col(Alias::new("migration")).eq(migration.id)),
    )
    .await?;
    Ok(())
}
