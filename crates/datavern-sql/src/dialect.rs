//! [`Dialect`]: every difference between the SQL the backends speak, in one place.
//!
//! The store builds its statements once with sea-query; where a backend needs another
//! expression, value encoding, column type or statement, the store asks its connection's
//! [`Dialect`] for it instead of matching on the [`Backend`]. Each method says what differs
//! and why.

use sea_query::{
    Alias, ColumnType, Expr, IndexCreateStatement, LockType, MysqlQueryBuilder, Order,
    PostgresQueryBuilder, SchemaStatementBuilder, SelectStatement, SimpleExpr, SqliteQueryBuilder,
    StringLen, TableCreateStatement, Value,
};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::backend::Backend;

/// The SQL dialect of one backend: how values are encoded, which column types and
/// statements exist, and how rows are locked. Get it from [`Backend::dialect`],
/// [`Conn::dialect`](crate::Conn::dialect) or [`Database::dialect`](crate::Database::dialect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dialect(Backend);

/// A column type the store creates, named by what it holds; [`Dialect::column_type`] gives
/// each backend's type for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlType {
    /// A UUID (record and subject ids).
    Uuid,
    /// A short code of exactly `n` ASCII characters (a kommunenummer).
    Code(u32),
    /// Text of at most `n` characters.
    String(u32),
    /// Text of any length.
    Text,
    /// A 64-bit integer.
    BigInt,
    /// An exact decimal with `precision` digits, `scale` of them after the point.
    Decimal {
        /// Significant digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// A boolean.
    Boolean,
    /// A calendar date.
    Date,
    /// An instant with microseconds, in UTC.
    Timestamp,
    /// A JSON document.
    Json,
    /// Bytes of any length (field envelopes).
    Bytes,
    /// At most `n` bytes, compared and indexed (blind indexes).
    ShortBytes(u32),
}

/// Whether a transaction-scoped advisory lock is shared or exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Held together with other shared holders; waits for an exclusive holder.
    Shared,
    /// Held alone.
    Exclusive,
}

/// SQLite keeps times as text; a fixed width (always six fractional digits, `Z`) makes text
/// order time order, which range queries on the audit log and on record fields rely on.
const SQLITE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl Backend {
    /// The backend's SQL dialect.
    pub const fn dialect(self) -> Dialect {
        Dialect(self)
    }
}

impl Dialect {
    /// The dialect of `backend`.
    pub const fn new(backend: Backend) -> Dialect {
        Dialect(backend)
    }

    /// `identifier` quoted as a name (a table or column the database already has): double
    /// quotes on SQLite and PostgreSQL, backticks on MariaDB/MySQL, the quote character
    /// doubled inside.
    pub fn quote(self, identifier: &str) -> String {
        let mark = match self.0 {
            Backend::Sqlite | Backend::Postgres => '"',
            Backend::MySql => '`',
        };
        let doubled = identifier.replace(mark, &format!("{mark}{mark}"));
        format!("{mark}{doubled}{mark}")
    }

    /// Whether a dump of this backend ([`Database::dump`](crate::Database::dump)) carries
    /// its schema (SQLite's copy of the database file does); otherwise the schema must be
    /// created before [`Database::load`](crate::Database::load).
    pub fn dump_carries_schema(self) -> bool {
        self.0 == Backend::Sqlite
    }

    /// The backend that speaks it.
    pub const fn backend(self) -> Backend {
        self.0
    }

    /// Builds `statement` as SQL text for this dialect (values inlined), for DDL and logs.
    pub fn build_schema<S: SchemaStatementBuilder>(self, statement: &S) -> String {
        match self.0 {
            Backend::Sqlite => statement.build(SqliteQueryBuilder),
            Backend::Postgres => statement.build(PostgresQueryBuilder),
            Backend::MySql => statement.build(MysqlQueryBuilder),
        }
    }

