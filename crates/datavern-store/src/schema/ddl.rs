//! DDL for collection tables, per dialect, built with sea-query.

use datavern_core::catalog::{Catalog, FieldType};
use datavern_sql::Backend;
use sea_query::{
    Alias, ColumnDef, ColumnType, Index, IndexCreateStatement, MysqlQueryBuilder,
    PostgresQueryBuilder, SqliteQueryBuilder, StringLen, Table, TableCreateStatement,
};

use super::names::{self, TENANT_POLICY, checked};
use super::{ColumnRole, TableDescription, describe};
use crate::error::{Result, StoreError};

/// The longest `string` value in characters (`VARCHAR(255)` on PostgreSQL and MySQL).
pub const STRING_MAX_CHARS: u32 = 255;
/// The `decimal` type's precision and scale (`DECIMAL(38, 10)`; text on SQLite).
pub const DECIMAL_PRECISION: (u32, u32) = (38, 10);
/// The PostgreSQL setting that row-level security compares `tenant` with; the service sets
/// it per transaction with `SELECT set_config('datavern.tenant', $1, true)`.
pub const TENANT_SETTING: &str = "datavern.tenant";

/// Every statement that creates the tables of `catalog`'s collections on `backend`, in
/// catalog order. Idempotent (`IF NOT EXISTS`); what `apply_catalog` runs for new
/// collections.
pub fn catalog_statements(catalog: &Catalog, backend: Backend) -> Result<Vec<String>> {
    let mut statements = Vec::new();
    for collection in catalog.collections() {
        statements.extend(create_statements(&describe(collection), backend)?);
    }
    Ok(statements)
}

/// The statements that create `table` on `backend`: the table, an index on `(tenant, c)` for
/// the id, each subject column and each blind index, and on PostgreSQL row-level security
/// by tenant.
///
/// Fails if an identifier or type in the description is not one datavern generates (it may
/// have been read back from the database).
pub fn create_statements(table: &TableDescription, backend: Backend) -> Result<Vec<String>> {
    let name = checked(&table.table)?;
    let mut create = Table::create();
    create.table(Alias::new(name)).if_not_exists();
    for column in &table.columns {
        let mut def = ColumnDef::new_with_type(
            Alias::new(checked(&column.name)?),
            column_type(backend, &column.role)?,
        );
        if !column.nullable {
            def.not_null();
        }
        match column.role {
            ColumnRole::Id => {
                def.primary_key();
            }
            ColumnRole::Version => {
                def.default(1);
            }
            ColumnRole::Restricted => {
                def.default(false);
            }
            _ => {}
        }
        create.col(&mut def);
    }
    let indexes: Vec<IndexCreateStatement> = table
        .indexed_columns()
        .map(|column| {
            let mut index = Index::create();
            index
                .name(names::index_name(name, &column.name))
                .table(Alias::new(name))
                .col(Alias::new("tenant"))
                .col(Alias::new(column.name.as_str()));
            index
        })
        .collect();

    let mut statements = Vec::new();
    match backend {
        Backend::MySql => {
            // MySQL has no CREATE INDEX IF NOT EXISTS; indexes go inside the idempotent
            // CREATE TABLE instead.
            for mut index in indexes {
                create.index(&mut index);
            }
            mysql_options(&mut create);
            statements.push(create.to_string(MysqlQueryBuilder));
        }
        Backend::Postgres => {
            statements.push(create.to_string(PostgresQueryBuilder));
            for mut index in indexes {
                statements.push(index.if_not_exists().to_string(PostgresQueryBuilder));
            }
            statements.extend(row_level_security(name));
        }
        Backend::Sqlite => {
            statements.push(create.to_string(SqliteQueryBuilder));
            for mut index in indexes {
                statements.push(index.if_not_exists().to_string(SqliteQueryBuilder));
            }
        }
    }
    Ok(statements)
}

/// InnoDB, utf8mb4 and a binary collation, so that text compares exactly as on PostgreSQL and
/// SQLite.
fn mysql_options(create: &mut TableCreateStatement) {
    create
        .engine("InnoDB")
        .character_set("utf8mb4")
        .collate("utf8mb4_bin");
}

