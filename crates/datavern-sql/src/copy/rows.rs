//! Rows across backends: a batch read from one side in primary-key order after a key, each
//! value decoded by its column's declared type and conformed to its meaning; a batch
//! written to the other side with one multi-row `INSERT` (or, for a table the migrations
//! seed, an `UPDATE` of the seeded row), each value bound as that side's column wants it.

use sqlx::mysql::MySqlArguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row, ValueRef};
use time::{OffsetDateTime, PrimitiveDateTime};

use super::link::Link;
use super::plan::TablePlan;
use super::value::{Kind, Physical, Value};
use crate::at::At;
use crate::backend::Backend;
use crate::conn::Text;
use crate::dialect::{iso_date, sqlite_time_text};
use crate::error::{Result, SqlError};

/// Which side of the copy a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The database copied from.
    Source,
    /// The database copied to.
    Target,
}

/// One row: a value per column of the plan, in the plan's order.
pub(crate) type RowValues = Vec<Value>;

impl Link {
    /// Up to `limit` rows of the table after the key `after` (from the start if `None`), in
    /// primary-key order.
    pub(crate) async fn read_batch(
        &mut self,
        plan: &TablePlan,
        side: Side,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<RowValues>> {
        let backend = self.backend();
        let dialect = backend.dialect();
        let select: Vec<String> = plan
            .columns
            .iter()
            .map(|c| {
                let quoted = dialect.quote(&c.name);
                match (backend, c.physical(side)) {
                    (Backend::Postgres, Physical::Decimal | Physical::Json(_)) => {
                        format!("{quoted}::text")
                    }
                    (Backend::MySql, Physical::Decimal | Physical::Json(_)) => {
                        format!("CAST({quoted} AS CHAR)")
                    }
                    _ => quoted,
                }
            })
            .collect();
        let key: Vec<String> = plan
            .key
            .iter()
            .map(|&i| dialect.quote(&plan.columns[i].name))
            .collect();
        let key_list = key.join(", ");
        let mut sql = format!(
            "SELECT {} FROM {}",
            select.join(", "),
            dialect.quote(&plan.name)
        );
        if after.is_some() {
            let marks: Vec<String> = plan
                .key
                .iter()
                .map(|&i| placeholder(backend, plan.columns[i].physical(side)))
                .collect();
            if key.len() == 1 {
                sql.push_str(&format!(" WHERE {key_list} > {}", marks.join(", ")));
            } else {
                sql.push_str(&format!(" WHERE ({key_list}) > ({})", marks.join(", ")));
            }
        }
        sql.push_str(&format!(" ORDER BY {key_list} LIMIT {limit}"));
        let sql = dialect.placeholders(&sql);
        let key_binds: Vec<(&Value, &Physical, Kind)> = match after {
            Some(values) => plan
                .key
                .iter()
                .zip(values)
                .map(|(&i, v)| (v, plan.columns[i].physical(side), plan.columns[i].kind))
                .collect(),
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(limit);
        match self {
            Link::Sqlite(conn) => {
                let mut args = SqliteArguments::default();
                for (value, _, kind) in &key_binds {
                    bind_sqlite(&mut args, value, *kind).map_err(|e| bind_error(plan, e))?;
                }
                for row in sqlx::query_with(&sql, args).fetch_all(&mut **conn).await? {
                    out.push(decode_sqlite(plan, &row)?);
                }
            }
            Link::Postgres(conn) => {
                let mut args = PgArguments::default();
                for (value, physical, _) in &key_binds {
                    bind_postgres(&mut args, value, physical).map_err(|e| bind_error(plan, e))?;
                }
                for row in sqlx::query_with(&sql, args).fetch_all(&mut **conn).await? {
                    out.push(decode_postgres(plan, side, &row)?);
                }
            }
            Link::MySql(conn) => {
                let mut args = MySqlArguments::default();
                for (value, physical, _) in &key_binds {
                    bind_mysql(&mut args, value, physical).map_err(|e| bind_error(plan, e))?;
                }
                for row in sqlx::query_with(&sql, args).fetch_all(&mut **conn).await? {
                    out.push(decode_mysql(plan, side, &row)?);
                }
            }
        }
        Ok(out)
    }

    /// Writes `rows` into the table with one multi-row `INSERT`; into a table the
    /// migrations seed, updates the seeded row with the same key instead.
    pub(crate) async fn write_rows(&mut self, plan: &TablePlan, rows: &[RowValues]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if plan.seeded {
            for row in rows {
                self.update_seeded(plan, row).await?;
            }
            return Ok(());
        }
        let backend = self.backend();
        let dialect = backend.dialect();
        let columns: Vec<String> = plan
            .columns
            .iter()
            .map(|c| dialect.quote(&c.name))
            .collect();
        let one = format!(
            "({})",
            plan.columns
                .iter()
                .map(|c| placeholder(backend, c.physical(Side::Target)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let sql = dialect.placeholders(&format!(
            "INSERT INTO {} ({}) VALUES {}",
            dialect.quote(&plan.name),
            columns.join(", "),
            vec![one; rows.len()].join(", ")
        ));
        let values = rows.iter().flat_map(|row| row.iter().zip(&plan.columns));
        self.run_with(plan, &sql, values).await
    }

    async fn update_seeded(&mut self, plan: &TablePlan, row: &RowValues) -> Result<()> {
        let backend = self.backend();
        let dialect = backend.dialect();
        let assign = |i: usize| {
            let c = &plan.columns[i];
            format!(
                "{} = {}",
                dialect.quote(&c.name),
                placeholder(backend, c.physical(Side::Target))
            )
        };
        let sets: Vec<String> = (0..plan.columns.len())
            .filter(|i| !plan.key.contains(i))
            .map(assign)
            .collect();
        let wheres: Vec<String> = plan.key.iter().map(|&i| assign(i)).collect();
        let sql = dialect.placeholders(&format!(
            "UPDATE {} SET {} WHERE {}",
            dialect.quote(&plan.name),
            sets.join(", "),
            wheres.join(" AND ")
        ));
        let order = (0..plan.columns.len())
            .filter(|i| !plan.key.contains(i))
            .chain(plan.key.iter().copied());
        let values: Vec<(&Value, &super::plan::ColumnPlan)> =
            order.map(|i| (&row[i], &plan.columns[i])).collect();
        self.run_with(plan, &sql, values.into_iter()).await
    }

    async fn run_with<'v>(
        &mut self,
        plan: &TablePlan,
        sql: &str,
        values: impl Iterator<Item = (&'v Value, &'v super::plan::ColumnPlan)>,
    ) -> Result<()> {
        match self {
            Link::Sqlite(conn) => {
                let mut args = SqliteArguments::default();
                for (value, column) in values {
                    bind_sqlite(&mut args, value, column.kind)
                        .map_err(|e| column_error(plan, &column.name, e))?;
                }
                sqlx::query_with(sql, args).execute(&mut **conn).await?;
            }
            Link::Postgres(conn) => {
                let mut args = PgArguments::default();
                for (value, column) in values {
                    bind_postgres(&mut args, value, column.physical(Side::Target))
                        .map_err(|e| column_error(plan, &column.name, e))?;
                }
                sqlx::query_with(sql, args).execute(&mut **conn).await?;
            }
            Link::MySql(conn) => {
                let mut args = MySqlArguments::default();
                for (value, column) in values {
                    bind_mysql(&mut args, value, column.physical(Side::Target))
                        .map_err(|e| column_error(plan, &column.name, e))?;
                }
                sqlx::query_with(sql, args).execute(&mut **conn).await?;
            }
        }
        Ok(())
    }
}

/// The placeholder of one value: `?`, or on PostgreSQL a cast from text for the types
/// exchanged as text (decimals, JSON).
fn placeholder(backend: Backend, physical: &Physical) -> String {
    match (backend, physical) {
        (Backend::Postgres, Physical::Decimal) => "CAST(? AS numeric)".to_owned(),
        (Backend::Postgres, Physical::Json(ty)) => format!("CAST(? AS {ty})"),
        _ => "?".to_owned(),
    }
}

/// Why a value could not be bound: never the value.
enum BindError {
    /// The value does not convert to the column's type.
    Mismatch(&'static str),
    /// The driver refused it.
    Driver(String),
}

fn bind_error(plan: &TablePlan, err: BindError) -> SqlError {
    column_error(plan, "its primary key", err)
}

fn column_error(plan: &TablePlan, column: &str, err: BindError) -> SqlError {
    match err {
        BindError::Mismatch(wanted) => SqlError::Copy(format!(
            "a value of {column} in table {} does not convert to {wanted} on the target",
            plan.name
        )),
        BindError::Driver(message) => SqlError::Copy(format!(
            "a value of {column} in table {} cannot be bound: {message}",
            plan.name
        )),
    }
}

fn driver(err: sqlx::error::BoxDynError) -> BindError {
    BindError::Driver(err.to_string())
}

/// SQLite keeps what it is given; times and dates go as datavern writes them there (see
/// `Dialect::time`, `Dialect::date`), so they sort and compare as the store expects.
fn bind_sqlite(
    args: &mut SqliteArguments<'_>,
    value: &Value,
    kind: Kind,
) -> std::result::Result<(), BindError> {
    let _ = kind;
    match value {
        Value::Null => args.add(Option::<i64>::None),
        Value::Int(n) => args.add(*n),
        Value::Bool(b) => args.add(*b),
        Value::Real(x) => args.add(*x),
        Value::Text(text) => args.add(text.clone()),
        Value::Bytes(bytes) => args.add(bytes.clone()),
        Value::Time(at) => {
            let at = at.to_offset_date_time();
            match sqlite_time_text(at) {
                Some(text) => args.add(text),
                None => args.add(at),
            }
        }
        Value::Date(date) => args.add(iso_date(*date)),
    }
    .map_err(driver)
}

fn bind_postgres(
    args: &mut PgArguments,
    value: &Value,
    physical: &Physical,
) -> std::result::Result<(), BindError> {
    use Physical as P;
    let null = matches!(value, Value::Null);
    match physical {
        P::Int16 => args.add(
            int(value)?
                .map(|n| i16::try_from(n).map_err(|_| BindError::Mismatch("smallint")))
                .transpose()?,
        ),
        P::Int32 => args.add(
            int(value)?
                .map(|n| i32::try_from(n).map_err(|_| BindError::Mismatch("integer")))
                .transpose()?,
        ),
        P::Int64 => args.add(int(value)?),
        P::Bool => args.add(boolean(value)?),
        P::Text | P::Decimal | P::Json(_) => args.add(text(value)?),
        P::Bytes => args.add(bytes(value)?),
        P::Uuid => args.add(match value {
            Value::Bytes(b) => {
                Some(uuid::Uuid::from_slice(b).map_err(|_| BindError::Mismatch("uuid"))?)
            }
            Value::Text(t) => {
                Some(uuid::Uuid::parse_str(t).map_err(|_| BindError::Mismatch("uuid"))?)
            }
            _ if null => None,
            _ => return Err(BindError::Mismatch("uuid")),
        }),
        P::TimeTz => args.add(time(value)?.map(At::to_offset_date_time)),
        P::TimeUtc => args.add(time(value)?.map(wall_utc)),
        P::Date => args.add(date(value)?),
        P::Real => args.add(real(value)?),
        P::Sqlite => return Err(BindError::Mismatch("a PostgreSQL type")),
    }
    .map_err(driver)
}

fn bind_mysql(
    args: &mut MySqlArguments,
    value: &Value,
    physical: &Physical,
) -> std::result::Result<(), BindError> {
    use Physical as P;
    match physical {
        P::Int16 | P::Int32 | P::Int64 | P::Bool => args.add(int(value)?),
        P::Text | P::Decimal | P::Json(_) => args.add(text(value)?),
        P::Bytes | P::Uuid => args.add(bytes(value)?),
        // The UTC wall time as a DATETIME (see `Dialect::time`).
        P::TimeTz | P::TimeUtc => args.add(time(value)?.map(wall_utc)),
        P::Date => args.add(date(value)?),
        P::Real => args.add(real(value)?),
        P::Sqlite => return Err(BindError::Mismatch("a MariaDB/MySQL type")),
    }
    .map_err(driver)
}

fn wall_utc(at: At) -> PrimitiveDateTime {
    let at = at.to_offset_date_time();
    PrimitiveDateTime::new(at.date(), at.time())
}

fn int(value: &Value) -> std::result::Result<Option<i64>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Int(n) => Ok(Some(*n)),
        Value::Bool(b) => Ok(Some(i64::from(*b))),
        _ => Err(BindError::Mismatch("an integer")),
    }
}

fn boolean(value: &Value) -> std::result::Result<Option<bool>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Int(n) => Ok(Some(*n != 0)),
        _ => Err(BindError::Mismatch("a boolean")),
    }
}

fn text(value: &Value) -> std::result::Result<Option<String>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Text(t) => Ok(Some(t.clone())),
        Value::Int(n) => Ok(Some(n.to_string())),
        Value::Time(at) => Ok(Some(at.to_string())),
        Value::Date(d) => Ok(Some(iso_date(*d))),
        _ => Err(BindError::Mismatch("text")),
    }
}

