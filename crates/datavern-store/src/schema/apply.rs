//! `apply_catalog`: create the tables of new collections, refuse changes to existing ones.

use std::collections::BTreeSet;

use datavern_core::catalog::Catalog;
use datavern_sql::{At, Conn, Database, Json, SchemaLock, SqlError, Text};
use sea_query::{Alias, Query};

use super::diff::{CollectionChanges, IncompatibleCatalog, differences};
use super::names::{TENANT_POLICY, checked};
use super::{TableDescription, create_statements, versions};
use crate::error::{Result, StoreError};
use crate::table::Table;

/// What [`Store::apply_catalog`](crate::Store::apply_catalog) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Collections whose tables were created (or adopted: present but unregistered).
    pub created: Vec<String>,
    /// Collections whose tables were already as the catalog wants.
    pub unchanged: Vec<String>,
    /// The catalog version recorded, if the catalog was not the one in force.
    pub version: Option<i64>,
}

impl ApplyReport {
    /// Whether nothing was created.
    pub fn is_unchanged(&self) -> bool {
        self.created.is_empty()
    }
}

/// Serializes catalog applications across processes: PostgreSQL advisory lock key
/// ("dvcatalg" in ASCII), MariaDB/MySQL named lock, waiting at most 60 s there.
const CATALOG_LOCK: SchemaLock = SchemaLock {
    what: "applying the catalog to this database",
    name: "datavern_apply",
    key: 0x6476_6361_7461_6c67,
    timeout_secs: 60,
};

/// Applies `catalog` to the data database, all or nothing where the backend allows it
/// (PostgreSQL and SQLite run it in one transaction; MariaDB/MySQL DDL commits implicitly,
/// so there every step is idempotent and a rerun completes an interrupted one).
pub(crate) async fn apply_catalog(
    db: &Database,
    catalog: &Catalog,
    now: At,
) -> Result<ApplyReport> {
    let wanted: Vec<Table> = catalog.collections().iter().map(Table::new).collect();
    // Generate every statement first: a bad identifier fails before anything runs.
    for table in &wanted {
        create_statements(table.layout(), db.backend())?;
    }
    db.serialized(CATALOG_LOCK, async |conn| {
        apply_locked(conn, catalog, &wanted, now).await
    })
    .await
    .map_err(|err| match err {
        // As before the lock moved into datavern-sql: a configuration-level refusal.
        StoreError::Sql(err @ SqlError::LockTimeout { .. }) => StoreError::Config(err.to_string()),
        err => err,
    })
}

/// A row of `dv_collections`.
type RegistryRow = (Text, Text, Json<serde_json::Value>, Text);

async fn apply_locked(
    mut conn: Conn<'_>,
    catalog: &Catalog,
    wanted: &[Table],
    now: At,
) -> Result<ApplyReport> {
    let registry: Vec<RegistryRow> = conn
        .fetch_all(
            Query::select()
                .columns([
                    Alias::new("name"),
                    Alias::new("table_name"),
                    Alias::new("description"),
                    Alias::new("fingerprint"),
                ])
                .from(Alias::new("dv_collections")),
        )
        .await?;

    let mut report = ApplyReport::default();
    let mut incompatible = Vec::new();
    let mut to_verify = Vec::new();
    let mut to_create = Vec::new();
    for table in wanted.iter().map(Table::layout) {
        let Some((_, Text(table_name), Json(stored), Text(fingerprint))) =
            registry.iter().find(|row| row.0.0 == table.collection)
        else {
            to_create.push(table);
            continue;
        };
        let applied: TableDescription =
            serde_json::from_value(stored.clone()).map_err(|err| StoreError::SchemaDrift {
                collection: table.collection.clone(),
                table: table_name.clone(),
                problem: format!("its description in dv_collections cannot be read: {err}"),
            })?;
        if *fingerprint == table.fingerprint() {
            to_verify.push(applied);
            continue;
        }
        let changes = differences(&applied, table);
        if changes.is_empty() {
            to_verify.push(applied);
        } else {
            incompatible.push(CollectionChanges {
                collection: table.collection.clone(),
                table: applied.table.clone(),
                changes,
            });
        }
    }
    for (Text(name), Text(table_name), _, _) in &registry {
        if !wanted.iter().any(|t| t.name() == name) {
            incompatible.push(CollectionChanges {
                collection: name.clone(),
                table: table_name.clone(),
                changes: vec![format!(
                    "the collection was removed from the catalog, but its table {table_name} \
                     and records remain"
                )],
            });
        }
    }
    if !incompatible.is_empty() {
        return Err(IncompatibleCatalog {
            collections: incompatible,
        }
        .into());
    }

    for applied in &to_verify {
        verify_live(&mut conn, applied).await?;
        report.unchanged.push(applied.collection.clone());
    }
    for table in to_create {
        create(&mut conn, table, now).await?;
        report.created.push(table.collection.clone());
    }
    report.version = record_if_new(&mut conn, catalog, now).await?;
    Ok(report)
}

