//! Consistent logical dumps of a whole database, and their loading into an empty one.
//!
//! A dump is a directory: `manifest.json` (a [`DumpManifest`]: the format, the backend, and
//! every table with its columns and row count) and the rows as stored, so ciphertext stays
//! ciphertext and the audit chain keeps its hashes. Each backend dumps in its own way, from
//! one consistent snapshot:
//!
//! - SQLite: `VACUUM INTO` a copy of the database file (`database.sqlite`), which a
//!   read transaction sees whole; loaded by attaching the copy and copying its schema and
//!   rows in one transaction.
//! - PostgreSQL: one `REPEATABLE READ, READ ONLY` transaction, every table written with
//!   `COPY … TO STDOUT` in primary-key order (`<table>.pgcopy`, PostgreSQL's binary format);
//!   loaded with `COPY … FROM STDIN` in one transaction, identity sequences moved past the
//!   loaded ids.
//! - MariaDB/MySQL: one `START TRANSACTION WITH CONSISTENT SNAPSHOT`, every table selected in
//!   primary-key order with each value as text (binary columns as hex) into JSON lines
//!   (`<table>.jsonl`); loaded with multi-row `INSERT`s in one transaction.
//!
//! Rows are written in primary-key order so that an unchanged table dumps to the same bytes
//! every time (what lets a content-defined chunker deduplicate it). A dump loads only into
//! a database of the same backend. On PostgreSQL and MariaDB/MySQL the schema must exist
//! before [`Database::load`] (the migrations and the collection tables, which the store
//! creates); the tables the migrations seed with a row ([`SEEDED_TABLES`]) are updated to
//! the dumped row instead of inserted into.

mod mysql;
mod postgres;
mod sqlite;

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::database::{Database, DbPool};
use crate::error::{Result, SqlError};

/// The dump format this version writes and reads (2: PostgreSQL tables in `COPY`'s binary
/// format).
pub const DUMP_FORMAT: u32 = 2;

/// The manifest's file name in a dump directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The migrations' own bookkeeping table: dumped for the record, never loaded (the target's
/// migrations wrote their own).
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Tables the migrations create with their one row already in it: a load updates that row to
/// the dumped one (the audit chain's head only moves forward, which a restore into a fresh
/// database always does).
pub const SEEDED_TABLES: &[&str] = &["dv_audit_head"];

/// What a dump holds: written last, so a directory without one is not a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpManifest {
    /// [`DUMP_FORMAT`] when written.
    pub format: u32,
    /// The backend it was taken from (`sqlite`, `postgres`, `mysql`).
    pub backend: String,
    /// Every table, in name order.
    pub tables: Vec<TableDump>,
}

/// One table of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDump {
    /// The table's name.
    pub name: String,
    /// Its columns, in the order of the rows in the file.
    pub columns: Vec<String>,
    /// The columns written as hex (binary columns on MariaDB/MySQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hex_columns: Vec<String>,
    /// How many rows it held.
    pub rows: u64,
    /// The file, relative to the dump directory, that holds its rows.
    pub file: String,
}

impl DumpManifest {
    /// Reads the manifest of the dump in `dir`, refusing a format or backend this version
    /// cannot load into `backend`.
    pub async fn read(dir: &Path, backend: Backend) -> Result<DumpManifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = tokio::fs::read(&path).await.map_err(|err| {
            SqlError::Dump(format!(
                "the snapshot holds no readable {MANIFEST_FILE}: {err}; it is not a datavern \
                 database dump"
            ))
        })?;
        let manifest: DumpManifest = serde_json::from_slice(&text).map_err(|err| {
            SqlError::Dump(format!("the dump's {MANIFEST_FILE} cannot be read: {err}"))
        })?;
        if manifest.format != DUMP_FORMAT {
            return Err(SqlError::Dump(format!(
                "the dump has format {}, this version reads format {DUMP_FORMAT}",
                manifest.format
            )));
        }
        if manifest.backend != backend.as_str() {
            return Err(SqlError::Dump(format!(
                "the dump was taken from {} and loads only into the same backend, not into {}; \
                 restore it into a {} database",
                manifest.backend,
                backend.product(),
                manifest.backend
            )));
        }
        Ok(manifest)
    }

    /// The rows of every table, the migrations' own table left out.
    pub fn total_rows(&self) -> u64 {
        self.tables
            .iter()
            .filter(|t| t.name != MIGRATIONS_TABLE)
            .map(|t| t.rows)
            .sum()
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableDump> {
        self.tables.iter().find(|t| t.name == name)
    }

    async fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|err| SqlError::Dump(format!("cannot write the manifest: {err}")))?;
        tokio::fs::write(dir.join(MANIFEST_FILE), text)
            .await
            .map_err(|err| io_error("cannot write the manifest", err))
    }
}

/// What [`Database::load`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The tables loaded.
    pub tables: usize,
    /// The rows loaded.
    pub rows: u64,
}

impl Database {
    /// Writes a consistent logical dump of the whole database into `dir` (an empty
    /// directory) and returns its manifest, which is also written there last.
    pub async fn dump(&self, dir: &Path) -> Result<DumpManifest> {
        self.dump_with(dir, &mut |_| {}).await
    }