fn bytes(value: &Value) -> std::result::Result<Option<Vec<u8>>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(b) => Ok(Some(b.clone())),
        _ => Err(BindError::Mismatch("bytes")),
    }
}

fn time(value: &Value) -> std::result::Result<Option<At>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Time(at) => Ok(Some(*at)),
        _ => Err(BindError::Mismatch("a time")),
    }
}

fn date(value: &Value) -> std::result::Result<Option<time::Date>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Date(d) => Ok(Some(*d)),
        _ => Err(BindError::Mismatch("a date")),
    }
}

fn real(value: &Value) -> std::result::Result<Option<f64>, BindError> {
    match value {
        Value::Null => Ok(None),
        Value::Real(x) => Ok(Some(*x)),
        Value::Int(n) => Ok(Some(*n as f64)),
        _ => Err(BindError::Mismatch("a number")),
    }
}

fn conformed(plan: &TablePlan, index: usize, value: Value) -> Result<Value> {
    let column = &plan.columns[index];
    value.conform(column.kind).ok_or_else(|| {
        SqlError::Copy(format!(
            "a value of column {} in table {} does not read as {:?}",
            column.name, plan.name, column.kind
        ))
    })
}

fn decode_sqlite(plan: &TablePlan, row: &sqlx::sqlite::SqliteRow) -> Result<RowValues> {
    let mut out = Vec::with_capacity(plan.columns.len());
    for index in 0..plan.columns.len() {
        let raw = row.try_get_raw(index)?;
        let value = if raw.is_null() {
            Value::Null
        } else {
            let class = raw.type_info().to_string();
            match class.as_str() {
                "INTEGER" | "BIGINT" | "INT" => Value::Int(row.try_get_unchecked(index)?),
                "REAL" | "FLOAT" | "DOUBLE" => Value::Real(row.try_get_unchecked(index)?),
                "BLOB" => Value::Bytes(row.try_get_unchecked(index)?),
                _ => Value::Text(row.try_get_unchecked(index)?),
            }
        };
        out.push(conformed(plan, index, value)?);
    }
    Ok(out)
}

