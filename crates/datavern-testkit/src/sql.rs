//! Raw SQL for assertions about what is stored: counts, values, bytes and table names, on
//! any backend (through `datavern_sql::testing`: `?` placeholders, values bound per dialect).

use datavern_sql::testing;
use datavern_sql::{Backend, Database};
use uuid::Uuid;

/// Runs `sql` (no parameters) on `db`.
pub async fn execute(db: &Database, sql: &str) {
    testing::execute(db, sql).await;
}

/// The single integer `sql` returns.
pub async fn scalar(db: &Database, sql: &str) -> i64 {
    testing::fetch_one(db, sql, &[]).await
}

/// The first column of every row `sql` returns, as integers.
pub async fn integers(db: &Database, sql: &str) -> Vec<i64> {
    testing::fetch_all(db, sql, &[]).await
}

/// The first column of every row `sql` returns, as text.
pub async fn strings(db: &Database, sql: &str) -> Vec<String> {
    testing::fetch_all(db, sql, &[]).await
}

/// The names of the tables in `db`, sorted.
pub async fn tables(db: &Database) -> Vec<String> {
    testing::table_names(db).await
}

/// The bytes in `column` of the row `id` of `table`.
pub async fn read_bytes(db: &Database, table: &str, column: &str, id: Uuid) -> Vec<u8> {
    let sql = format!("SELECT {column} FROM {table} WHERE id = ?");
    testing::fetch_one(db, &sql, &[id.into()]).await
}

/// Overwrites `column` of the row `id` of `table` with `bytes`, directly in SQL.
///
/// # Panics
///
/// Unless exactly one row changed.
pub async fn write_bytes(db: &Database, table: &str, column: &str, id: Uuid, bytes: &[u8]) {
    let sql = format!("UPDATE {table} SET {column} = ? WHERE id = ?");
    assert_eq!(
        testing::execute_with(db, &sql, &[bytes.to_vec().into(), id.into()]).await,
        1
    );
}

/// The number of rows of `table` whose `column` is `id`.
pub async fn count_where(db: &Database, table: &str, column: &str, id: Uuid) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?");
    testing::fetch_one(db, &sql, &[id.into()]).await
}

/// Whether `column` of `table`'s row `id` is NULL (`None` if there is no such row).
pub async fn is_null(db: &Database, table: &str, column: &str, id: Uuid) -> Option<bool> {
    // Text, which every backend returns as such (an integer's width differs).
    let sql = format!(
        "SELECT CASE WHEN {column} IS NULL THEN 'null' ELSE 'set' END FROM {table} WHERE id = ?"
    );
    testing::fetch_optional::<String>(db, &sql, &[id.into()])
        .await
        .map(|v| v == "null")
}

/// The audit's `fields` column as text (JSONB on PostgreSQL).
pub fn fields_text(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(fields AS TEXT)",
        _ => "fields",
    }
}
