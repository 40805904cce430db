//! What the copy needs to know of a table on either side: its columns with their declared
//! types, its primary key, its identity columns, and the references between tables.

use sqlx::Row;

use super::link::Link;
use super::value::Physical;
use crate::conn::Text;
use crate::error::{Result, SqlError};

/// The table's OID from its name in the current schema (PostgreSQL).
const REGCLASS: &str = "(quote_ident(current_schema()) || '.' || quote_ident($1))::regclass";

/// One table as one side has it.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// Its columns and their declared types, in the table's order.
    pub(crate) columns: Vec<(String, Physical)>,
    /// The primary key's columns, in key order.
    pub(crate) key: Vec<String>,
    /// Columns whose values an identity sequence gives (PostgreSQL), to be moved past the
    /// copied ids.
    pub(crate) identities: Vec<String>,
}

impl Link {
    /// The names of the tables of the database (or of its current schema), sorted.
    pub(crate) async fn table_names(&mut self) -> Result<Vec<String>> {
        let query = self.dialect().tables_query();
        let mut names: Vec<String> = match self {
            Link::Sqlite(conn) => sqlx::query_scalar(query).fetch_all(&mut **conn).await?,
            Link::Postgres(conn) => sqlx::query_scalar(query).fetch_all(&mut **conn).await?,
            Link::MySql(conn) => {
                let names: Vec<Text> = sqlx::query_scalar(query).fetch_all(&mut **conn).await?;
                names.into_iter().map(|t| t.0).collect()
            }
        };
        names.sort();
        Ok(names)
    }

    /// `(table, referenced table)` for every foreign key.
    pub(crate) async fn references(&mut self) -> Result<Vec<(String, String)>> {
        Ok(match self {
            Link::Sqlite(conn) => {
                sqlx::query_as(
                    "SELECT m.name, p.\"table\" FROM sqlite_master m \
                 JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'",
                )
                .fetch_all(&mut **conn)
                .await?
            }
            Link::Postgres(conn) => {
                sqlx::query_as(
                    "SELECT a.relname::text, b.relname::text FROM pg_constraint c \
                 JOIN pg_class a ON a.oid = c.conrelid JOIN pg_class b ON b.oid = c.confrelid \
                 JOIN pg_namespace n ON n.oid = a.relnamespace \
                 WHERE c.contype = 'f' AND n.nspname = current_schema()",
                )
                .fetch_all(&mut **conn)
                .await?
            }
            Link::MySql(conn) => {
                let edges: Vec<(Text, Text)> = sqlx::query_as(
                    "SELECT CAST(table_name AS CHAR), CAST(referenced_table_name AS CHAR) \
                     FROM information_schema.referential_constraints \
                     WHERE constraint_schema = DATABASE()",
                )
                .fetch_all(&mut **conn)
                .await?;
                edges.into_iter().map(|(a, b)| (a.0, b.0)).collect()
            }
        })
    }

    /// The table's columns, key and identities.
    pub(crate) async fn shape(&mut self, table: &str) -> Result<Shape> {
        let shape = match self {
            Link::Sqlite(conn) => {
                let rows = sqlx::query("SELECT name, pk FROM pragma_table_info(?1)")
                    .bind(table)
                    .fetch_all(&mut **conn)
                    .await?;
                let mut key: Vec<(i64, String)> = Vec::new();
                let mut columns = Vec::with_capacity(rows.len());
                for row in rows {
                    let name: String = row.try_get(0)?;
                    let pk: i64 = row.try_get(1)?;
                    if pk > 0 {
                        key.push((pk, name.clone()));
                    }
                    columns.push((name, Physical::Sqlite));
                }
                key.sort();
                Shape {
                    columns,
                    key: key.into_iter().map(|(_, name)| name).collect(),
                    identities: Vec::new(),
                }
            }
            Link::Postgres(conn) => {
                let rows: Vec<(String, String, bool)> = sqlx::query_as(&format!(
                    "SELECT a.attname::text, t.typname::text, a.attidentity <> '' \
                     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                     WHERE a.attrelid = {REGCLASS} AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum"
                ))
                .bind(table)
                .fetch_all(&mut **conn)
                .await?;
                let key: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT a.attname::text FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = {REGCLASS} AND i.indisprimary \
                     ORDER BY array_position(i.indkey::int2[], a.attnum)"
                ))
                .bind(table)
                .fetch_all(&mut **conn)
                .await?;
                let mut columns = Vec::with_capacity(rows.len());
                let mut identities = Vec::new();
                for (name, ty, identity) in rows {
                    columns.push((name.clone(), postgres_type(table, &name, &ty)?));
                    if identity {
                        identities.push(name);
                    }
                }
                Shape {
                    columns,
                    key,
                    identities,
                }
            }
            Link::MySql(conn) => {
                let rows: Vec<(Text, Text)> = sqlx::query_as(
                    "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) \
                     FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = ? \
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(&mut **conn)
                .await?;
                let key: Vec<Text> = sqlx::query_scalar(
                    "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
                     WHERE table_schema = DATABASE() AND table_name = ? \
                     AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(&mut **conn)
                .await?;
                let mut columns = Vec::with_capacity(rows.len());
                for (name, ty) in rows {
                    let physical = mysql_type(table, &name.0, &ty.0)?;
                    columns.push((name.0, physical));
                }
                Shape {
                    columns,
                    key: key.into_iter().map(|t| t.0).collect(),
                    identities: Vec::new(),
                }
            }
        };
        if shape.columns.is_empty() {
            return Err(SqlError::Copy(format!("table {table} has no columns")));
        }
        Ok(shape)
    }