/// PostgreSQL row-level security: rows are visible and writable only where `tenant` equals
/// the transaction's `datavern.tenant` setting (unset: nothing). FORCE makes it hold for the
/// table's owner too; superusers and BYPASSRLS roles are never subject to it. sea-query has
/// no statements for policies; `table` is a checked identifier.
fn row_level_security(table: &str) -> Vec<String> {
    let condition = format!("tenant = current_setting('{TENANT_SETTING}', true)");
    vec![
        format!(r#"ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY"#),
        format!(r#"ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY"#),
        format!(r#"DROP POLICY IF EXISTS "{TENANT_POLICY}" ON "{table}""#),
        format!(
            r#"CREATE POLICY "{TENANT_POLICY}" ON "{table}" USING ({condition}) WITH CHECK ({condition})"#
        ),
    ]
}

/// The bytes a MariaDB blind-index column holds (`varbinary(32)`): every length a catalog may
/// declare fits (PostgreSQL's `bytea` and SQLite's `blob` hold any), so a field's length is
/// the index values', not the column's.
const BLIND_INDEX_COLUMN_BYTES: u32 = 32;
const _: () = assert!(datavern_core::catalog::MAX_BLIND_INDEX_LENGTH <= 32);

/// The column type of `role` on `backend`.
fn column_type(backend: Backend, role: &ColumnRole) -> Result<ColumnType> {
    use Backend::{MySql, Postgres, Sqlite};
    let custom = ColumnType::custom;
    let ty = match (role, backend) {
        (ColumnRole::Id | ColumnRole::Subject { .. }, Postgres | MySql) => ColumnType::Uuid,
        (ColumnRole::Id | ColumnRole::Subject { .. }, Sqlite) => custom("blob"),
        // PostgreSQL: varchar, not char: `char_column = $1::text` casts the column and cannot
        // use its index.
        (ColumnRole::Tenant, Postgres) => ColumnType::String(StringLen::N(4)),
        (ColumnRole::Tenant, MySql) => ColumnType::Char(Some(4)),
        (ColumnRole::Tenant, Sqlite) => custom("text"),
        (
            ColumnRole::Field {
                encrypted: true, ..
            },
            Postgres,
        )
        | (ColumnRole::BlindIndex { .. }, Postgres) => ColumnType::Blob,
        (
            ColumnRole::Field {
                encrypted: true, ..
            },
            MySql,
        ) => custom("longblob"),
        (ColumnRole::BlindIndex { .. }, MySql) => {
            ColumnType::VarBinary(StringLen::N(BLIND_INDEX_COLUMN_BYTES))
        }
        (
            ColumnRole::Field {
                encrypted: true, ..
            }
            | ColumnRole::BlindIndex { .. },
            Sqlite,
        ) => custom("blob"),
        (
            ColumnRole::Field {
                field_type,
                encrypted: false,
                field,
            },
            _,
        ) => plain_type(backend, field, field_type)?,
        (ColumnRole::CreatedAt | ColumnRole::UpdatedAt, Postgres) => {
            ColumnType::TimestampWithTimeZone
        }
        (ColumnRole::CreatedAt | ColumnRole::UpdatedAt, MySql) => custom("datetime(6)"),
        (ColumnRole::CreatedAt | ColumnRole::UpdatedAt, Sqlite) => custom("text"),
        (ColumnRole::Version, Postgres | MySql) => ColumnType::BigInteger,
        (ColumnRole::Version, Sqlite) => custom("integer"),
        (ColumnRole::Restricted, _) => ColumnType::Boolean,
    };
    Ok(ty)
}

/// The column type of a plaintext field of catalog type `field_type`.
fn plain_type(backend: Backend, field: &str, field_type: &str) -> Result<ColumnType> {
    use Backend::{MySql, Postgres, Sqlite};
    let custom = ColumnType::custom;
    let Ok(field_type) = field_type.parse::<FieldType>() else {
        return Err(StoreError::Config(format!(
            "field \"{field}\" has unknown type \"{}\"",
            field_type.escape_default()
        )));
    };
    let (precision, scale) = DECIMAL_PRECISION;
    Ok(match (field_type, backend) {
        (FieldType::String, Postgres | MySql) => ColumnType::String(StringLen::N(STRING_MAX_CHARS)),
        (FieldType::Text, MySql) => custom("mediumtext"),
        (FieldType::Text, Postgres) => ColumnType::Text,
        (FieldType::Integer, Postgres | MySql) => ColumnType::BigInteger,
        (FieldType::Integer, Sqlite) => custom("integer"),
        (FieldType::Decimal, Postgres | MySql) => ColumnType::Decimal(Some((precision, scale))),
        (FieldType::Boolean, _) => ColumnType::Boolean,
        (FieldType::Date, Postgres | MySql) => ColumnType::Date,
        (FieldType::Timestamp, Postgres) => ColumnType::TimestampWithTimeZone,
        (FieldType::Timestamp, MySql) => custom("datetime(6)"),
        (FieldType::Json, Postgres) => ColumnType::JsonBinary,
        (FieldType::Json, MySql) => ColumnType::Json,
        // SQLite: exact decimals, dates, times and JSON are text (TEXT affinity keeps a
        // decimal's digits as written; NUMERIC affinity would round it through a double).
        (
            FieldType::String
            | FieldType::Text
            | FieldType::Decimal
            | FieldType::Date
            | FieldType::Timestamp
            | FieldType::Json,
            Sqlite,
        ) => custom("text"),
    })
}
