//! A table of another database (a legacy system's) read as text, for `datavern import`.
//!
//! The source is only read: a SQLite file is opened read-only (never created, never
//! re-permissioned as the store's own files are), PostgreSQL and MariaDB/MySQL through a
//! one-connection pool. Every column is read as text (`CAST(… AS TEXT)`, `AS CHAR` on
//! MariaDB/MySQL, [`Dialect::text_cast_type`]), since an import converts and validates
//! text the same way whatever the source; NULL stays `None`.
//!
//! Rows come in pages of a stable order (the caller names the columns to order by), so a row
//! has the same number in every run and an interrupted import resumes after the last row it
//! committed.

use std::str::FromStr as _;

use sea_query::{Alias, Expr, Order, Query};
use sqlx::Row as _;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};

use crate::backend::Backend;
use crate::config::DatabaseConfig;
use crate::conn::{DecodeRow, ReadLock, Text};
use crate::database::{Database, DbPool};
use crate::error::{DatabaseRole, Result, SqlError};

/// A table of a source database, with its columns.
pub struct SourceTable {
    db: Database,
    table: String,
    columns: Vec<String>,
}

impl std::fmt::Debug for SourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTable")
            .field("url", &self.db.redacted_url())
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl SourceTable {
    /// Opens `table` of the database at `config` for reading. Fails with
    /// [`SqlError::Config`] if the database has no such table.
    pub async fn open(config: &DatabaseConfig, table: &str) -> Result<SourceTable> {
        let db = match config.backend() {
            Backend::Sqlite => read_only_sqlite(config).await?,
            Backend::Postgres | Backend::MySql => {
                Database::connect(&config.clone().with_max_connections(1), DatabaseRole::Data)
                    .await?
            }
        };
        let columns = {
            let mut pooled = db.acquire().await?;
            pooled.conn().table_columns(table).await?
        };
        if columns.is_empty() {
            let url = db.redacted_url().to_owned();
            db.close().await;
            return Err(SqlError::Config(format!(
                "the source database {url} has no table named \"{table}\" (give --table the \
                 name of a table of the database's current schema)"
            )));
        }
        Ok(SourceTable {
            db,
            table: table.to_owned(),
            columns,
        })
    }

    /// The table's columns, as the database names them.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The source's address, password redacted.
    pub fn redacted_url(&self) -> &str {
        self.db.redacted_url()
    }

    /// Up to `limit` rows from the `offset`th on, ordered by `order_by`: the values of
    /// `columns` as text (`None` for NULL), in that order. The column names must be the
    /// table's ([`columns`](Self::columns)).
    pub async fn rows(
        &self,
        columns: &[&str],
        order_by: &[&str],
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Vec<Option<String>>>> {
        let cast = self.db.dialect().text_cast_type();
        let mut select = Query::select();
        select.from(Alias::new(self.table.as_str()));
        for column in columns {
            select.expr(Expr::col(Alias::new(*column)).cast_as(cast));
        }
        for column in order_by {
            select.order_by(Alias::new(*column), Order::Asc);
        }
        select.limit(limit).offset(offset);
        let mut pooled = self.db.acquire().await?;
        pooled
            .conn()
            .fetch_decoded(
                &select,
                ReadLock::None,
                &TextRow {
                    width: columns.len(),
                },
            )
            .await
    }

    /// Closes the connection.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// A SQLite file opened read-only: never created, its permissions left alone.
async fn read_only_sqlite(config: &DatabaseConfig) -> Result<Database> {
    let url = config.redacted_url();
    let connect_error = |source| SqlError::Connect {
        role: DatabaseRole::Data,
        backend: Backend::Sqlite,
        url: url.clone(),
        source,
    };
    let options = match (config.expose_url(), config.sqlite_path()) {
        (Some(text), _) => SqliteConnectOptions::from_str(text).map_err(connect_error)?,
        (None, Some(path)) => SqliteConnectOptions::new().filename(path),
        (None, None) => {
            return Err(SqlError::Config(
                "a SQLite source needs a file: sqlite:///path/to/file.db".to_owned(),
            ));
        }
    }
    .read_only(true)
    .create_if_missing(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(connect_error)?;
    Ok(Database::from_pool(
        DbPool::Sqlite(pool),
        DatabaseRole::Data,
        url,
    ))
}

/// Decodes a row of `width` text columns.
struct TextRow {
    width: usize,
}

impl DecodeRow for TextRow {
    type Row = Vec<Option<String>>;

    fn sqlite(&self, row: &SqliteRow) -> Result<Self::Row, sqlx::Error> {
        (0..self.width)
            .map(|i| Ok(row.try_get::<Option<Text>, _>(i)?.map(|t| t.0)))
            .collect()
    }

    fn postgres(&self, row: &PgRow) -> Result<Self::Row, sqlx::Error> {
        (0..self.width)
            .map(|i| Ok(row.try_get::<Option<Text>, _>(i)?.map(|t| t.0)))
            .collect()
    }

    fn mysql(&self, row: &MySqlRow) -> Result<Self::Row, sqlx::Error> {
        (0..self.width)
            .map(|i| Ok(row.try_get::<Option<Text>, _>(i)?.map(|t| t.0)))
            .collect()
    }
}
