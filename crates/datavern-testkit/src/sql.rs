//! Raw SQL for assertions about what is stored: counts, values, bytes and table names, on
//! any backend.

use datavern_sql::{Backend, Database, DbPool};
use uuid::Uuid;

/// Runs `sql` (no parameters) on `db`.
pub async fn execute(db: &Database, sql: &str) {
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        DbPool::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        DbPool::MySql(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
    };
    result.unwrap_or_else(|err| panic!("{sql}: {err}"));
}

/// The single integer `sql` returns.
pub async fn scalar(db: &Database, sql: &str) -> i64 {
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        DbPool::MySql(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    };
    result.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

/// The first column of every row `sql` returns, as integers.
pub async fn integers(db: &Database, sql: &str) -> Vec<i64> {
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        DbPool::MySql(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    };
    result.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

/// The first column of every row `sql` returns, as text.
pub async fn strings(db: &Database, sql: &str) -> Vec<String> {
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        // sqlx reports text of a binary collation (utf8mb4_bin) as VARBINARY.
        DbPool::MySql(pool) => sqlx::query_scalar::<_, Vec<u8>>(sql)
            .fetch_all(pool)
            .await
            .map(|rows| {
                rows.into_iter()
                    .map(|bytes| String::from_utf8(bytes).unwrap())
                    .collect()
            }),
    };
    result.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

/// The names of the tables in `db`, sorted.
pub async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.pool() {
        DbPool::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        DbPool::Postgres(_) => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY tablename"
        }
        DbPool::MySql(_) => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_name"
        }
    };
    strings(db, sql).await
}

/// The bytes in `column` of the row `id` of `table`.
pub async fn read_bytes(db: &Database, table: &str, column: &str, id: Uuid) -> Vec<u8> {
    let sql = |p: &str| format!("SELECT {column} FROM {table} WHERE id = {p}");
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(&sql("?")).bind(id).fetch_one(pool).await,
        DbPool::Postgres(pool) => {
            sqlx::query_scalar(&sql("$1"))
                .bind(id)
                .fetch_one(pool)
                .await
        }
        DbPool::MySql(pool) => sqlx::query_scalar(&sql("?")).bind(id).fetch_one(pool).await,
    };
    result.unwrap_or_else(|err| panic!("{}: {err}", sql("?")))
}

/// Overwrites `column` of the row `id` of `table` with `bytes`, directly in SQL.
pub async fn write_bytes(db: &Database, table: &str, column: &str, id: Uuid, bytes: &[u8]) {
    let sql = |a: &str, b: &str| format!("UPDATE {table} SET {column} = {a} WHERE id = {b}");
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query(&sql("?", "?"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::Postgres(pool) => sqlx::query(&sql("$1", "$2"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::MySql(pool) => sqlx::query(&sql("?", "?"))
            .bind(bytes)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(
        result.unwrap_or_else(|err| panic!("{}: {err}", sql("?", "?"))),
        1
    );
}

/// The number of rows of `table` whose `column` is `id`.
pub async fn count_where(db: &Database, table: &str, column: &str, id: Uuid) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?");
    let result = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
        DbPool::Postgres(pool) => {
            sqlx::query_scalar(&sql.replace('?', "$1"))
                .bind(id)
                .fetch_one(pool)
                .await
        }
        DbPool::MySql(pool) => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await,
    };
    result.unwrap_or_else(|err| panic!("{sql}: {err}"))
}

/// Whether `column` of `table`'s row `id` is NULL (`None` if there is no such row).
pub async fn is_null(db: &Database, table: &str, column: &str, id: Uuid) -> Option<bool> {
    let sql =
        format!("SELECT CASE WHEN {column} IS NULL THEN 1 ELSE 0 END FROM {table} WHERE id = ?");
    let result: Result<Option<i32>, _> = match db.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(&sql).bind(id).fetch_optional(pool).await,
        DbPool::Postgres(pool) => {
            sqlx::query_scalar(&sql.replace('?', "$1"))
                .bind(id)
                .fetch_optional(pool)
                .await
        }
        DbPool::MySql(pool) => sqlx::query_scalar::<_, i64>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map(|v| v.map(|v| v as i32)),
    };
    result
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .map(|v| v == 1)
}

/// The audit's `fields` column as text (JSONB on PostgreSQL).
pub fn fields_text(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(fields AS TEXT)",
        _ => "fields",
    }
}