fn decode_postgres(plan: &TablePlan, side: Side, row: &sqlx::postgres::PgRow) -> Result<RowValues> {
    use Physical as P;
    let mut out = Vec::with_capacity(plan.columns.len());
    for (i, column) in plan.columns.iter().enumerate() {
        let value = match column.physical(side) {
            P::Int16 => opt(row.try_get::<Option<i16>, _>(i)?, |n| Value::Int(n.into())),
            P::Int32 => opt(row.try_get::<Option<i32>, _>(i)?, |n| Value::Int(n.into())),
            P::Int64 => opt(row.try_get::<Option<i64>, _>(i)?, Value::Int),
            P::Bool => opt(row.try_get::<Option<bool>, _>(i)?, Value::Bool),
            P::Text | P::Decimal | P::Json(_) => {
                opt(row.try_get::<Option<String>, _>(i)?, Value::Text)
            }
            P::Bytes => opt(row.try_get::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
            P::Uuid => opt(row.try_get::<Option<uuid::Uuid>, _>(i)?, |u| {
                Value::Bytes(u.as_bytes().to_vec())
            }),
            P::TimeTz => opt(row.try_get::<Option<OffsetDateTime>, _>(i)?, |t| {
                Value::Time(At::from(t))
            }),
            P::TimeUtc => opt(row.try_get::<Option<PrimitiveDateTime>, _>(i)?, |t| {
                Value::Time(At::from(t.assume_utc()))
            }),
            P::Date => opt(row.try_get::<Option<time::Date>, _>(i)?, Value::Date),
            P::Real => opt(row.try_get::<Option<f64>, _>(i)?, Value::Real),
            P::Sqlite => Value::Null,
        };
        out.push(conformed(plan, i, value)?);
    }
    Ok(out)
}

fn decode_mysql(plan: &TablePlan, side: Side, row: &sqlx::mysql::MySqlRow) -> Result<RowValues> {
    use Physical as P;
    let mut out = Vec::with_capacity(plan.columns.len());
    for (i, column) in plan.columns.iter().enumerate() {
        let value = match column.physical(side) {
            P::Int16 | P::Int32 | P::Int64 | P::Bool => {
                opt(row.try_get::<Option<i64>, _>(i)?, Value::Int)
            }
            P::Text | P::Decimal | P::Json(_) => {
                opt(row.try_get::<Option<Text>, _>(i)?, |t| Value::Text(t.0))
            }
            P::Bytes | P::Uuid => opt(row.try_get::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
            P::TimeTz | P::TimeUtc => opt(row.try_get::<Option<PrimitiveDateTime>, _>(i)?, |t| {
                Value::Time(At::from(t.assume_utc()))
            }),
            P::Date => opt(row.try_get::<Option<time::Date>, _>(i)?, Value::Date),
            P::Real => opt(row.try_get::<Option<f64>, _>(i)?, Value::Real),
            P::Sqlite => Value::Null,
        };
        out.push(conformed(plan, i, value)?);
    }
    Ok(out)
}

fn opt<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    value.map_or(Value::Null, f)
}