    /// A time as a value: native on PostgreSQL (`timestamptz`) and MariaDB/MySQL
    /// (`datetime(6)`, in UTC), fixed-width RFC 3339 text in UTC on SQLite, which has no time
    /// type (see [`SqlType::Timestamp`]).
    pub fn time(self, at: OffsetDateTime) -> Value {
        let at = at.to_offset(time::UtcOffset::UTC);
        match self.0 {
            Backend::Sqlite => match at.format(SQLITE_TIME) {
                Ok(text) => text.into(),
                // Years beyond 9999 do not format; sqlx's own encoding still sorts correctly
                // against them.
                Err(_) => at.into(),
            },
            Backend::Postgres => at.into(),
            // The UTC wall time, sent as a `DATETIME`: an `OffsetDateTime` goes out as a
            // `TIMESTAMP`, whose range (1970–2038) MariaDB applies to the parameter, turning
            // every time outside it into NULL. The session runs in UTC (sqlx sets
            // `time_zone = '+00:00'`), so both read back the same.
            Backend::MySql => time::PrimitiveDateTime::new(at.date(), at.time()).into(),
        }
    }

    /// An optional time as a value: [`time`](Self::time), or a NULL of the column's type
    /// (PostgreSQL refuses a text NULL for a `timestamptz` column).
    pub fn optional_time(self, at: Option<OffsetDateTime>) -> Value {
        match (at, self.0) {
            (Some(at), _) => self.time(at),
            (None, Backend::Sqlite) => Value::String(None),
            (None, Backend::Postgres) => Value::TimeDateTimeWithTimeZone(None),
            (None, Backend::MySql) => Value::TimeDateTime(None),
        }
    }

    /// A calendar date as a value: native on PostgreSQL and MariaDB/MySQL, ISO 8601 text
    /// (`YYYY-MM-DD`, which sorts as dates do) on SQLite, which has no date type.
    pub fn date(self, date: time::Date) -> Value {
        match self.0 {
            Backend::Sqlite => iso_date(date).into(),
            Backend::Postgres | Backend::MySql => date.into(),
        }
    }

    /// An exact decimal, given as its canonical text, as an expression to store: sqlx's
    /// decimal types are not enabled, so the text is bound and PostgreSQL is told to convert
    /// it (`CAST(.. AS numeric)`); MariaDB/MySQL convert text to `DECIMAL` on assignment, and
    /// SQLite stores the text as it is.
    pub fn decimal(self, text: &str) -> SimpleExpr {
        match self.0 {
            Backend::Postgres => Expr::val(text).cast_as(Alias::new("numeric")),
            Backend::MySql | Backend::Sqlite => Expr::val(text).into(),
        }
    }

    /// Selects the decimal `column` so that it reads as text (sqlx's decimal types are not
    /// enabled): cast to `text` on PostgreSQL, to `CHAR` on MariaDB/MySQL; SQLite stores
    /// decimals as text already.
    pub fn select_decimal_as_text(self, select: &mut SelectStatement, column: &str) {
        let col = Expr::col(Alias::new(column));
        match self.0 {
            Backend::Postgres => select.expr(col.cast_as(Alias::new("text"))),
            Backend::MySql => select.expr(col.cast_as(Alias::new("char"))),
            Backend::Sqlite => select.column(Alias::new(column)),
        };
    }

    /// Whether the JSON array in `table`.`column` holds the string `item`: `json_each` on
    /// SQLite, `@>` on PostgreSQL (`jsonb`, which a GIN index can serve), `JSON_CONTAINS` on
    /// MariaDB/MySQL. `table` and `column` must be plain identifiers.
    pub fn json_array_contains(self, table: &str, column: &str, item: String) -> SimpleExpr {
        match self.0 {
            Backend::Sqlite => Expr::cust_with_values(
                format!(
                    "EXISTS (SELECT 1 FROM json_each(\"{table}\".\"{column}\") \
                     WHERE json_each.value = ?)"
                ),
                [item],
            ),
            Backend::Postgres => Expr::cust_with_values(
                format!("\"{column}\" @> jsonb_build_array($1::text)"),
                [item],
            ),
            Backend::MySql => {
                Expr::cust_with_values(format!("JSON_CONTAINS(`{column}`, JSON_QUOTE(?))"), [item])
            }
        }
    }

