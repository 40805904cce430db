//! One connection on any backend, for code that builds its SQL with sea-query.
//!
//! Queries are written once as sea-query statements and built for the connection's dialect
//! ([`Conn::execute`], [`Conn::fetch_all`]); the few statements that exist on one backend only
//! (catalog queries, locks, row-level security) are run with [`Conn::execute_raw`] and
//! [`Conn::fetch_strings`].

use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, MySqlConnection, PgConnection, SqliteConnection};

use crate::backend::Backend;
use crate::error::Result;

/// A borrowed connection (or transaction) on one of the backends.
pub enum Conn<'a> {
    /// A SQLite connection.
    Sqlite(&'a mut SqliteConnection),
    /// A PostgreSQL connection.
    Postgres(&'a mut PgConnection),
    /// A MariaDB/MySQL connection.
    MySql(&'a mut MySqlConnection),
}

/// A row type every backend can decode.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow>
    + for<'r> FromRow<'r, PgRow>
    + for<'r> FromRow<'r, MySqlRow>
    + Send
    + Unpin
{
}

impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow>
        + for<'r> FromRow<'r, PgRow>
        + for<'r> FromRow<'r, MySqlRow>
        + Send
        + Unpin
{
}

/// Whether a read locks what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadLock {
    /// A plain read.
    None,
    /// A shared locking read on MariaDB/MySQL; a plain read elsewhere.
    SharedOnMySql,
}

impl Conn<'_> {
    /// The connection's backend.
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
            Conn::MySql(_) => Backend::MySql,
        }
    }

    /// Runs SQL text without parameters (DDL; several statements are allowed on SQLite and
    /// PostgreSQL). Returns the rows affected.
    pub async fn execute_raw(&mut self, sql: &str) -> Result<u64> {
        let affected = match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut **c).await?.rows_affected(),
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(&mut **c).await?.rows_affected(),
            Conn::MySql(c) => sqlx::raw_sql(sql).execute(&mut **c).await?.rows_affected(),
        };
        Ok(affected)
    }

    /// Builds `statement` for this dialect and runs it. Returns the rows affected.
    pub async fn execute<S: SqlxBinder>(&mut self, statement: &S) -> Result<u64> {
        let affected = match self {
            Conn::Sqlite(c) => {
                let (sql, values) = statement.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(&sql, values)
                    .execute(&mut **c)
                    .await?
                    .rows_affected()
            }
            Conn::Postgres(c) => {
                let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(&sql, values)
                    .execute(&mut **c)
                    .await?
                    .rows_affected()
            }
            Conn::MySql(c) => {
                let (sql, values) = statement.build_sqlx(MysqlQueryBuilder);
                sqlx::query_with(&sql, values)
                    .execute(&mut **c)
                    .await?
                    .rows_affected()
            }
        };
        Ok(affected)
    }

    /// Builds `statement` for this dialect and decodes every row as `T`.
    pub async fn fetch_all<T: AnyRow, S: SqlxBinder>(&mut self, statement: &S) -> Result<Vec<T>> {
        self.fetch(statement, ReadLock::None).await
    }

    /// [`fetch_all`](Self::fetch_all) as a locking read on MariaDB/MySQL (`LOCK IN SHARE
    /// MODE`, which MariaDB accepts where it rejects `FOR SHARE`): it reads the latest
    /// committed rows rather than the transaction's snapshot, and its shared next-key locks
    /// hold back inserts into the range read until the transaction ends. On SQLite and
    /// PostgreSQL the same as `fetch_all`.
    pub async fn fetch_all_shared<T: AnyRow, S: SqlxBinder>(
        &mut self,
        statement: &S,
    ) -> Result<Vec<T>> {
        self.fetch(statement, ReadLock::SharedOnMySql).await
    }

    async fn fetch<T: AnyRow, S: SqlxBinder>(
        &mut self,
        statement: &S,
        lock: ReadLock,
    ) -> Result<Vec<T>> {
        let rows = match self {
            Conn::Sqlite(c) => {
                let (sql, values) = statement.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with::<_, T, _>(&sql, values)
                    .fetch_all(&mut **c)
                    .await?
            }
            Conn::Postgres(c) => {
                let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with::<_, T, _>(&sql, values)
                    .fetch_all(&mut **c)
                    .await?
            }
            Conn::MySql(c) => {
                let (mut sql, values) = statement.build_sqlx(MysqlQueryBuilder);
                if lock == ReadLock::SharedOnMySql {
                    sql.push_str(" LOCK IN SHARE MODE");
                }
                sqlx::query_as_with::<_, T, _>(&sql, values)
                    .fetch_all(&mut **c)
                    .await?
            }
        };
        Ok(rows)
    }

    /// Runs dialect-specific `sql` with one text parameter (written `$1` or `?` as the
    /// dialect wants) and returns the first column of every row as text.
    pub async fn fetch_strings(&mut self, sql: &str, param: &str) -> Result<Vec<String>> {
        let rows = match self {
            Conn::Sqlite(c) => {
                sqlx::query_scalar(sql)
                    .bind(param)
                    .fetch_all(&mut **c)
                    .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_scalar(sql)
                    .bind(param)
                    .fetch_all(&mut **c)
                    .await?
            }
            Conn::MySql(c) => {
                sqlx::query_scalar(sql)
                    .bind(param)
                    .fetch_all(&mut **c)
                    .await?
            }
        };
        Ok(rows)
    }
}

