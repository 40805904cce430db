//! SQLite dumps: `VACUUM INTO` a copy of the whole database file, consistent as one read
//! transaction and compacted (so an unchanged database copies to the same pages); loaded by
//! attaching the copy and recreating its schema and rows in one transaction.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection, SqlitePool};

use super::{DumpManifest, LoadReport, TableDump, io_error};
use crate::backend::Backend;
use crate::dialect::Dialect;
use crate::error::{Result, SqlError};

const DIALECT: Dialect = Dialect::new(Backend::Sqlite);

/// The copy of the database in a dump directory.
pub(super) const FILE: &str = "database.sqlite";

/// The schema name the dump is attached under while loading.
const ATTACHED: &str = "dv_dump";

pub(super) async fn dump(
    pool: &SqlitePool,
    dir: &Path,
    done: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<TableDump>> {
    let path = dir.join(FILE);
    let target = path_text(&path)?;
    let mut conn = pool.acquire().await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let mut copy = SqliteConnectOptions::new()
        .filename(&path)
        .read_only(true)
        .connect()
        .await?;
    let result = describe(&mut copy).await;
    copy.close().await?;
    if result.is_ok() {
        done(FILE);
    }
    result
}

async fn describe(copy: &mut SqliteConnection) -> Result<Vec<TableDump>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *copy)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *copy)
                .await?;
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", DIALECT.quote(&name)))
                .fetch_one(&mut *copy)
                .await?;
        tables.push(TableDump {
            name,
            columns,
            hex_columns: Vec::new(),
            rows: u64::try_from(rows).unwrap_or(0),
            file: FILE.to_owned(),
        });
    }
    Ok(tables)
}

pub(super) async fn load(
    pool: &SqlitePool,
    dir: &Path,
    manifest: &DumpManifest,
) -> Result<LoadReport> {
    let path = dir.join(FILE);
    if !tokio::fs::try_exists(&path)
        .await
        .map_err(|err| io_error(&format!("cannot read {FILE}"), err))?
    {
        return Err(SqlError::Dump(format!(
            "the snapshot holds no {FILE}: the snapshot is damaged"
        )));
    }
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("ATTACH DATABASE ? AS {ATTACHED}"))
        .bind(path_text(&path)?)
        .execute(&mut *conn)
        .await?;
    let result = copy_all(&mut conn, manifest).await;
    if result.is_err() {
        // Ends the transaction copy_all may have left open, so the detach can run.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    sqlx::query(&format!("DETACH DATABASE {ATTACHED}"))
        .execute(&mut *conn)
        .await?;
    result
}

/// Recreates the attached dump's tables, rows, indexes and triggers in the main database,
/// in one transaction, and checks every table's row count against the manifest.
async fn copy_all(conn: &mut SqliteConnection, manifest: &DumpManifest) -> Result<LoadReport> {
    let existing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM main.sqlite_master WHERE name NOT LIKE 'sqlite_%'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if existing > 0 {
        return Err(SqlError::Dump(
            "the target database is not empty: a dump loads only into an empty database".to_owned(),
        ));
    }
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    // The rows come in name order, not in reference order; the references are checked when
    // the transaction commits.
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    let schema: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT type, name, sql FROM {ATTACHED}.sqlite_master \
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' \
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut report = LoadReport { tables: 0, rows: 0 };
    for (_, _, sql) in schema.iter().filter(|(kind, _, _)| kind == "table") {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    for table in &manifest.tables {
        let name = DIALECT.quote(&table.name);
        let copied = sqlx::query(&format!(
            "INSERT INTO main.{name} SELECT * FROM {ATTACHED}.{name}"
        ))
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if copied != table.rows {
            return Err(SqlError::Dump(format!(
                "{FILE} holds {copied} rows of {} where the manifest says {}: the snapshot is \
                 damaged",
                table.name, table.rows
            )));
        }
        if table.name != super::MIGRATIONS_TABLE {
            report.tables += 1;
            report.rows += copied;
        }
    }
    let sequences: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {ATTACHED}.sqlite_master WHERE name = 'sqlite_sequence'"
    ))
    .fetch_one(&mut *conn)
    .await?;
    if sequences > 0 {
        sqlx::query(&format!(
            "INSERT INTO main.sqlite_sequence SELECT * FROM {ATTACHED}.sqlite_sequence"
        ))
        .execute(&mut *conn)
        .await?;
    }
    for (_, _, sql) in schema.iter().filter(|(kind, _, _)| kind != "table") {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(report)
}

fn path_text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        SqlError::Dump("the dump directory's path is not valid UTF-8; choose another".to_owned())
    })
}