    /// Makes `select` lock the rows it reads until the transaction ends (`FOR UPDATE`), so
    /// they stay as read until it commits. SQLite has no row locks and needs none: its write
    /// transactions hold the database's one write lock from `BEGIN IMMEDIATE` on.
    pub fn lock_rows_for_update(self, select: &mut SelectStatement) {
        if self.0 != Backend::Sqlite {
            select.lock(LockType::Update);
        }
    }

    /// Orders `select` by its `column` (a key with an index of its own, also part of the
    /// index the `WHERE` clause seeks) ascending, so that the planner keeps seeking the
    /// `WHERE` clause's index: SQLite given a plain `ORDER BY id` walks the `(tenant, id)`
    /// index through the whole tenant instead of seeking a blind index (150 ms instead of
    /// 0.1 ms on 35,000 rows), so there the order is `+id`, which no index provides and
    /// which sorts the few candidates; the other planners choose well by themselves.
    pub fn order_by_key_after_seek(self, select: &mut SelectStatement, column: &str) {
        match self.0 {
            Backend::Sqlite => {
                select.order_by_expr(Expr::cust(format!("+\"{column}\"")), Order::Asc)
            }
            Backend::Postgres | Backend::MySql => select.order_by(Alias::new(column), Order::Asc),
        };
    }

    /// The column type that holds `ty`:
    ///
    /// | `SqlType` | SQLite | PostgreSQL | MariaDB/MySQL |
    /// |---|---|---|---|
    /// | `Uuid` | `blob` | `uuid` | `binary(16)` |
    /// | `Code(n)` | `text` | `varchar(n)` | `char(n)` |
    /// | `String(n)` | `text` | `varchar(n)` | `varchar(n)` |
    /// | `Text` | `text` | `text` | `mediumtext` |
    /// | `BigInt` | `integer` | `bigint` | `bigint` |
    /// | `Decimal` | `text` | `decimal(p, s)` | `decimal(p, s)` |
    /// | `Boolean` | `boolean` | `bool` | `bool` |
    /// | `Date` | `text` | `date` | `date` |
    /// | `Timestamp` | `text` | `timestamptz` | `datetime(6)` |
    /// | `Json` | `text` | `jsonb` | `json` |
    /// | `Bytes` | `blob` | `bytea` | `longblob` |
    /// | `ShortBytes(n)` | `blob` | `bytea` | `varbinary(n)` |
    ///
    /// SQLite keeps exact decimals, dates, times and JSON as text (`TEXT` affinity keeps a
    /// decimal's digits as written; `NUMERIC` would round it through a double). PostgreSQL
    /// codes are `varchar`, not `char`: `char_column = $1::text` casts the column and cannot
    /// use its index. MariaDB/MySQL short bytes are `varbinary` so that they can be indexed.
    pub fn column_type(self, ty: SqlType) -> ColumnType {
        use Backend::{MySql, Postgres, Sqlite};
        let custom = ColumnType::custom;
        match (ty, self.0) {
            (SqlType::Uuid, Postgres | MySql) => ColumnType::Uuid,
            (SqlType::Uuid | SqlType::Bytes | SqlType::ShortBytes(_), Sqlite) => custom("blob"),
            (SqlType::Code(n), Postgres) => ColumnType::String(StringLen::N(n)),
            (SqlType::Code(n), MySql) => ColumnType::Char(Some(n)),
            (SqlType::String(n), Postgres | MySql) => ColumnType::String(StringLen::N(n)),
            (SqlType::Text, Postgres) => ColumnType::Text,
            (SqlType::Text, MySql) => custom("mediumtext"),
            (SqlType::BigInt, Postgres | MySql) => ColumnType::BigInteger,
            (SqlType::BigInt, Sqlite) => custom("integer"),
            (SqlType::Decimal { precision, scale }, Postgres | MySql) => {
                ColumnType::Decimal(Some((precision, scale)))
            }
            (SqlType::Boolean, _) => ColumnType::Boolean,
            (SqlType::Date, Postgres | MySql) => ColumnType::Date,
            (SqlType::Timestamp, Postgres) => ColumnType::TimestampWithTimeZone,
            (SqlType::Timestamp, MySql) => custom("datetime(6)"),
            (SqlType::Json, Postgres) => ColumnType::JsonBinary,
            (SqlType::Json, MySql) => ColumnType::Json,
            (SqlType::Bytes | SqlType::ShortBytes(_), Postgres) => ColumnType::Blob,
            (SqlType::Bytes, MySql) => custom("longblob"),
            (SqlType::ShortBytes(n), MySql) => ColumnType::VarBinary(StringLen::N(n)),
            (
                SqlType::Code(_)
                | SqlType::String(_)
                | SqlType::Text
                | SqlType::Decimal { .. }
                | SqlType::Date
                | SqlType::Timestamp
                | SqlType::Json,
                Sqlite,
            ) => custom("text"),
        }
    }

