//! DDL for collection tables, per dialect, built with sea-query.

use datavern_core::catalog::{Catalog, FieldType};
use datavern_sql::{Backend, SqlType};
use sea_query::{Alias, ColumnDef, Index, IndexCreateStatement, Table};

use super::names::{self, TENANT_POLICY, checked};
use super::{Column, ColumnRole, TableDescription, describe};
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
    let dialect = backend.dialect();
    let name = checked(&table.table)?;
    let mut create = Table::create();
    create.table(Alias::new(name)).if_not_exists();
    for column in &table.columns {
        let mut def = ColumnDef::new_with_type(
            Alias::new(checked(&column.name)?),
            dialect.column_type(column_type(&column.role)?),
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

    let mut statements = dialect.create_table(create, indexes);
    statements.extend(dialect.row_level_security(name, TENANT_POLICY, TENANT_SETTING));
    Ok(statements)
}

/// The statement that adds `column` (nullable, as every field and blind-index column is) to
/// `table` on `backend`: what a catalog migration's expand phase runs for a new field, a new
/// blind index or the next shape of a field.
pub fn add_column_statement(table: &str, column: &Column, backend: Backend) -> Result<String> {
    let dialect = backend.dialect();
    let mut def = ColumnDef::new_with_type(
        Alias::new(checked(&column.name)?),
        dialect.column_type(column_type(&column.role)?),
    );
    def.null();
    Ok(dialect.build_schema(
        Table::alter()
            .table(Alias::new(checked(table)?))
            .add_column(&mut def),
    ))
}

/// The statement that drops `column` from `table` on `backend`.
pub fn drop_column_statement(table: &str, column: &str, backend: Backend) -> Result<String> {
    Ok(backend.dialect().build_schema(
        Table::alter()
            .table(Alias::new(checked(table)?))
            .drop_column(Alias::new(checked(column)?)),
    ))
}

/// The statement that renames `from` to `to` in `table` on `backend`.
pub fn rename_column_statement(
    table: &str,
    from: &str,
    to: &str,
    backend: Backend,
) -> Result<String> {
    Ok(backend.dialect().build_schema(
        Table::alter()
            .table(Alias::new(checked(table)?))
            .rename_column(Alias::new(checked(from)?), Alias::new(checked(to)?)),
    ))
}

/// The statement that drops `table` on `backend`, if it exists.
pub fn drop_table_statement(table: &str, backend: Backend) -> Result<String> {
    Ok(backend
        .dialect()
        .build_schema(Table::drop().table(Alias::new(checked(table)?)).if_exists()))
}

/// The bytes a MariaDB blind-index column holds (`varbinary(32)`): every length a catalog may
/// declare fits (PostgreSQL's `bytea` and SQLite's `blob` hold any), so a field's length is
/// the index values', not the column's.
const BLIND_INDEX_COLUMN_BYTES: u32 = 32;
const _: () = assert!(datavern_core::catalog::MAX_BLIND_INDEX_LENGTH <= 32);

/// What a column of `role` holds.
fn column_type(role: &ColumnRole) -> Result<SqlType> {
    Ok(match role {
        ColumnRole::Id | ColumnRole::Subject { .. } => SqlType::Uuid,
        ColumnRole::Tenant => SqlType::Code(4),
        ColumnRole::Field {
            encrypted: true, ..
        } => SqlType::Bytes,
        ColumnRole::BlindIndex { .. } => SqlType::ShortBytes(BLIND_INDEX_COLUMN_BYTES),
        ColumnRole::Field {
            field_type,
            encrypted: false,
            field,
        } => plain_type(field, field_type)?,
        ColumnRole::CreatedAt | ColumnRole::UpdatedAt => SqlType::Timestamp,
        ColumnRole::Version => SqlType::BigInt,
        ColumnRole::Restricted => SqlType::Boolean,
    })
}

/// What a plaintext field of catalog type `field_type` holds.
fn plain_type(field: &str, field_type: &str) -> Result<SqlType> {
    let Ok(field_type) = field_type.parse::<FieldType>() else {
        return Err(StoreError::Config(format!(
            "field \"{field}\" has unknown type \"{}\"",
            field_type.escape_default()
        )));
    };
    let (precision, scale) = DECIMAL_PRECISION;
    Ok(match field_type {
        FieldType::String => SqlType::String(STRING_MAX_CHARS),
        FieldType::Text => SqlType::Text,
        FieldType::Integer => SqlType::BigInt,
        FieldType::Decimal => SqlType::Decimal { precision, scale },
        FieldType::Boolean => SqlType::Boolean,
        FieldType::Date => SqlType::Date,
        FieldType::Timestamp => SqlType::Timestamp,
        FieldType::Json => SqlType::Json,
    })
}
