//! Session locks: one process at a time doing long schema work (a catalog migration) that
//! runs many transactions, so a transaction-scoped lock ([`Database::serialized`]) does not
//! fit. The lock belongs to a session or a file handle, so it is released when the process
//! dies, however it dies (`kill -9` included), and never left behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, MySql, Postgres};

use crate::database::{Database, DbPool};
use crate::error::{Result, SqlError};
use crate::tx::SchemaLock;

/// A held session lock; [`SessionLock::release`] gives it back (dropping it does too, when
/// its connection or file closes).
pub struct SessionLock {
    held: Held,
}

enum Held {
    /// An advisory `flock` on `<database file>.<name>.lock` (SQLite: every process opening
    /// the file sees it).
    File(File),
    /// A session-level advisory lock on one pooled connection.
    Postgres(PoolConnection<Postgres>, i64),
    /// A named lock (`GET_LOCK`) on one pooled connection.
    MySql(PoolConnection<MySql>, String),
    /// An in-memory SQLite database: no other process can open it.
    InMemory,
}

impl std::fmt::Debug for SessionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionLock")
    }
}

impl Database {
    /// Takes `lock` for this process without waiting, or fails with [`SqlError::LockHeld`]
    /// when another process holds it:
    ///
    /// - SQLite: an exclusive advisory lock on a file beside the database
    ///   (`<file>.<lock.name>.lock`); an in-memory database is this process's alone;
    /// - PostgreSQL: the session-level advisory lock `lock.key` (`pg_try_advisory_lock`) on
    ///   a connection held until release;
    /// - MariaDB/MySQL: the named lock `lock.name` plus a hash of the database's name
    ///   (`GET_LOCK(…, 0)`) on a connection held until release.
    pub async fn lock_session(&self, lock: SchemaLock) -> Result<SessionLock> {
        let held = match self.db_pool() {
            DbPool::Sqlite(pool) => {
                let file = pool.connect_options().get_filename().to_path_buf();
                let in_memory =
                    file.as_os_str().is_empty() || file == std::path::Path::new(":memory:");
                if in_memory {
                    return Ok(SessionLock {
                        held: Held::InMemory,
                    });
                }
                let mut path = file.into_os_string();
                path.push(format!(".{}.lock", lock.name));
                let path = PathBuf::from(path);
                let handle = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|err| SqlError::Config(format!("cannot open the lock file: {err}")))?;
                match handle.try_lock() {
                    Ok(()) => Held::File(handle),
                    Err(TryLockError::WouldBlock) => {
                        return Err(SqlError::LockHeld { what: lock.what });
                    }
                    Err(TryLockError::Error(err)) => {
                        return Err(SqlError::Config(format!(
                            "cannot lock the lock file: {err}"
                        )));
                    }
                }
            }
            DbPool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(lock.key)
                    .fetch_one(&mut *conn)
                    .await?;
                if !locked {
                    return Err(SqlError::LockHeld { what: lock.what });
                }
                Held::Postgres(conn, lock.key)
            }
            DbPool::MySql(pool) => {
                let mut conn = pool.acquire().await?;
                let name = format!("CONCAT('{}_', SHA1(DATABASE()))", lock.name);
                let locked: Option<i64> =
                    sqlx::query_scalar(&format!("SELECT GET_LOCK({name}, 0)"))
                        .fetch_one(&mut *conn)
                        .await?;
                if locked != Some(1) {
                    return Err(SqlError::LockHeld { what: lock.what });
                }
                Held::MySql(conn, name)
            }
        };
        Ok(SessionLock { held })
    }
}

impl SessionLock {
    /// Releases the lock (if releasing fails on a server, the connection is closed, which
    /// releases it too).
    pub async fn release(self) -> Result<()> {
        match self.held {
            Held::File(file) => {
                drop(file);
                Ok(())
            }
            Held::InMemory => Ok(()),
            Held::Postgres(mut conn, key) => {
                let released = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(key)
                    .execute(&mut *conn)
                    .await;
                if released.is_err() {
                    let _ = conn.detach().close().await;
                }
                released.map(|_| ()).map_err(SqlError::from)
            }
            Held::MySql(mut conn, name) => {
                let released = sqlx::query(&format!("SELECT RELEASE_LOCK({name})"))
                    .execute(&mut *conn)
                    .await;
                if released.is_err() {
                    let _ = conn.detach().close().await;
                }
                released.map(|_| ()).map_err(SqlError::from)
            }
        }
    }
}