    /// The statements that create a table (`create`, made idempotent by the caller with
    /// `IF NOT EXISTS`) and its `indexes`, idempotently.
    ///
    /// MariaDB/MySQL has no `CREATE INDEX IF NOT EXISTS`, so there the indexes go inside the
    /// `CREATE TABLE`, which is given InnoDB, utf8mb4 and a binary collation (text compares
    /// exactly, as on PostgreSQL and SQLite); elsewhere each index is a statement of its own.
    pub fn create_table(
        self,
        mut create: TableCreateStatement,
        indexes: Vec<IndexCreateStatement>,
    ) -> Vec<String> {
        let mut statements = Vec::new();
        match self.0 {
            Backend::MySql => {
                for mut index in indexes {
                    create.index(&mut index);
                }
                create
                    .engine("InnoDB")
                    .character_set("utf8mb4")
                    .collate("utf8mb4_bin");
                statements.push(self.build_schema(&create));
            }
            Backend::Postgres | Backend::Sqlite => {
                statements.push(self.build_schema(&create));
                for mut index in indexes {
                    statements.push(self.build_schema(index.if_not_exists()));
                }
            }
        }
        statements
    }

    /// The statement that adds the index `name` on `table`'s `columns` while the table stays
    /// readable and writable, idempotently: `CREATE INDEX CONCURRENTLY IF NOT EXISTS` on
    /// PostgreSQL (it cannot run inside a transaction), online DDL on MariaDB
    /// (`ALGORITHM=INPLACE LOCK=NONE`), a plain `CREATE INDEX IF NOT EXISTS` on SQLite,
    /// whose one writer waits anyway.
    pub fn create_index_online(self, name: &str, table: &str, columns: &[&str]) -> String {
        let columns: Vec<String> = columns.iter().map(|c| self.quote(c)).collect();
        let (name, table, columns) = (self.quote(name), self.quote(table), columns.join(", "));
        match self.0 {
            Backend::Postgres => {
                format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({columns})")
            }
            Backend::MySql => format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}) ALGORITHM=INPLACE \
                 LOCK=NONE"
            ),
            Backend::Sqlite => format!("CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"),
        }
    }

    /// The statement that drops the index `name` of `table` if it exists.
    pub fn drop_index(self, name: &str, table: &str) -> String {
        let (name, table) = (self.quote(name), self.quote(table));
        match self.0 {
            Backend::MySql => format!("DROP INDEX IF EXISTS {name} ON {table}"),
            Backend::Postgres | Backend::Sqlite => format!("DROP INDEX IF EXISTS {name}"),
        }
    }

    /// The statements of a sync trigger `name` on `table` for a migration window: whenever
    /// a row's `source` column changes and the same statement did not also set `target`,
    /// `target` is cleared, so a value derived from the old `source` (its ciphertext, its
    /// blind index) is never left standing beside a new one; the backfill derives it again.
    /// Written by any client of the database (a process serving the previous catalog
    /// included). Idempotent.
    pub fn sync_trigger(self, name: &str, table: &str, source: &str, target: &str) -> Vec<String> {
        let (q_name, q_table, src, tgt) = (
            self.quote(name),
            self.quote(table),
            self.quote(source),
            self.quote(target),
        );
        match self.0 {
            Backend::Postgres => vec![
                format!(
                    "CREATE OR REPLACE FUNCTION {q_name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.{src} IS DISTINCT FROM OLD.{src} AND NEW.{tgt} IS NOT \
                     DISTINCT FROM OLD.{tgt} THEN NEW.{tgt} := NULL; END IF; RETURN NEW; END $$"
                ),
                format!("DROP TRIGGER IF EXISTS {q_name} ON {q_table}"),
                format!(
                    "CREATE TRIGGER {q_name} BEFORE UPDATE ON {q_table} FOR EACH ROW EXECUTE \
                     FUNCTION {q_name}()"
                ),
            ],
            Backend::MySql => vec![format!(
                "CREATE TRIGGER IF NOT EXISTS {q_name} BEFORE UPDATE ON {q_table} FOR EACH ROW \
                 BEGIN IF NOT (NEW.{src} <=> OLD.{src}) AND (NEW.{tgt} <=> OLD.{tgt}) THEN SET \
                 NEW.{tgt} = NULL; END IF; END"
            )],
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER IF NOT EXISTS {q_name} AFTER UPDATE OF {src} ON {q_table} FOR \
                 EACH ROW WHEN NEW.{src} IS NOT OLD.{src} AND NEW.{tgt} IS OLD.{tgt} BEGIN \
                 UPDATE {q_table} SET {tgt} = NULL WHERE id = NEW.id; END"
            )],
        }
    }

    /// The statements that drop the sync trigger `name` of `table` (see
    /// [`Dialect::sync_trigger`]), if it exists.
    pub fn drop_sync_trigger(self, name: &str, table: &str) -> Vec<String> {
        let (q_name, q_table) = (self.quote(name), self.quote(table));
        match self.0 {
            Backend::Postgres => vec![
                format!("DROP TRIGGER IF EXISTS {q_name} ON {q_table}"),
                format!("DROP FUNCTION IF EXISTS {q_name}()"),
            ],
            Backend::MySql | Backend::Sqlite => vec![format!("DROP TRIGGER IF EXISTS {q_name}")],
        }
    }

    /// The statement, run first in a transaction, that keeps every other writer of `table`
    /// out until the transaction ends while readers go on (PostgreSQL `SHARE ROW
    /// EXCLUSIVE`); none on SQLite, whose write transaction already excludes writers, nor on
    /// MariaDB/MySQL, whose DDL ends any transaction.
    pub fn exclude_writers(self, table: &str) -> Option<String> {
        match self.0 {
            Backend::Postgres => Some(format!(
                "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                self.quote(table)
            )),
            Backend::MySql | Backend::Sqlite => None,
        }
    }

    /// Whether DDL takes part in transactions (PostgreSQL, SQLite); on MariaDB/MySQL each
    /// DDL statement commits, so schema work there must be idempotent step by step.
    pub fn has_transactional_ddl(self) -> bool {
        self.0 != Backend::MySql
    }

    /// Whether the database is a file this process opens (SQLite), not a server it
    /// connects to: a missing file is created on connecting.
    pub fn is_embedded(self) -> bool {
        self.0 == Backend::Sqlite
    }

    /// The type a value is cast to to read it as text (`CAST(x AS TEXT)`): `TEXT` on SQLite
    /// and PostgreSQL, `CHAR` on MariaDB/MySQL, whose `CAST` has no `TEXT` target. Used to
    /// read an import source's columns whatever their types.
    pub fn text_cast_type(self) -> &'static str {
        match self.0 {
            Backend::Sqlite | Backend::Postgres => "TEXT",
            Backend::MySql => "CHAR",
        }
    }

    /// Whether the backend has users and roles to grant privileges to (PostgreSQL,
    /// MariaDB/MySQL); an embedded SQLite file is protected by its file mode alone.
    pub fn has_roles(self) -> bool {
        self.0 != Backend::Sqlite
    }

    /// Whether the backend enforces row-level security (PostgreSQL); on the others a query's
    /// own `tenant = ?` predicate is the only tenant boundary.
    pub fn has_row_level_security(self) -> bool {
        self.0 == Backend::Postgres
    }

    /// The statements that confine `table` to one tenant by row-level security: rows are
    /// visible and writable only where `tenant` equals the transaction's `setting` (unset:
    /// nothing), under the policy named `policy`. `FORCE` makes it hold for the table's owner
    /// too; superusers and `BYPASSRLS` roles are never subject to it. sea-query has no
    /// statements for policies; `table`, `policy` and `setting` must be plain identifiers.
    /// None where the backend has no row-level security
    /// ([`has_row_level_security`](Self::has_row_level_security)).
    pub fn row_level_security(self, table: &str, policy: &str, setting: &str) -> Vec<String> {
        if !self.has_row_level_security() {
            return Vec::new();
        }
        let condition = format!("tenant = current_setting('{setting}', true)");
        vec![
            format!(r#"ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY"#),
            format!(r#"ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY"#),
            format!(r#"DROP POLICY IF EXISTS "{policy}" ON "{table}""#),
            format!(
                r#"CREATE POLICY "{policy}" ON "{table}" USING ({condition}) WITH CHECK ({condition})"#
            ),
        ]
    }

    /// The query (one text parameter, the table's name) that lists a table's column names:
    /// `pragma_table_info` on SQLite, `information_schema` in the current schema or database
    /// elsewhere.
    pub(crate) fn columns_query(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "SELECT name FROM pragma_table_info(?1)",
            Backend::Postgres => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
            Backend::MySql => {
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ?"
            }
        }
    }

    /// The query listing the tables of the current database or schema, by name.
    pub(crate) fn tables_query(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY tablename"
            }
            Backend::MySql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() ORDER BY table_name"
            }
        }
    }

    /// `sql` with its `?` placeholders written as this dialect wants them (`$1`, `$2`, ... on
    /// PostgreSQL; unchanged elsewhere). A `?` inside a quoted string or identifier stays.
    pub fn placeholders(self, sql: &str) -> String {
        if self.0 != Backend::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut quote = None;
        let mut n = 0;
        for c in sql.chars() {
            match (quote, c) {
                (None, '\'' | '"' | '`') => {
                    quote = Some(c);
                    out.push(c);
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    out.push(c);
                }
                (None, '?') => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                _ => out.push(c),
            }
        }
        out
    }
}