    /// [`dump`](Self::dump), calling `done` with each file's name (relative to `dir`) as
    /// soon as the file is complete, in name order, the manifest ([`MANIFEST_FILE`]) last:
    /// a consumer can archive each file while the next is written.
    pub async fn dump_with(
        &self,
        dir: &Path,
        done: &mut (dyn FnMut(&str) + Send),
    ) -> Result<DumpManifest> {
        let tables = match self.db_pool() {
            DbPool::Sqlite(pool) => sqlite::dump(pool, dir, done).await?,
            DbPool::Postgres(pool) => postgres::dump(pool, dir, done).await?,
            DbPool::MySql(pool) => mysql::dump(pool, dir, done).await?,
        };
        let manifest = DumpManifest {
            format: DUMP_FORMAT,
            backend: self.backend().as_str().to_owned(),
            tables,
        };
        manifest.write(dir).await?;
        done(MANIFEST_FILE);
        Ok(manifest)
    }

    /// Loads the dump in `dir` in one transaction: nothing of it is visible unless all of it
    /// is. On SQLite the database must be empty (the dump brings its schema); elsewhere the
    /// schema must exist and the tables be empty but for [`SEEDED_TABLES`].
    pub async fn load(&self, dir: &Path, manifest: &DumpManifest) -> Result<LoadReport> {
        match self.db_pool() {
            DbPool::Sqlite(pool) => sqlite::load(pool, dir, manifest).await,
            DbPool::Postgres(pool) => postgres::load(pool, dir, manifest).await,
            DbPool::MySql(pool) => mysql::load(pool, dir, manifest).await,
        }
    }

    /// The names of the database's tables (on PostgreSQL, of its current schema), sorted.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        self.acquire().await?.conn().table_names().await
    }

    /// Drops `tables`, for undoing a restore that failed into a database that was empty
    /// before it began. Never called on a database that held anything.
    pub async fn drop_tables(&self, tables: &[String]) -> Result<()> {
        let mut conn = self.acquire().await?;
        let mut conn = conn.conn();
        let dialect = conn.dialect();
        // References between the tables would refuse some orders of dropping: PostgreSQL
        // drops them with the table (CASCADE); the others stop checking them on this
        // connection meanwhile.
        let (before, after, cascade) = match self.backend() {
            Backend::Postgres => (None, None, " CASCADE"),
            Backend::Sqlite => (
                Some("PRAGMA foreign_keys = OFF"),
                Some("PRAGMA foreign_keys = ON"),
                "",
            ),
            Backend::MySql => (
                Some("SET FOREIGN_KEY_CHECKS = 0"),
                Some("SET FOREIGN_KEY_CHECKS = 1"),
                "",
            ),
        };
        if let Some(statement) = before {
            conn.execute_raw(statement).await?;
        }
        let mut result = Ok(());
        for table in tables {
            let statement = format!("DROP TABLE IF EXISTS {}{cascade}", dialect.quote(table));
            if let Err(err) = conn.execute_raw(&statement).await {
                result = Err(err);
                break;
            }
        }
        if let Some(statement) = after {
            conn.execute_raw(statement).await?;
        }
        result
    }
}

/// `tables` ordered so that every table comes after the tables it references (`edges` are
/// `(table, referenced)` pairs); otherwise by name.
fn dependency_order(tables: &[TableDump], edges: &[(String, String)]) -> Vec<TableDump> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(tables.len());
    let mut rest: Vec<&TableDump> = tables.iter().collect();
    while !rest.is_empty() {
        let (ready, waiting): (Vec<&TableDump>, Vec<&TableDump>) = rest.iter().partition(|t| {
            edges.iter().all(|(from, to)| {
                from != &t.name || to == &t.name || placed.contains(to) || !contains(tables, to)
            })
        });
        // A reference cycle cannot be ordered: load the rest as it comes (the load then
        // reports the constraint it breaks).
        let ready = if ready.is_empty() {
            waiting.clone()
        } else {
            ready
        };
        for table in &ready {
            placed.insert(table.name.clone());
            ordered.push((*table).clone());
        }
        rest = waiting
            .into_iter()
            .filter(|t| !placed.contains(&t.name))
            .collect();
    }
    ordered
}

fn contains(tables: &[TableDump], name: &str) -> bool {
    tables.iter().any(|t| t.name == name)
}

fn io_error(what: &str, err: std::io::Error) -> SqlError {
    SqlError::Dump(format!("{what}: {err}"))
}

/// The file a table's rows are written to: its name, which the database allowed as an
/// identifier, made safe as a file name.
fn file_name(table: &str, extension: &str) -> String {
    let safe: String = table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::{TableDump, dependency_order};

    fn table(name: &str) -> TableDump {
        TableDump {
            name: name.to_owned(),
            columns: vec![],
            hex_columns: vec![],
            rows: 0,
            file: String::new(),
        }
    }

    #[test]
    fn referenced_tables_load_first() {
        let tables = [table("a"), table("dv_request_events"), table("dv_requests")];
        let edges = [("dv_request_events".to_owned(), "dv_requests".to_owned())];
        let names: Vec<String> = dependency_order(&tables, &edges)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["a", "dv_requests", "dv_request_events"]);
    }

    #[test]
    fn self_references_and_cycles_still_load_every_table() {
        let tables = [table("a"), table("b"), table("c")];
        let edges = [
            ("a".to_owned(), "a".to_owned()),
            ("b".to_owned(), "c".to_owned()),
            ("c".to_owned(), "b".to_owned()),
        ];
        let names: Vec<String> = dependency_order(&tables, &edges)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
