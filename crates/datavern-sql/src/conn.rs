//! One connection on any backend, for code that builds its SQL with sea-query.
//!
//! Queries are written once as sea-query statements and built for the connection's dialect
//! ([`Conn::execute`], [`Conn::fetch_all`]); what exists on one backend only (catalog
//! queries, advisory locks, row-level security, query plans) is a named method here.

use sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, MySqlConnection, PgConnection, Row as _, SqliteConnection};

use crate::backend::Backend;
use crate::dialect::{Dialect, LockMode};
use crate::error::Result;

/// A borrowed connection (or transaction) on one of the backends.
pub struct Conn<'a>(Inner<'a>);

enum Inner<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
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

/// Decodes rows whose shape is known only at run time (a collection table's columns), on
/// every backend: what [`Conn::fetch_decoded`] calls for each row.
pub trait DecodeRow {
    /// One decoded row.
    type Row;
    /// Decodes a SQLite row.
    fn sqlite(&self, row: &SqliteRow) -> Result<Self::Row, sqlx::Error>;
    /// Decodes a PostgreSQL row.
    fn postgres(&self, row: &PgRow) -> Result<Self::Row, sqlx::Error>;
    /// Decodes a MariaDB/MySQL row.
    fn mysql(&self, row: &MySqlRow) -> Result<Self::Row, sqlx::Error>;
}

/// A backend's row, handed to the matching [`DecodeRow`] method.
trait BackendRow {
    fn decode_with<D: DecodeRow>(&self, decoder: &D) -> Result<D::Row, sqlx::Error>;
}

impl BackendRow for SqliteRow {
    fn decode_with<D: DecodeRow>(&self, decoder: &D) -> Result<D::Row, sqlx::Error> {
        decoder.sqlite(self)
    }
}

impl BackendRow for PgRow {
    fn decode_with<D: DecodeRow>(&self, decoder: &D) -> Result<D::Row, sqlx::Error> {
        decoder.postgres(self)
    }
}

impl BackendRow for MySqlRow {
    fn decode_with<D: DecodeRow>(&self, decoder: &D) -> Result<D::Row, sqlx::Error> {
        decoder.mysql(self)
    }
}

/// Whether a read locks what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadLock {
    /// A plain read (the transaction's snapshot where it has one).
    None,
    /// A shared locking read on MariaDB/MySQL (`LOCK IN SHARE MODE`, which MariaDB accepts
    /// where it rejects `FOR SHARE`): it reads the latest committed rows rather than the
    /// transaction's snapshot, and its shared next-key locks hold back inserts into the range
    /// read until the transaction ends. A plain read on SQLite (one writer at a time) and
    /// PostgreSQL (`READ COMMITTED` reads the latest committed rows already).
    SharedOnMySql,
}

/// Runs `$body` with `$c` bound to the backend's connection and `$builder` to its
/// sea-query builder: the one place a `Conn` method dispatches on the backend.
macro_rules! dispatch {
    ($conn:expr, |$c:ident, $builder:ident| $body:expr) => {
        match &mut $conn.0 {
            Inner::Sqlite($c) => {
                #[allow(unused_variables)]
                let $builder = SqliteQueryBuilder;
                $body
            }
            Inner::Postgres($c) => {
                #[allow(unused_variables)]
                let $builder = PostgresQueryBuilder;
                $body
            }
            Inner::MySql($c) => {
                #[allow(unused_variables)]
                let $builder = MysqlQueryBuilder;
                $body
            }
        }
    };
}

impl<'a> Conn<'a> {
    pub(crate) fn sqlite(conn: &'a mut SqliteConnection) -> Self {
        Conn(Inner::Sqlite(conn))
    }

    pub(crate) fn postgres(conn: &'a mut PgConnection) -> Self {
        Conn(Inner::Postgres(conn))
    }

    pub(crate) fn mysql(conn: &'a mut MySqlConnection) -> Self {
        Conn(Inner::MySql(conn))
    }
}