/// `at` as SQLite keeps times (see [`Dialect::time`]): fixed-width RFC 3339 text in UTC;
/// `None` for years beyond 9999, which do not format.
pub(crate) fn sqlite_time_text(at: OffsetDateTime) -> Option<String> {
    at.to_offset(time::UtcOffset::UTC).format(SQLITE_TIME).ok()
}

/// `date` as ISO 8601 (`YYYY-MM-DD`; years outside 0..=9999 signed and six digits wide, as
/// datavern's dates print).
pub(crate) fn iso_date(date: time::Date) -> String {
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    if (0..=9999).contains(&year) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        format!("{sign}{:06}-{month:02}-{day:02}", year.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        let sql = "SELECT a FROM t WHERE b = ? AND c = '?' AND d = ?";
        assert_eq!(
            Backend::Postgres.dialect().placeholders(sql),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2"
        );
        assert_eq!(Backend::Sqlite.dialect().placeholders(sql), sql);
        assert_eq!(Backend::MySql.dialect().placeholders(sql), sql);
    }

    #[test]
    fn sqlite_dates_are_iso_text() {
        let date = time::Date::from_calendar_date(2024, time::Month::March, 5).unwrap();
        assert_eq!(
            Backend::Sqlite.dialect().date(date),
            Value::from("2024-03-05")
        );
        assert_eq!(Backend::Postgres.dialect().date(date), Value::from(date));
        let old = time::Date::from_calendar_date(-1, time::Month::January, 1).unwrap();
        assert_eq!(iso_date(old), "-000001-01-01");
    }
}
