//! Unique fields (catalog `unique: true`), enforced through the blind index.
//!
//! The value of an encrypted field is not in the database in a form a `UNIQUE` index could
//! compare, and its truncated blind index is shared by other values, so uniqueness is checked
//! by the writer, inside its write transaction:
//!
//! 1. **Claim** the value's blind index in `dv_unique_claims` with an upsert (`INSERT … ON
//!    CONFLICT DO UPDATE`, on MariaDB/MySQL `ON DUPLICATE KEY UPDATE`), which locks the claim
//!    row until the transaction ends: a second writer of a value with the same blind index
//!    waits here until the first commits or rolls back. Claims are taken in (field, index)
//!    order, so two writers never wait for each other in a cycle. On SQLite writers are one
//!    at a time anyway (`BEGIN IMMEDIATE`); the claim is taken all the same.
//! 2. **Compare**: read the tenant's records sharing the blind index (on PostgreSQL a new
//!    statement of a READ COMMITTED transaction, on MariaDB/MySQL a locking read `LOCK IN
//!    SHARE MODE`, so both see what the writer before committed), decrypt the field and
//!    compare the normalised forms. An exact match is [`RecordError::DuplicateValue`]
//!    (naming the field, never the value); a false positive of the truncated index is not.
//!
//! Claims hold a blind index and a time, never a value.

use datavern_core::catalog::Kommunenummer;
use datavern_core::record::FieldValue;
use datavern_sql::Conn;
use sea_query::{Alias, Expr, OnConflict, Query};
use uuid::Uuid;

use super::error::RecordError;
use super::read::{row_select, to_row};
use super::row;
use super::{Records, time_expr};
use crate::error::Result;
use crate::table::{Table, TableField};

/// The claim table.
const CLAIMS: &str = "dv_unique_claims";

/// A value a write gives a unique field.
pub(super) struct UniqueValue<'p> {
    /// The field.
    pub(super) field: &'p TableField,
    /// Its position in the plan's fields.
    position: usize,
    /// The record written (excluded from the comparison on an update).
    record: Uuid,
    /// The normalised form compared.
    form: String,
    /// Its blind index.
    index: Vec<u8>,
}

impl Records {
    /// The values `values` (of record `record`) give the collection's unique fields, with
    /// their normalised forms and blind indexes.
    pub(super) async fn unique_values<'p>(
        &self,
        tenant: Kommunenummer,
        plan: &'p Table,
        record: Uuid,
        values: &[(&'p TableField, &FieldValue)],
    ) -> Result<Vec<UniqueValue<'p>>> {
        let mut unique = Vec::new();
        for (field, value) in values {
            if !field.is_unique() {
                continue;
            }
            let Some(form) = field.index_form(value) else {
                continue;
            };
            let Some(position) = plan.fields.iter().position(|f| f.name == field.name) else {
                continue;
            };
            let key = self
                .inner
                .keys
                .index_key(tenant, plan.name(), &field.name, field.index_length)
                .await?;
            let index = key.compute(form.as_bytes()).as_bytes().to_vec();
            unique.push(UniqueValue {
                field,
                position,
                record,
                form,
                index,
            });
        }
        Ok(unique)
    }

    /// Claims every value's blind index and looks for another record of the tenant holding
    /// one of the values exactly (see the module docs); the first duplicate found, as the
    /// error that answers it and the record written. Also a duplicate within `values` itself (a batch giving two
    /// records one value).
    pub(super) async fn find_duplicate(
        &self,
        conn: &mut Conn<'_>,
        plan: &Table,
        tenant: Kommunenummer,
        values: &[UniqueValue<'_>],
    ) -> Result<Option<(RecordError, Uuid)>> {
        if values.is_empty() {
            return Ok(None);
        }
        let duplicate = |value: &UniqueValue<'_>| RecordError::DuplicateValue {
            collection: plan.name().to_owned(),
            field: value.field.name.clone(),
        };
        for (i, value) in values.iter().enumerate() {
            if values[..i]
                .iter()
                .any(|v| v.field.name == value.field.name && v.form == value.form)
            {
                return Ok(Some((duplicate(value), value.record)));
            }
        }
        let mut claims: Vec<(String, Vec<u8>)> = values
            .iter()
            .map(|v| (v.field.name.clone(), v.index.clone()))
            .collect();
        claims.sort_unstable();
        claims.dedup();
        let backend = conn.backend();
        let now = time_expr(backend, self.now());
        for (field, index) in claims {
            let claim = Query::insert()
                .into_table(Alias::new(CLAIMS))
                .columns(
                    ["tenant", "collection", "field", "blind_index", "claimed_at"].map(Alias::new),
                )
                .values_panic([
                    tenant.as_str().into(),
                    plan.name().into(),
                    field.into(),
                    index.into(),
                    now.clone(),
                ])
                .on_conflict(
                    OnConflict::columns(
                        ["tenant", "collection", "field", "blind_index"].map(Alias::new),
                    )
                    .update_column(Alias::new("claimed_at"))
                    .to_owned(),
                )
                .to_owned();
            conn.execute(&claim).await?;
        }
        let (select, kinds) = row_select(plan, backend, None);
        for value in values {
            let Some(index_column) = &value.field.blind_index else {
                continue;
            };
            let mut candidates = select.clone();
            candidates
                .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(Alias::new(index_column.as_str())).eq(value.index.clone()))
                .and_where(Expr::col(Alias::new("id")).ne(value.record));
            let rows = row::fetch_shared(conn, &candidates, &kinds).await?;
            for cells in rows {
                let row = to_row(plan, None, cells)?;
                let opened = self
                    .open_values(
                        tenant,
                        plan,
                        row.id,
                        &row.references,
                        &row.values,
                        |p, _| p == value.position,
                    )
                    .await?;
                let form = opened
                    .into_iter()
                    .next()
                    .and_then(|(field, stored)| field.index_form(&stored));
                if form.as_deref() == Some(value.form.as_str()) {
                    return Ok(Some((duplicate(value), value.record)));
                }
            }
        }
        Ok(None)
    }
}
