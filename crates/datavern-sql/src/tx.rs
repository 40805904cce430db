//! Transactions: [`Tx`] on the data database scoped to one tenant, [`Transaction`] on a
//! whole database for the store's own maintenance (audit log, catalog).

use datavern_core::catalog::Kommunenummer;
use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, MySql, Postgres, Sqlite, Transaction as SqlxTx};

use crate::conn::Conn;
use crate::database::{Database, DbPool, WriteTurn};
use crate::error::{Result, SqlError};

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
    Sqlite(SqlxTx<'static, Sqlite>, WriteTurn),
    Postgres(SqlxTx<'static, Postgres>),
    MySql(SqlxTx<'static, MySql>),
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
            Inner::Sqlite(tx, _) => Conn::sqlite(tx),
            Inner::Postgres(tx) => Conn::postgres(tx),
            Inner::MySql(tx) => Conn::mysql(tx),
            Inner::SqliteRead(conn) => Conn::sqlite(conn),
            Inner::MySqlRead(conn) => Conn::mysql(conn),
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

/// How a [`Transaction`] on a whole database begins: its isolation, and whether it takes
/// SQLite's write lock up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// The backend's plain `BEGIN`, without waiting for this process's turn to write on
    /// SQLite (for tests that hold a transaction open while other writers go on).
    Plain,
    /// A write: on SQLite `BEGIN IMMEDIATE` (the write lock up front, so two writers queue
    /// rather than one failing to upgrade its read lock) in this process's turn to write
    /// ([`Database::write_turn`]); the default isolation elsewhere.
    Write,
    /// A write that sees rows committed while it waited for a lock: as [`Begin::Write`] on
    /// SQLite (one writer at a time sees everything committed); PostgreSQL's default
    /// `READ COMMITTED`; on MariaDB/MySQL `READ COMMITTED` set for this transaction only,
    /// so the pooled connection keeps its default (`REPEATABLE READ`).
    ReadCommittedWrite,
    /// A read-only snapshot: every read sees the database as of the first one, however long
    /// the transaction takes. SQLite: a read transaction (a snapshot in WAL mode);
    /// PostgreSQL: `REPEATABLE READ, READ ONLY`; MariaDB/MySQL: `REPEATABLE READ` (set for
    /// this transaction only). End it with [`Transaction::rollback`].
    Snapshot,
}

/// A transaction on a whole database (not scoped to a tenant), begun by
/// [`Database::begin`]. Dropping it without committing rolls it back.
pub struct Transaction(TxInner);

enum TxInner {
    Sqlite(SqlxTx<'static, Sqlite>, Option<WriteTurn>),
    Postgres(SqlxTx<'static, Postgres>),
    MySql(SqlxTx<'static, MySql>),
}

impl Transaction {
    pub(crate) async fn begin(db: &Database, kind: Begin) -> Result<Transaction> {
        Ok(Transaction(match db.db_pool() {
            DbPool::Sqlite(pool) => match kind {
                Begin::Plain | Begin::Snapshot => TxInner::Sqlite(pool.begin().await?, None),
                Begin::Write | Begin::ReadCommittedWrite => {
                    let turn = db.write_turn().await;
                    TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn))
                }
            },
            DbPool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if kind == Begin::Snapshot {
                    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                        .execute(&mut *tx)
                        .await?;
                }
                TxInner::Postgres(tx)
            }
            DbPool::MySql(pool) => {
                let isolation = match kind {
                    Begin::Plain | Begin::Write => None,
                    Begin::ReadCommittedWrite => Some("READ COMMITTED"),
                    Begin::Snapshot => Some("REPEATABLE READ"),
                };
                match isolation {
                    None => TxInner::MySql(pool.begin().await?),
                    Some(level) => {
                        let mut conn = pool.acquire().await?;
                        // Applies to the connection's next transaction only.
                        sqlx::query(&format!("SET TRANSACTION ISOLATION LEVEL {level}"))
                            .execute(&mut *conn)
                            .await?;
                        // sqlx's `Pool::begin` does the same with the pool's connection; an
                        // owned transaction on a connection of our own needs this form.
                        TxInner::MySql(SqlxTx::begin(conn, None).await?)
                    }
                }
            }
        }))
    }

    /// The transaction's connection, for running statements.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            TxInner::Sqlite(tx, _) => Conn::sqlite(tx),
            TxInner::Postgres(tx) => Conn::postgres(tx),
            TxInner::MySql(tx) => Conn::mysql(tx),
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<()> {
        match self.0 {
            TxInner::Sqlite(tx, _turn) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
            TxInner::MySql(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<()> {
        match self.0 {
            TxInner::Sqlite(tx, _turn) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
            TxInner::MySql(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// A lock that serializes one kind of schema work (applying a catalog) across every process
/// on a database: see [`Database::serialized`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaLock {
    /// What the lock serializes, for the timeout error ("applying the catalog to this
    /// database").
    pub what: &'static str,
    /// The name of the MariaDB/MySQL named lock (a plain identifier of at most 20
    /// characters): named locks are server-wide, so the name used is this followed by `_`
    /// and a hash of the database's name (the whole limited to 64 characters).
    pub name: &'static str,
    /// The PostgreSQL advisory lock key.
    pub key: i64,
    /// How long to wait for another holder on MariaDB/MySQL.
    pub timeout_secs: u32,
}

impl Database {
    /// Runs `work` while holding `lock`, in one transaction where the backend's DDL is
    /// transactional, committed if `work` succeeds:
    ///
    /// - SQLite: a `BEGIN IMMEDIATE` transaction (the database's write lock is the lock);
    /// - PostgreSQL: a transaction that first takes the advisory lock `lock.key`
    ///   (`pg_advisory_xact_lock`, released when it ends);
    /// - MariaDB/MySQL: no transaction (DDL commits implicitly there, so `work` must be
    ///   idempotent); the session's named lock (`GET_LOCK`, waiting at most
    ///   `lock.timeout_secs`, then [`SqlError::LockTimeout`]) held on one connection, and
    ///   released after `work` (if the release fails, the connection is closed, which
    ///   releases it).
    pub async fn serialized<T, E>(
        &self,
        lock: SchemaLock,
        work: impl AsyncFnOnce(Conn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<SqlError>,
    {
        let sql = |err: sqlx::Error| E::from(SqlError::from(err));
        match self.db_pool() {
            DbPool::Sqlite(pool) => {
                let mut conn = pool.acquire().await.map_err(sql)?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(sql)?;
                let value = work(Conn::sqlite(&mut tx)).await?;
                tx.commit().await.map_err(sql)?;
                Ok(value)
            }
            DbPool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(sql)?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(lock.key)
                    .execute(&mut *tx)
                    .await
                    .map_err(sql)?;
                let value = work(Conn::postgres(&mut tx)).await?;
                tx.commit().await.map_err(sql)?;
                Ok(value)
            }
            DbPool::MySql(pool) => {
                let mut conn = pool.acquire().await.map_err(sql)?;
                let name = format!("CONCAT('{}_', SHA1(DATABASE()))", lock.name);
                let locked: Option<i64> =
                    sqlx::query_scalar(&format!("SELECT GET_LOCK({name}, ?)"))
                        .bind(i64::from(lock.timeout_secs))
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(sql)?;
                if locked != Some(1) {
                    return Err(E::from(SqlError::LockTimeout {
                        what: lock.what,
                        seconds: lock.timeout_secs,
                    }));
                }
                let result = work(Conn::mysql(&mut conn)).await;
                let released = sqlx::query(&format!("SELECT RELEASE_LOCK({name})"))
                    .execute(&mut *conn)
                    .await;
                if released.is_err() {
                    // The lock belongs to the session: closing the connection releases it.
                    let _ = conn.detach().close().await;
                }
                let value = result?;
                released.map_err(sql)?;
                Ok(value)
            }
        }
    }
}
