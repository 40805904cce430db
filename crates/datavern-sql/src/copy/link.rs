//! One connection of either side of a copy, on any backend, and the statements every step
//! runs on it without caring which: raw statements, transactions, the source's snapshot.

use sqlx::pool::PoolConnection;
use sqlx::{MySql, Postgres, Sqlite};

use crate::backend::Backend;
use crate::database::{Database, DbPool};
use crate::dialect::Dialect;
use crate::error::Result;

/// A connection of its own, held for the whole copy (the source's snapshot lives on it).
pub(crate) enum Link {
    /// SQLite.
    Sqlite(PoolConnection<Sqlite>),
    /// PostgreSQL.
    Postgres(PoolConnection<Postgres>),
    /// MariaDB/MySQL.
    MySql(PoolConnection<MySql>),
}

impl Link {
    /// A connection of `db`'s pool, closed when dropped instead of going back to the pool:
    /// its session settings (row-level security off) and its cache of prepared statements
    /// (the seeded row's `UPDATE` has the same text as the audit sealer's, with parameters
    /// typed by the table's columns) must not reach the store's other work.
    pub(crate) async fn acquire(db: &Database) -> Result<Link> {
        Ok(match db.db_pool() {
            DbPool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                conn.close_on_drop();
                Link::Sqlite(conn)
            }
            DbPool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                conn.close_on_drop();
                Link::Postgres(conn)
            }
            DbPool::MySql(pool) => {
                let mut conn = pool.acquire().await?;
                conn.close_on_drop();
                Link::MySql(conn)
            }
        })
    }

    /// The backend it speaks.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Link::Sqlite(_) => Backend::Sqlite,
            Link::Postgres(_) => Backend::Postgres,
            Link::MySql(_) => Backend::MySql,
        }
    }

    /// Its dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        self.backend().dialect()
    }

    /// Runs `sql`, which has no parameters.
    pub(crate) async fn execute(&mut self, sql: &str) -> Result<()> {
        match self {
            Link::Sqlite(conn) => {
                sqlx::raw_sql(sql).execute(&mut **conn).await?;
            }
            Link::Postgres(conn) => {
                sqlx::raw_sql(sql).execute(&mut **conn).await?;
            }
            Link::MySql(conn) => {
                sqlx::raw_sql(sql).execute(&mut **conn).await?;
            }
        }
        Ok(())
    }

    /// Begins the one read-only transaction the source is read in, so that every table is
    /// read as of the same instant: `REPEATABLE READ, READ ONLY` with row-level security off
    /// on PostgreSQL (a role subject to the tenant policies gets an error naming the table
    /// instead of seeing fewer rows), a consistent snapshot on MariaDB/MySQL, a read
    /// transaction on SQLite, whose snapshot (in WAL mode) starts at its first read.
    pub(crate) async fn begin_snapshot(&mut self) -> Result<()> {
        match self.backend() {
            Backend::Sqlite => self.execute("BEGIN DEFERRED").await,
            Backend::Postgres => {
                self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                self.execute("SET LOCAL row_security = off").await
            }
            Backend::MySql => {
                self.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .await?;
                self.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                    .await
            }
        }
    }

    /// Prepares the target's session: row-level security off on PostgreSQL, as for the
    /// source (rows of every tenant are written, or the copy fails).
    pub(crate) async fn prepare_target(&mut self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            self.execute("SET row_security = off").await?;
        }
        Ok(())
    }

    /// Begins a write transaction (SQLite takes its write lock at once).
    pub(crate) async fn begin_write(&mut self) -> Result<()> {
        match self.backend() {
            Backend::Sqlite => self.execute("BEGIN IMMEDIATE").await,
            Backend::Postgres | Backend::MySql => self.execute("BEGIN").await,
        }
    }

    /// Commits the open transaction.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.execute("COMMIT").await
    }

    /// Rolls the open transaction back, if there is one.
    pub(crate) async fn rollback(&mut self) {
        if let Err(err) = self.execute("ROLLBACK").await {
            tracing::debug!(error = %err, "Nothing to roll back on the copy's connection");
        }
    }
}
