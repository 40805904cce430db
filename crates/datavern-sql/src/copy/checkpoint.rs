//! The copy's checkpoints, kept in the target in [`PROGRESS_TABLE`]: one row per table with
//! the key of the last row copied, how many rows were copied, and whether the table is
//! done. A batch's rows and its checkpoint commit in one transaction, so a copy killed at
//! any moment resumes after the last batch that committed, without duplicates. The table
//! also marks the target as a copy in progress, not a database that holds something else.

use std::collections::BTreeMap;

use sqlx::mysql::MySqlArguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row};

use super::PROGRESS_TABLE;
use super::link::Link;
use super::plan::TablePlan;
use super::value::Value;
use crate::backend::Backend;
use crate::conn::Text;
use crate::error::{Result, SqlError};

/// Where the copy of one table stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checkpoint {
    /// The key of the last row copied; `None` before the first batch.
    pub(crate) last_key: Option<Vec<Value>>,
    /// Rows copied so far.
    pub(crate) copied: u64,
    /// Whether every row is copied.
    pub(crate) done: bool,
}

impl Link {
    /// Creates the progress table if it is not there.
    pub(crate) async fn create_progress_table(&mut self) -> Result<()> {
        let options = match self.backend() {
            Backend::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            Backend::Sqlite | Backend::Postgres => "",
        };
        self.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (\
             table_name VARCHAR(128) NOT NULL PRIMARY KEY, \
             last_key TEXT, \
             copied BIGINT NOT NULL, \
             done INTEGER NOT NULL){options}"
        ))
        .await
    }

    /// Every table's checkpoint, adding a fresh one for each of `tables` that has none.
    pub(crate) async fn checkpoints(
        &mut self,
        tables: &[TablePlan],
    ) -> Result<BTreeMap<String, Checkpoint>> {
        let sql = format!("SELECT table_name, last_key, copied, done FROM {PROGRESS_TABLE}");
        let rows: Vec<(String, Option<String>, i64, i64)> = match self {
            Link::Sqlite(conn) => sqlx::query_as(&sql).fetch_all(&mut **conn).await?,
            Link::Postgres(conn) => {
                let rows: Vec<(String, Option<String>, i64, i32)> =
                    sqlx::query_as(&sql).fetch_all(&mut **conn).await?;
                rows.into_iter()
                    .map(|(a, b, c, d)| (a, b, c, i64::from(d)))
                    .collect()
            }
            Link::MySql(conn) => {
                let mut out = Vec::new();
                for row in sqlx::query(&sql).fetch_all(&mut **conn).await? {
                    let name: Text = row.try_get(0)?;
                    let key: Option<Text> = row.try_get(1)?;
                    let copied: i64 = row.try_get(2)?;
                    let done: i64 = row.try_get(3)?;
                    out.push((name.0, key.map(|k| k.0), copied, done));
                }
                out
            }
        };
        let mut checkpoints = BTreeMap::new();
        for (name, key, copied, done) in rows {
            let last_key = key.map(|text| decode_key(&text)).transpose()?;
            checkpoints.insert(
                name,
                Checkpoint {
                    last_key,
                    copied: u64::try_from(copied).unwrap_or(0),
                    done: done != 0,
                },
            );
        }
        for table in tables {
            if !checkpoints.contains_key(&table.name) {
                let sql = format!(
                    "INSERT INTO {PROGRESS_TABLE} (table_name, last_key, copied, done) \
                     VALUES (?, NULL, 0, 0)"
                );
                self.execute_params(&sql, &[Value::Text(table.name.clone())])
                    .await?;
                checkpoints.insert(table.name.clone(), Checkpoint::default());
            }
        }
        Ok(checkpoints)
    }

    /// Records `checkpoint` for `table`, in the caller's transaction.
    pub(crate) async fn save_checkpoint(
        &mut self,
        table: &str,
        checkpoint: &Checkpoint,
    ) -> Result<()> {
        let key = match &checkpoint.last_key {
            Some(key) => Value::Text(encode_key(key)),
            None => Value::Null,
        };
        let sql = format!(
            "UPDATE {PROGRESS_TABLE} SET last_key = ?, copied = ?, done = ? WHERE table_name = ?"
        );
        self.execute_params(
            &sql,
            &[
                key,
                Value::Int(i64::try_from(checkpoint.copied).unwrap_or(i64::MAX)),
                Value::Int(i64::from(checkpoint.done)),
                Value::Text(table.to_owned()),
            ],
        )
        .await
    }

    /// Runs `sql` (with `?` placeholders) with `params`, which are text, integers or NULL.
    async fn execute_params(&mut self, sql: &str, params: &[Value]) -> Result<()> {
        let sql = self.dialect().placeholders(sql);
        let bad = || SqlError::Copy("a checkpoint holds only text and integers".into());
        match self {
            Link::Sqlite(conn) => {
                let mut args = SqliteArguments::default();
                for param in params {
                    match param {
                        Value::Null => args.add(Option::<String>::None),
                        Value::Int(n) => args.add(*n),
                        Value::Text(t) => args.add(t.clone()),
                        _ => return Err(bad()),
                    }
                    .map_err(|e| SqlError::Copy(e.to_string()))?;
                }
                sqlx::query_with(&sql, args).execute(&mut **conn).await?;
            }
            Link::Postgres(conn) => {
                let mut args = PgArguments::default();
                for param in params {
                    match param {
                        Value::Null => args.add(Option::<String>::None),
                        Value::Int(n) => args.add(*n),
                        Value::Text(t) => args.add(t.clone()),
                        _ => return Err(bad()),
                    }
                    .map_err(|e| SqlError::Copy(e.to_string()))?;
                }
                sqlx::query_with(&sql, args).execute(&mut **conn).await?;
            }
            Link::MySql(conn) => {
                let mut args = MySqlArguments::default();
                for param in params {
                    match param {
                        Value::Null => args.add(Option::<String>::None),
                        Value::Int(n) => args.add(*n),
                        Value::Text(t) => args.add(t.clone()),
                        _ => return Err(bad()),
                    }
                    .map_err(|e| SqlError::Copy(e.to_string()))?;
                }
                sqlx::query_with(&sql, args).execute(&mut **conn).await?;
            }
        }
        Ok(())
    }
}

fn encode_key(key: &[Value]) -> String {
    serde_json::Value::Array(key.iter().map(Value::to_key_json).collect()).to_string()
}

fn decode_key(text: &str) -> Result<Vec<Value>> {
    let parsed: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| SqlError::Copy("the copy's checkpoint cannot be read".into()))?;
    parsed
        .as_array()
        .ok_or_else(|| SqlError::Copy("the copy's checkpoint cannot be read".into()))?
        .iter()
        .map(Value::from_key_json)
        .collect()
}
