//! Rows of collection tables, read column by column on any backend.
//!
//! A collection table's columns depend on the catalog, so its rows cannot be a static
//! `FromRow` type: each column is selected with a [`ColumnKind`] and decoded into a
//! backend-independent [`Cell`].

use datavern_sql::{At, Backend, Conn, DecodeRow, Json, ReadLock, Text};
use sea_query::{Alias, SelectStatement};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::codec;
use crate::error::Result;

/// How a column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnKind {
    /// A UUID (record and subject ids).
    Uuid,
    /// Text.
    Text,
    /// Bytes (field envelopes).
    Bytes,
    /// A 64-bit integer.
    Integer,
    /// A boolean.
    Boolean,
    /// A `decimal` field: read as text and made canonical.
    Decimal,
    /// A `date` field.
    Date,
    /// A `timestamp` field.
    Timestamp,
    /// A `json` field.
    Json,
    /// datavern's own time columns (`created_at`, `updated_at`).
    Time,
}

/// One decoded column value.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    /// SQL `NULL`.
    Null,
    /// A UUID.
    Uuid(Uuid),
    /// Text (also decimals, in canonical form).
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// A date.
    Date(jiff::civil::Date),
    /// An instant.
    Timestamp(jiff::Timestamp),
    /// A JSON value.
    Json(serde_json::Value),
    /// datavern's own time column.
    Time(OffsetDateTime),
    /// A value that does not parse as its column's kind.
    Invalid,
}

/// Adds `column` to `select`, cast where the driver cannot decode the column's type directly
/// (decimals are read as text: sqlx's decimal types are not enabled).
pub(super) fn select_column(
    select: &mut SelectStatement,
    backend: Backend,
    column: &str,
    kind: ColumnKind,
) {
    match kind {
        ColumnKind::Decimal => backend.dialect().select_decimal_as_text(select, column),
        _ => {
            select.column(Alias::new(column));
        }
    }
}

/// Runs `select` and decodes every row's columns as `kinds` says (one kind per selected
/// column, in order).
pub(super) async fn fetch(
    conn: &mut Conn<'_>,
    select: &SelectStatement,
    kinds: &[ColumnKind],
) -> Result<Vec<Vec<Cell>>> {
    Ok(conn
        .fetch_decoded(select, ReadLock::None, &Kinds(kinds))
        .await?)
}

/// [`fetch`] as a locking read on MariaDB/MySQL ([`ReadLock::SharedOnMySql`]): the latest
/// committed rows rather than the transaction's snapshot. The same as `fetch` elsewhere.
pub(super) async fn fetch_shared(
    conn: &mut Conn<'_>,
    select: &SelectStatement,
    kinds: &[ColumnKind],
) -> Result<Vec<Vec<Cell>>> {
    Ok(conn
        .fetch_decoded(select, ReadLock::SharedOnMySql, &Kinds(kinds))
        .await?)
}

/// Decodes a row into one cell per kind.
struct Kinds<'a>(&'a [ColumnKind]);

impl Kinds<'_> {
    fn decode<R: CellRow>(&self, row: &R) -> Result<Vec<Cell>, sqlx::Error> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, kind)| row.cell(i, *kind))
            .collect()
    }
}

// The store decodes collection rows with sqlx's row types: their columns are known only at
// run time, so they cannot be a static `FromRow` type (see `.ci/check-sql-boundary`).
impl DecodeRow for Kinds<'_> {
    type Row = Vec<Cell>;

    fn sqlite(&self, row: &sqlx::sqlite::SqliteRow) -> Result<Vec<Cell>, sqlx::Error> {
        self.decode(row)
    }

    fn postgres(&self, row: &sqlx::postgres::PgRow) -> Result<Vec<Cell>, sqlx::Error> {
        self.decode(row)
    }

    fn mysql(&self, row: &sqlx::mysql::MySqlRow) -> Result<Vec<Cell>, sqlx::Error> {
        self.decode(row)
    }
}

/// Decoding one column of a backend's row.
trait CellRow {
    fn cell(&self, index: usize, kind: ColumnKind) -> Result<Cell, sqlx::Error>;
}

fn or_null<T>(value: Option<T>, cell: impl FnOnce(T) -> Cell) -> Cell {
    value.map_or(Cell::Null, cell)
}

/// The kinds every backend decodes the same way; `$date` and `$timestamp` decode the rest.
macro_rules! cell_row {
    ($row:ty, $date:expr, $timestamp:expr) => {
        impl CellRow for $row {
            fn cell(&self, i: usize, kind: ColumnKind) -> Result<Cell, sqlx::Error> {
                Ok(match kind {
                    ColumnKind::Uuid => or_null(self.try_get::<Option<Uuid>, _>(i)?, Cell::Uuid),
                    ColumnKind::Text => {
                        or_null(self.try_get::<Option<Text>, _>(i)?, |t| Cell::Text(t.0))
                    }
                    ColumnKind::Bytes => {
                        or_null(self.try_get::<Option<Vec<u8>>, _>(i)?, Cell::Bytes)
                    }
                    ColumnKind::Integer => {
                        or_null(self.try_get::<Option<i64>, _>(i)?, Cell::Integer)
                    }
                    ColumnKind::Boolean => {
                        or_null(self.try_get::<Option<bool>, _>(i)?, Cell::Boolean)
                    }
                    ColumnKind::Decimal => or_null(self.try_get::<Option<Text>, _>(i)?, |t| {
                        codec::canonical_decimal(&t.0).map_or(Cell::Invalid, Cell::Text)
                    }),
                    ColumnKind::Json => or_null(
                        self.try_get::<Option<Json<serde_json::Value>>, _>(i)?,
                        |j| Cell::Json(j.0),
                    ),
                    ColumnKind::Time => {
                        or_null(self.try_get::<Option<At>, _>(i)?, |t| Cell::Time(t.into()))
                    }
                    ColumnKind::Date => $date(self, i)?,
                    ColumnKind::Timestamp => $timestamp(self, i)?,
                })
            }
        }
    };
}

/// PostgreSQL and MariaDB/MySQL: native `date` and time types.
fn native_date<R>(row: &R, i: usize) -> Result<Cell, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<time::Date>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(or_null(row.try_get::<Option<time::Date>, _>(i)?, |d| {
        datavern_sql::to_civil_date(d).map_or(Cell::Invalid, Cell::Date)
    }))
}

fn native_timestamp<R>(row: &R, i: usize) -> Result<Cell, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<At>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(or_null(row.try_get::<Option<At>, _>(i)?, |t| {
        t.to_timestamp().map_or(Cell::Invalid, Cell::Timestamp)
    }))
}

/// SQLite: dates and timestamps are text (`YYYY-MM-DD`, RFC 3339 UTC).
fn text_date(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Cell, sqlx::Error> {
    Ok(or_null(row.try_get::<Option<String>, _>(i)?, |t| {
        t.parse().map_or(Cell::Invalid, Cell::Date)
    }))
}

fn text_timestamp(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Cell, sqlx::Error> {
    Ok(or_null(row.try_get::<Option<String>, _>(i)?, |t| {
        t.parse().map_or(Cell::Invalid, Cell::Timestamp)
    }))
}

cell_row!(sqlx::sqlite::SqliteRow, text_date, text_timestamp);
cell_row!(sqlx::postgres::PgRow, native_date, native_timestamp);
cell_row!(sqlx::mysql::MySqlRow, native_date, native_timestamp);