/// Records `catalog` as a new catalog version if it is not the one in force (a first
/// catalog, or a change that needed no migration: who is `start-up`, the time the store's);
/// refused while a migration is open, which would otherwise complete
/// over a catalog it was not planned against.
async fn record_if_new(conn: &mut Conn<'_>, catalog: &Catalog, now: At) -> Result<Option<i64>> {
    let source = catalog.source();
    let current = versions::current_catalog(conn).await?;
    if current.is_some_and(|c| c.version.checksum == versions::checksum(source)) {
        return Ok(None);
    }
    if let Some(open) = versions::open_migration(conn).await? {
        return Err(StoreError::Config(format!(
            "catalog migration {} is open ({}): finish it with `datavern migrate complete` or \
             roll it back with `datavern migrate abort` before applying another catalog",
            open.id, open.state
        )));
    }
    let version =
        versions::record_version(conn, source, versions::APPLIED_AT_START_UP, None, now).await?;
    tracing::info!(version, "Recorded a new catalog version");
    Ok(Some(version))
}

/// Creates `table` (or adopts an unregistered table with exactly its columns) and registers
/// it.
async fn create(conn: &mut Conn<'_>, table: &TableDescription, now: At) -> Result<()> {
    let live = live_columns(conn, &table.table).await?;
    if !live.is_empty() {
        let problem = column_mismatch(&live, table).map(|mismatch| {
            format!("the table exists but was not created from this collection: {mismatch}")
        });
        if let Some(problem) = problem {
            return Err(drift(table, problem));
        }
    }
    for statement in create_statements(table, conn.backend())? {
        conn.execute_raw(&statement).await?;
    }
    let now = now.value(conn.backend());
    let description = serde_json::to_value(table).map_err(|err| drift(table, err.to_string()))?;
    conn.execute(
        Query::insert()
            .into_table(Alias::new("dv_collections"))
            .columns([
                Alias::new("name"),
                Alias::new("table_name"),
                Alias::new("description"),
                Alias::new("fingerprint"),
                Alias::new("applied_at"),
                Alias::new("updated_at"),
            ])
            // Six columns, six values: cannot panic.
            .values_panic([
                table.collection.clone().into(),
                table.table.clone().into(),
                description.into(),
                table.fingerprint().into(),
                now.clone().into(),
                now.into(),
            ]),
    )
    .await?;
    tracing::info!(
        collection = %table.collection,
        table = %table.table,
        backend = %conn.backend(),
        "Created collection table"
    );
    Ok(())
}

/// Checks that a registered table still exists with its columns (and, on PostgreSQL, its
/// row-level security).
async fn verify_live(conn: &mut Conn<'_>, applied: &TableDescription) -> Result<()> {
    let live = live_columns(conn, &applied.table).await?;
    if live.is_empty() {
        return Err(drift(
            applied,
            "the table is missing: it was dropped or renamed outside datavern".to_owned(),
        ));
    }
    // Columns an open migration added are expected beside the applied ones.
    let window = versions::window_columns(conn, &applied.table).await?;
    let live: BTreeSet<String> = live.difference(&window).cloned().collect();
    if let Some(mismatch) = column_mismatch(&live, applied) {
        return Err(drift(applied, mismatch));
    }
    let secured = conn
        .row_level_security(checked(&applied.table)?, TENANT_POLICY)
        .await?;
    if secured == Some(false) {
        return Err(drift(
            applied,
            format!(
                "row-level security is not enabled and forced, or policy {TENANT_POLICY} is \
                 missing"
            ),
        ));
    }
    Ok(())
}

/// The column names `table` has in the database (none if it does not exist).
async fn live_columns(conn: &mut Conn<'_>, table: &str) -> Result<BTreeSet<String>> {
    Ok(conn
        .table_columns(checked(table)?)
        .await?
        .into_iter()
        .collect())
}

/// How `live` differs from `table`'s columns, if it does.
fn column_mismatch(live: &BTreeSet<String>, table: &TableDescription) -> Option<String> {
    let described: BTreeSet<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let missing: Vec<&str> = described.difference(live).map(String::as_str).collect();
    let unexpected: Vec<&str> = live.difference(&described).map(String::as_str).collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("columns missing: {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("unexpected columns: {}", unexpected.join(", ")));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

fn drift(table: &TableDescription, problem: String) -> StoreError {
    StoreError::SchemaDrift {
        collection: table.collection.clone(),
        table: table.table.clone(),
        problem,
    }
}