impl Conn<'_> {
    /// The connection's backend.
    pub fn backend(&self) -> Backend {
        match self.0 {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
            Inner::MySql(_) => Backend::MySql,
        }
    }

    /// The connection's SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.backend().dialect()
    }

    /// Runs SQL text without parameters (DDL; several statements are allowed on SQLite and
    /// PostgreSQL). Returns the rows affected.
    pub async fn execute_raw(&mut self, sql: &str) -> Result<u64> {
        Ok(dispatch!(self, |c, _b| sqlx::raw_sql(sql)
            .execute(&mut **c)
            .await?
            .rows_affected()))
    }

    /// Builds `statement` for this dialect and runs it. Returns the rows affected.
    pub async fn execute<S: SqlxBinder>(&mut self, statement: &S) -> Result<u64> {
        Ok(dispatch!(self, |c, builder| {
            let (sql, values) = statement.build_sqlx(builder);
            sqlx::query_with(&sql, values)
                .execute(&mut **c)
                .await?
                .rows_affected()
        }))
    }

    /// Builds `statement` for this dialect and decodes every row as `T`.
    pub async fn fetch_all<T: AnyRow, S: SqlxBinder>(&mut self, statement: &S) -> Result<Vec<T>> {
        self.fetch(statement, ReadLock::None).await
    }

    /// [`fetch_all`](Self::fetch_all) as a locking read on MariaDB/MySQL
    /// ([`ReadLock::SharedOnMySql`]); on SQLite and PostgreSQL the same as `fetch_all`.
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
        let dialect = self.dialect();
        Ok(dispatch!(self, |c, builder| {
            let (sql, values) = statement.build_sqlx(builder);
            let sql = dialect.with_read_lock(sql, lock);
            sqlx::query_as_with::<_, T, _>(&sql, values)
                .fetch_all(&mut **c)
                .await?
        }))
    }

    /// Builds `statement` for this dialect, reading as `lock` says, and decodes every row
    /// with `decoder`.
    pub async fn fetch_decoded<D: DecodeRow, S: SqlxBinder>(
        &mut self,
        statement: &S,
        lock: ReadLock,
        decoder: &D,
    ) -> Result<Vec<D::Row>> {
        let dialect = self.dialect();
        Ok(dispatch!(self, |c, builder| {
            let (sql, values) = statement.build_sqlx(builder);
            let sql = dialect.with_read_lock(sql, lock);
            let rows = sqlx::query_with(&sql, values).fetch_all(&mut **c).await?;
            rows.iter()
                .map(|row| row.decode_with(decoder))
                .collect::<Result<_, _>>()?
        }))
    }

    /// Builds `statement` for this dialect, runs it and counts the rows it returns (each
    /// fetched whole, as a caller that used them would).
    pub async fn count_rows<S: SqlxBinder>(&mut self, statement: &S) -> Result<u64> {
        let rows = dispatch!(self, |c, builder| {
            let (sql, values) = statement.build_sqlx(builder);
            sqlx::query_with(&sql, values)
                .fetch_all(&mut **c)
                .await?
                .len()
        });
        Ok(u64::try_from(rows).unwrap_or(u64::MAX))
    }

    /// Runs `sql` with `params` bound in order, its placeholders written `?` (numbered for
    /// PostgreSQL by [`Dialect::placeholders`]), and returns the first column of every row
    /// as text (MariaDB/MySQL text of a binary collation included).
    async fn fetch_strings_with(&mut self, sql: &str, params: &[&str]) -> Result<Vec<String>> {
        let sql = self.dialect().placeholders(sql);
        let rows: Vec<crate::Text> = dispatch!(self, |c, _b| {
            let mut query = sqlx::query_scalar(&sql);
            for param in params {
                query = query.bind(*param);
            }
            query.fetch_all(&mut **c).await?
        });
        Ok(rows.into_iter().map(|t| t.0).collect())
    }

    /// Runs dialect-specific `sql` with one text parameter (written `$1` or `?` as the
    /// dialect wants) and returns the first column of every row as text.
    async fn fetch_strings(&mut self, sql: &str, param: &str) -> Result<Vec<String>> {
        Ok(dispatch!(self, |c, _b| sqlx::query_scalar(sql)
            .bind(param)
            .fetch_all(&mut **c)
            .await?))
    }

    /// The names of `table`'s columns as the database has them (none if there is no such
    /// table), from the backend's catalog (`pragma_table_info` on SQLite,
    /// `information_schema` elsewhere).
    pub async fn table_columns(&mut self, table: &str) -> Result<Vec<String>> {
        let sql = self.dialect().columns_query();
        self.fetch_strings(sql, table).await
    }

    /// The names of the tables in the connection's database (or schema), sorted.
    pub async fn table_names(&mut self) -> Result<Vec<String>> {
        let sql = self.dialect().tables_query();
        self.fetch_strings_with(sql, &[]).await
    }

    /// Whether `table` has row-level security enabled and forced with a policy named
    /// `policy`, on PostgreSQL; `None` on the backends without row-level security.
    pub async fn row_level_security(&mut self, table: &str, policy: &str) -> Result<Option<bool>> {
        if !self.dialect().has_row_level_security() {
            return Ok(None);
        }
        let sql = "SELECT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT 1 FROM \
                   pg_policy p WHERE p.polrelid = c.oid AND p.polname = $2))::text \
                   FROM pg_class c WHERE c.oid = to_regclass($1)";
        let secured = dispatch!(self, |c, _b| sqlx::query_scalar::<_, String>(sql)
            .bind(table)
            .bind(policy)
            .fetch_all(&mut **c)
            .await?);
        Ok(Some(secured.first().map(String::as_str) == Some("true")))
    }

    /// Takes the PostgreSQL advisory lock `(class, key)` in `mode` until the transaction
    /// ends. The other backends have no transaction-scoped advisory locks and take nothing:
    /// a caller serializes there by other means (SQLite's one writer, row locks).
    pub async fn advisory_lock_on_postgres(
        &mut self,
        class: i32,
        key: i32,
        mode: LockMode,
    ) -> Result<()> {
        let Inner::Postgres(c) = &mut self.0 else {
            return Ok(());
        };
        let sql = match mode {
            LockMode::Exclusive => "SELECT pg_advisory_xact_lock($1, $2)",
            LockMode::Shared => "SELECT pg_advisory_xact_lock_shared($1, $2)",
        };
        sqlx::query(sql)
            .bind(class)
            .bind(key)
            .execute(&mut **c)
            .await?;
        Ok(())
    }

    /// For the rest of the transaction, plans every prepared statement for its parameters
    /// (PostgreSQL's `plan_cache_mode = force_custom_plan`): after five runs PostgreSQL may
    /// switch a prepared statement to a generic plan that ignores the values, which is slow
    /// for statements whose best plan depends on them (an id list). The other backends have
    /// no generic plans; nothing to do there.
    pub async fn prefer_custom_plans(&mut self) -> Result<()> {
        if let Inner::Postgres(c) = &mut self.0 {
            sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                .execute(&mut **c)
                .await?;
        }
        Ok(())
    }

    /// SQLite's query plan for `statement` (`EXPLAIN QUERY PLAN`, one line per step), to
    /// check that it seeks an index; `None` on the other backends.
    pub async fn sqlite_query_plan<S: SqlxBinder>(
        &mut self,
        statement: &S,
    ) -> Result<Option<Vec<String>>> {
        let Inner::Sqlite(c) = &mut self.0 else {
            return Ok(None);
        };
        let (sql, values) = statement.build_sqlx(SqliteQueryBuilder);
        let rows = sqlx::query_with(&format!("EXPLAIN QUERY PLAN {sql}"), values)
            .fetch_all(&mut **c)
            .await?;
        let lines = rows
            .iter()
            .map(|row| row.try_get::<String, _>("detail"))
            .collect::<Result<_, _>>()?;
        Ok(Some(lines))
    }
}