/// A connection taken from a [`Database`](crate::Database)'s pool; returned when dropped.
pub struct PooledConn(Pooled);

enum Pooled {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
    MySql(sqlx::pool::PoolConnection<sqlx::MySql>),
}

impl PooledConn {
    pub(crate) fn sqlite(conn: sqlx::pool::PoolConnection<sqlx::Sqlite>) -> Self {
        PooledConn(Pooled::Sqlite(conn))
    }

    pub(crate) fn postgres(conn: sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        PooledConn(Pooled::Postgres(conn))
    }

    pub(crate) fn mysql(conn: sqlx::pool::PoolConnection<sqlx::MySql>) -> Self {
        PooledConn(Pooled::MySql(conn))
    }

    /// The connection, for running statements.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            Pooled::Sqlite(c) => Conn::Sqlite(&mut *c),
            Pooled::Postgres(c) => Conn::Postgres(&mut *c),
            Pooled::MySql(c) => Conn::MySql(&mut *c),
        }
    }
}

/// Text that decodes on every backend, including MariaDB/MySQL columns with a binary
/// collation: the store's tables use `utf8mb4_bin` (exact comparison, as on PostgreSQL and
/// SQLite), and sqlx 0.8 reports such columns as `VARBINARY` and refuses to decode them as
/// `String`. Read text columns of datavern's MySQL tables through this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl sqlx::Type<sqlx::MySql> for Text {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <str as sqlx::Type<sqlx::MySql>>::type_info()
    }

    fn compatible(ty: &sqlx::mysql::MySqlTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::MySql>>::compatible(ty)
            || <&[u8] as sqlx::Type<sqlx::MySql>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::MySql> for Text {
    fn decode(value: sqlx::mysql::MySqlValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let bytes = <&[u8] as sqlx::Decode<sqlx::MySql>>::decode(value)?;
        Ok(Text(std::str::from_utf8(bytes)?.to_owned()))
    }
}

/// `Text` decodes like `String` on the other backends.
macro_rules! text_like_string {
    ($($db:ty),*) => {$(
        impl sqlx::Type<$db> for Text {
            fn type_info() -> <$db as sqlx::Database>::TypeInfo {
                <String as sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as sqlx::Database>::TypeInfo) -> bool {
                <String as sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, $db> for Text {
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <String as sqlx::Decode<'r, $db>>::decode(value).map(Text)
            }
        }
    )*};
}

text_like_string!(sqlx::Sqlite, sqlx::Postgres);
