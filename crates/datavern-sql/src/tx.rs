//! Transactions on the data database, scoped to one tenant.

use datavern_core::catalog::Kommunenummer;
use sqlx::pool::PoolConnection;
use sqlx::{MySql, Postgres, Sqlite, Transaction};

use crate::conn::Conn;
use crate::database::{Database, DbPool, WriteTurn};
use crate::error::Result;

/// Whether a transaction will write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Reads only.
    Read,
    /// Writes: on SQLite the write lock is taken at `BEGIN` (`BEGIN IMMEDIATE`), so two
    /// writers queue on the busy timeout instead of one failing to upgrade its read lock.
    Write,
}

/// A transaction on the data database in which row-level security sees one tenant; for
/// reads on SQLite and MariaDB/MySQL, which have no row-level security, a plain connection
/// (each read is one statement, so it needs no transaction of its own).
pub struct Tx(Inner);

enum Inner {
    /// A SQLite write transaction, begun and ended in this process's turn to write.
    Sqlite(Transaction<'static, Sqlite>, WriteTurn),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
    SqliteRead(PoolConnection<Sqlite>),
    MySqlRead(PoolConnection<MySql>),
}

impl Tx {
    /// Begins a transaction on `db`. On PostgreSQL it first declares the tenant with
    /// `set_config('datavern.tenant', $1, true)` (local to the transaction), so row-level
    /// security shows and accepts only that tenant's rows (`docs/storage.md`); the queries
    /// carry their own `tenant = ?` predicate on every backend as well.
    pub async fn begin(db: &Database, tenant: Kommunenummer, mode: TxMode) -> Result<Tx> {
        Ok(Tx(match db.db_pool() {
            DbPool::Sqlite(pool) => match mode {
                TxMode::Read => Inner::SqliteRead(pool.acquire().await?),
                TxMode::Write => {
                    let turn = db.write_turn().await;
                    Inner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
                }
            },
            DbPool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT set_config('datavern.tenant', $1, true)")
                    .bind(tenant.as_str())
                    .execute(&mut *tx)
                    .await?;
                Inner::Postgres(tx)
            }
            DbPool::MySql(pool) => match mode {
                TxMode::Read => Inner::MySqlRead(pool.acquire().await?),
                TxMode::Write => Inner::MySql(pool.begin().await?),
            },
        }))
    }

    /// The transaction's connection, for running statements.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            Inner::Sqlite(tx, _) => Conn::Sqlite(tx),
            Inner::Postgres(tx) => Conn::Postgres(tx),
            Inner::MySql(tx) => Conn::MySql(tx),
            Inner::SqliteRead(conn) => Conn::Sqlite(conn),
            Inner::MySqlRead(conn) => Conn::MySql(conn),
        }
    }

    /// Commits. (Dropping a `Tx` without committing rolls it back.)
    pub async fn commit(self) -> Result<()> {
        match self.0 {
            Inner::Sqlite(tx, _turn) => tx.commit().await?,
            Inner::Postgres(tx) => tx.commit().await?,
            Inner::MySql(tx) => tx.commit().await?,
            Inner::SqliteRead(_) | Inner::MySqlRead(_) => {}
        }
        Ok(())
    }
}