impl Dialect {
    /// `sql` (a `SELECT`) as a read that locks as `lock` says.
    fn with_read_lock(self, mut sql: String, lock: ReadLock) -> String {
        if lock == ReadLock::SharedOnMySql && self.backend() == Backend::MySql {
            sql.push_str(" LOCK IN SHARE MODE");
        }
        sql
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
            Pooled::Sqlite(c) => Conn::sqlite(c),
            Pooled::Postgres(c) => Conn::postgres(c),
            Pooled::MySql(c) => Conn::mysql(c),
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

/// A value a test query's first column decodes to on every backend (feature
/// `test-support`): integers, booleans, bytes, UUIDs, text (MariaDB/MySQL text of a binary
/// collation included) and their `Option`s for NULL.
#[cfg(feature = "test-support")]
pub trait Scalar: Sized + Send + Unpin + 'static {
    /// What sqlx decodes on every backend.
    #[doc(hidden)]
    type Raw: for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::MySql>
        + sqlx::Type<sqlx::MySql>
        + Send
        + Unpin;
    /// The value from what was decoded.
    #[doc(hidden)]
    fn from_raw(raw: Self::Raw) -> Self;
}

#[cfg(feature = "test-support")]
macro_rules! scalar_as_is {
    ($($ty:ty),*) => {$(
        impl Scalar for $ty {
            type Raw = $ty;
            fn from_raw(raw: $ty) -> $ty {
                raw
            }
        }
    )*};
}

#[cfg(feature = "test-support")]
scalar_as_is!(
    i64,
    i32,
    bool,
    Vec<u8>,
    uuid::Uuid,
    Option<i64>,
    Option<i32>,
    Option<bool>,
    Option<Vec<u8>>,
    Option<uuid::Uuid>
);

#[cfg(feature = "test-support")]
impl Scalar for String {
    type Raw = Text;
    fn from_raw(raw: Text) -> String {
        raw.0
    }
}

#[cfg(feature = "test-support")]
impl Scalar for Option<String> {
    type Raw = Option<Text>;
    fn from_raw(raw: Option<Text>) -> Option<String> {
        raw.map(|t| t.0)
    }
}

/// Raw SQL for tests (feature `test-support`): placeholders are written `?` on every backend
/// ([`Dialect::placeholders`] numbers them for PostgreSQL) and values are sea-query
/// [`Value`](sea_query::Value)s (`id.into()`, `"text".into()`, `bytes.into()`).
#[cfg(feature = "test-support")]
impl Conn<'_> {
    /// Runs `sql` with `params`; without parameters several statements are allowed (on
    /// SQLite and PostgreSQL). Returns the rows affected.
    pub async fn test_execute(&mut self, sql: &str, params: &[sea_query::Value]) -> Result<u64> {
        if params.is_empty() {
            return self.execute_raw(sql).await;
        }
        let sql = self.dialect().placeholders(sql);
        Ok(dispatch!(self, |c, _b| {
            let values = sea_query_binder::SqlxValues(sea_query::Values(params.to_vec()));
            sqlx::query_with(&sql, values)
                .execute(&mut **c)
                .await?
                .rows_affected()
        }))
    }

    /// Runs `sql` with `params` and decodes the first column of every row as `T`.
    pub async fn test_fetch<T: Scalar>(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
    ) -> Result<Vec<T>> {
        let sql = self.dialect().placeholders(sql);
        let raw = dispatch!(self, |c, _b| {
            let values = sea_query_binder::SqlxValues(sea_query::Values(params.to_vec()));
            sqlx::query_scalar_with::<_, T::Raw, _>(&sql, values)
                .fetch_all(&mut **c)
                .await?
        });
        Ok(raw.into_iter().map(T::from_raw).collect())
    }

    /// Runs `sql` with `params` and decodes every row as `T` (a tuple of columns).
    pub async fn test_fetch_rows<T: AnyRow>(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
    ) -> Result<Vec<T>> {
        let sql = self.dialect().placeholders(sql);
        Ok(dispatch!(self, |c, _b| {
            let values = sea_query_binder::SqlxValues(sea_query::Values(params.to_vec()));
            sqlx::query_as_with::<_, T, _>(&sql, values)
                .fetch_all(&mut **c)
                .await?
        }))
    }
}
