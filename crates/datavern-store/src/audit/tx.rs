//! The two transactions the audit log's maintenance runs in, once for every backend.

use datavern_sql::{Conn, Database, DbPool};

use crate::error::Result;

/// Runs `work` in a read-only snapshot of the data database and rolls it back: export and
/// verify see one consistent log however long they take. SQLite: a read transaction (in WAL
/// mode, a snapshot); PostgreSQL: `REPEATABLE READ, READ ONLY`; MariaDB/MySQL:
/// `REPEATABLE READ` (set on the connection for its next transaction only).
pub(super) async fn in_snapshot<T>(
    db: &Database,
    work: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T>,
) -> Result<T> {
    match db.db_pool() {
        DbPool::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            let result = work(&mut Conn::Sqlite(&mut tx)).await;
            tx.rollback().await?;
            result
        }
        DbPool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let result = work(&mut Conn::Postgres(&mut tx)).await;
            tx.rollback().await?;
            result
        }
        DbPool::MySql(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *conn)
                .await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let result = work(&mut Conn::MySql(&mut tx)).await;
            tx.rollback().await?;
            result
        }
    }
}

/// Runs `work` in a write transaction that sees rows committed while it waits for the head's
/// lock, and commits it if `work` succeeds. SQLite: `BEGIN IMMEDIATE` (the write lock up
/// front) in this process's turn to write; PostgreSQL: the default `READ COMMITTED`, with
/// custom plans for every statement;
/// MariaDB/MySQL: `READ COMMITTED` set explicitly for the next transaction only, so the
/// pooled connection keeps its default.
pub(super) async fn in_head_lock<T>(
    db: &Database,
    work: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T>,
) -> Result<T> {
    match db.db_pool() {
        DbPool::Sqlite(pool) => {
            let _turn = db.write_turn().await;
            let mut conn = pool.acquire().await?;
            let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
            let result = work(&mut Conn::Sqlite(&mut tx)).await?;
            tx.commit().await?;
            Ok(result)
        }
        DbPool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // The sealing UPDATE names a round's ids as parameters; after five runs PostgreSQL
            // switches the prepared statement to a generic plan that evaluated the id list
            // against every unsealed entry (2 s per round of 250 with a million waiting).
            sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                .execute(&mut *tx)
                .await?;
            let result = work(&mut Conn::Postgres(&mut tx)).await?;
            tx.commit().await?;
            Ok(result)
        }
        DbPool::MySql(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *conn)
                .await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let result = work(&mut Conn::MySql(&mut tx)).await?;
            tx.commit().await?;
            Ok(result)
        }
    }
}