    /// How many rows `table` holds (in the snapshot, on the source).
    pub(crate) async fn count(&mut self, table: &str) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.dialect().quote(table));
        let n: i64 = match self {
            Link::Sqlite(conn) => sqlx::query_scalar(&sql).fetch_one(&mut **conn).await?,
            Link::Postgres(conn) => sqlx::query_scalar(&sql).fetch_one(&mut **conn).await?,
            Link::MySql(conn) => sqlx::query_scalar(&sql).fetch_one(&mut **conn).await?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Moves every identity column's sequence of `table` past the largest id copied, so the
    /// next insert does not collide with a copied row (PostgreSQL; MariaDB/MySQL and SQLite
    /// move their counters past explicitly inserted ids by themselves).
    pub(crate) async fn advance_identities(
        &mut self,
        table: &str,
        identities: &[String],
    ) -> Result<()> {
        let Link::Postgres(conn) = self else {
            return Ok(());
        };
        let dialect = crate::backend::Backend::Postgres.dialect();
        for column in identities {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), m) \
                 FROM (SELECT max({}) AS m FROM {}) x WHERE m IS NOT NULL",
                dialect.quote(column),
                dialect.quote(table)
            ))
            .bind(dialect.quote(table))
            .bind(column)
            .execute(&mut **conn)
            .await?;
        }
        Ok(())
    }
}

fn unknown_type(table: &str, column: &str, ty: &str) -> SqlError {
    SqlError::Copy(format!(
        "column {column} of table {table} has type {ty}, which the copy does not know how to \
         carry between backends"
    ))
}

/// A PostgreSQL column type (`pg_type.typname`).
fn postgres_type(table: &str, column: &str, ty: &str) -> Result<Physical> {
    Ok(match ty {
        "int2" => Physical::Int16,
        "int4" => Physical::Int32,
        "int8" => Physical::Int64,
        "bool" => Physical::Bool,
        "text" | "varchar" | "bpchar" | "name" => Physical::Text,
        "bytea" => Physical::Bytes,
        "uuid" => Physical::Uuid,
        "timestamptz" => Physical::TimeTz,
        "timestamp" => Physical::TimeUtc,
        "date" => Physical::Date,
        "numeric" => Physical::Decimal,
        "json" => Physical::Json("json"),
        "jsonb" => Physical::Json("jsonb"),
        "float4" | "float8" => Physical::Real,
        other => return Err(unknown_type(table, column, other)),
    })
}

/// A MariaDB/MySQL column type (`information_schema.columns.data_type`; MariaDB reports
/// its `JSON` columns as `longtext`).
fn mysql_type(table: &str, column: &str, ty: &str) -> Result<Physical> {
    Ok(match ty.to_ascii_lowercase().as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Physical::Int64,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => {
            Physical::Text
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Physical::Bytes,
        "datetime" | "timestamp" => Physical::TimeUtc,
        "date" => Physical::Date,
        "decimal" | "numeric" => Physical::Decimal,
        "json" => Physical::Json("json"),
        "float" | "double" | "real" => Physical::Real,
        other => return Err(unknown_type(table, column, other)),
    })
}
