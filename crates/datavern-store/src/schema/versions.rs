//! Catalog versions: every catalog a database has served, with its checksum, who applied it
//! and when (`dv_catalog_versions`), and the window of an open catalog migration
//! (`dv_migrations`, `dv_schema_window`), read by `apply_catalog` and written by
//! `datavern_migrate`.

use std::collections::BTreeSet;

use datavern_sql::{At, Conn, Text};
use sea_query::{Alias, Expr, Order, Query};

use crate::error::Result;

/// One applied catalog version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVersion {
    /// 1 for the first catalog, then one more for each.
    pub version: i64,
    /// [`checksum`] of the catalog's text.
    pub checksum: String,
    /// Who applied it (a principal, or `start-up` for a compatible change applied when a
    /// process opened the store).
    pub applied_by: String,
    /// When.
    pub applied_at: At,
    /// The migration that applied it, if one did.
    pub migration: Option<i64>,
}

/// An applied catalog version with its text.
#[derive(Debug, Clone)]
pub struct AppliedCatalog {
    /// The version.
    pub version: CatalogVersion,
    /// The catalog's text, byte for byte.
    pub source: String,
}

/// The migration still open on a database (started, not completed or aborted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMigration {
    /// Its id.
    pub id: i64,
    /// The checksum of the catalog it moves to.
    pub to_checksum: String,
    /// Its state (`expanding`, `backfilling`, `ready`).
    pub state: String,
}

/// Who applies a catalog when a process opens the store and the catalog's change needs no
/// migration.
pub const APPLIED_AT_START_UP: &str = "start-up";

/// The checksum of a catalog's text: `sha256:` and the hex SHA-256 of its bytes.
pub fn checksum(source: &str) -> String {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, source.as_bytes());
    let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

type VersionRow = (i64, Text, Text, At, Option<i64>);

fn version_of(
    (version, Text(checksum), Text(applied_by), applied_at, migration): VersionRow,
) -> CatalogVersion {
    CatalogVersion {
        version,
        checksum,
        applied_by,
        applied_at,
        migration,
    }
}

const VERSION_COLUMNS: [&str; 5] = [
    "version",
    "checksum",
    "applied_by",
    "applied_at",
    "migration",
];

/// Every catalog version, oldest first.
pub async fn catalog_versions(conn: &mut Conn<'_>) -> Result<Vec<CatalogVersion>> {
    let rows: Vec<VersionRow> = conn
        .fetch_all(
            Query::select()
                .columns(VERSION_COLUMNS.map(Alias::new))
                .from(Alias::new("dv_catalog_versions"))
                .order_by(Alias::new("version"), Order::Asc),
        )
        .await?;
    Ok(rows.into_iter().map(version_of).collect())
}

/// The catalog in force (the newest version) with its text, if any was applied.
pub async fn current_catalog(conn: &mut Conn<'_>) -> Result<Option<AppliedCatalog>> {
    let mut columns: Vec<Alias> = VERSION_COLUMNS.map(Alias::new).into();
    columns.push(Alias::new("catalog"));
    let rows: Vec<(i64, Text, Text, At, Option<i64>, Text)> = conn
        .fetch_all(
            Query::select()
                .columns(columns)
                .from(Alias::new("dv_catalog_versions"))
                .order_by(Alias::new("version"), Order::Desc)
                .limit(1),
        )
        .await?;
    Ok(rows.into_iter().next().map(
        |(version, checksum, applied_by, applied_at, migration, Text(source))| AppliedCatalog {
            version: version_of((version, checksum, applied_by, applied_at, migration)),
            source,
        },
    ))
}

/// Records `source` as the next catalog version, applied by `applied_by` at `now` (through
/// `migration`, if one): its number.
pub async fn record_version(
    conn: &mut Conn<'_>,
    source: &str,
    applied_by: &str,
    migration: Option<i64>,
    now: At,
) -> Result<i64> {
    let last: Vec<(Option<i64>,)> = conn
        .fetch_all(
            Query::select()
                .expr(Expr::col(Alias::new("version")).max())
                .from(Alias::new("dv_catalog_versions")),
        )
        .await?;
    let version = last.first().and_then(|(v,)| *v).unwrap_or(0) + 1;
    conn.execute(
        Query::insert()
            .into_table(Alias::new("dv_catalog_versions"))
            .columns(
                [
                    "version",
                    "checksum",
                    "catalog",
                    "applied_by",
                    "applied_at",
                    "migration",
                ]
                .map(Alias::new),
            )
            // Six columns, six values: cannot panic.
            .values_panic([
                version.into(),
                checksum(source).into(),
                source.into(),
                applied_by.into(),
                now.value(conn.backend()).into(),
                migration.into(),
            ]),
    )
    .await?;
    Ok(version)
}

/// The migration still open, if any.
pub async fn open_migration(conn: &mut Conn<'_>) -> Result<Option<OpenMigration>> {
    let rows: Vec<(i64, Text, Text)> = conn
        .fetch_all(
            Query::select()
                .columns(["id", "to_checksum", "state"].map(Alias::new))
                .from(Alias::new("dv_migrations"))
                .and_where(Expr::col(Alias::new("state")).is_not_in(["completed", "aborted"]))
                .order_by(Alias::new("id"), Order::Desc)
                .limit(1),
        )
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|(id, Text(to_checksum), Text(state))| OpenMigration {
            id,
            to_checksum,
            state,
        }))
}

/// The columns an open migration added to `table` that the applied catalog does not
/// describe yet.
pub async fn window_columns(conn: &mut Conn<'_>, table: &str) -> Result<BTreeSet<String>> {
    let rows: Vec<(Text,)> = conn
        .fetch_all(
            Query::select()
                .column(Alias::new("column_name"))
                .from(Alias::new("dv_schema_window"))
                .and_where(Expr::col(Alias::new("table_name")).eq(table)),
        )
        .await?;
    Ok(rows.into_iter().map(|(Text(c),)| c).collect())
}
