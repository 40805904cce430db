//! What the data subject rights (`crate::rights`) need from the record internals: each
//! collection's table layout, rows read with their restriction flag inside a caller's
//! transaction, decryption of stored envelopes, and sealing of corrected values.
//!
//! The rights work on whole sets of rows (every record of a subject in a collection, in one
//! statement), which the grant-based record operations do not offer; this module gives them
//! the pieces without widening the record operations' own API.

use datavern_core::catalog::Kommunenummer;
use datavern_core::record::FieldValue;
use datavern_crypto::{FieldContext, Zeroizing, encrypt_field_padded};
use datavern_sql::Conn;
use sea_query::{Alias, SimpleExpr};
use time::OffsetDateTime;
use uuid::Uuid;

use super::codec;
use super::plan::{CollectionPlan, KeyOwner, catalog_field};
use super::read::{Stored, row_select, to_row};
use super::row::{self, Cell, ColumnKind};
use super::{RecordError, Records};
use crate::error::Result;
use crate::schema::RESTRICTED_COLUMN;

/// One collection's table as the rights see it.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    /// The collection.
    pub(crate) collection: String,
    /// Its table.
    pub(crate) table: String,
    /// Whose key seals the encrypted fields.
    pub(crate) owner: Owner,
    /// The subject references, primary first.
    pub(crate) references: Vec<ReferenceInfo>,
    /// The fields, in catalog order.
    pub(crate) fields: Vec<FieldInfo>,
}

/// Whose data key seals a record's encrypted fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// `subjects: self`: the record is the person.
    Record,
    /// The primary subject reference.
    PrimaryReference,
    /// `subjects: none`.
    OwnKey,
}

/// A subject reference of a table.
#[derive(Debug, Clone)]
pub(crate) struct ReferenceInfo {
    /// The reference's name (`foresatt1`).
    pub(crate) name: String,
    /// Its field (`foresatt1_id`).
    pub(crate) field: String,
    /// Its subject column (`dv_subject`, `dv_subject_foresatt1`).
    pub(crate) column: String,
    /// Whether it is the primary subject.
    pub(crate) primary: bool,
}

/// A field's column.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    /// The field's name (also its column's).
    pub(crate) name: String,
    /// Whether the column holds an envelope.
    pub(crate) encrypted: bool,
    /// Its blind-index column, if searchable.
    pub(crate) blind_index: Option<String>,
}

/// A row as stored, with its restriction flag.
pub(crate) struct RawRow {
    /// The record id.
    pub(crate) id: Uuid,
    /// Its version.
    pub(crate) version: i64,
    /// Created.
    pub(crate) created_at: OffsetDateTime,
    /// Last changed.
    pub(crate) updated_at: OffsetDateTime,
    /// The subject ids, per reference of [`TableInfo::references`].
    pub(crate) references: Vec<Option<Uuid>>,
    /// Whether processing is restricted.
    pub(crate) restricted: bool,
    /// Per field: stored or not (`None` for SQL NULL), without decrypting.
    stored: Vec<Stored>,
}

impl RawRow {
    /// The key owner of the row's envelopes, if it has one.
    pub(crate) fn key_owner(&self, table: &TableInfo) -> Option<Uuid> {
        match table.owner {
            Owner::Record | Owner::OwnKey => Some(self.id),
            Owner::PrimaryReference => self.references.first().copied().flatten(),
        }
    }
}

impl Records {
    /// The tables of every collection, in catalog order.
    pub(crate) fn tables(&self) -> Vec<TableInfo> {
        self.inner
            .catalog
            .collections()
            .iter()
            .filter_map(|c| self.table(c.name().as_str()))
            .collect()
    }

    /// The table of `collection`.
    pub(crate) fn table(&self, collection: &str) -> Option<TableInfo> {
        let plan = self.inner.plans.get(collection)?;
        Some(TableInfo {
            collection: plan.name.clone(),
            table: plan.table.clone(),
            owner: match plan.key_owner {
                KeyOwner::Record => Owner::Record,
                KeyOwner::PrimaryReference => Owner::PrimaryReference,
                KeyOwner::OwnKey => Owner::OwnKey,
            },
            references: plan
                .references
                .iter()
                .map(|r| ReferenceInfo {
                    name: r.name.clone(),
                    field: r.field.clone(),
                    column: r.column.clone(),
                    primary: r.primary,
                })
                .collect(),
            fields: plan
                .fields
                .iter()
                .map(|f| FieldInfo {
                    name: f.name.clone(),
                    encrypted: f.encrypted,
                    blind_index: f.blind_index.clone(),
                })
                .collect(),
        })
    }

    /// The rows of `collection` in `tenant` that `filter` selects, read in the caller's
    /// transaction (locked for update with `lock`). One statement.
    pub(crate) async fn raw_rows(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        filter: SimpleExpr,
        lock: bool,
    ) -> Result<Vec<RawRow>> {
        let plan = self.plan_of(collection)?;
        let (mut select, mut kinds) = row_select(plan, conn.backend(), None);
        row::select_column(
            &mut select,
            conn.backend(),
            RESTRICTED_COLUMN,
            ColumnKind::Boolean,
        );
        kinds.push(ColumnKind::Boolean);
        select
            .and_where(sea_query::Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
            .and_where(filter);
        if lock {
            select.lock(sea_query::LockType::Update);
        }
        let mut rows = Vec::new();
        for mut cells in row::fetch(conn, &select, &kinds).await? {
            let restricted = match cells.pop() {
                Some(Cell::Boolean(b)) => b,
                Some(Cell::Integer(i)) => i != 0,
                _ => false,
            };
            let row = to_row(plan, None, cells)?;
            rows.push(RawRow {
                id: row.id,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
                references: row.references,
                restricted,
                stored: row.values,
            });
        }
        Ok(rows)
    }

    /// What a data subject request must do before it changes `row` of `collection`
    /// (rectification), in its own transaction: refuse if an active legal hold covers the
    /// row (read in that transaction, as for an ordinary update), and under archive duty
    /// keep the version it replaces in `dv_record_versions`.
    pub(crate) async fn before_correction(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        row: &RawRow,
        principal: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let plan = self.plan_of(collection)?;
        let mut subjects: Vec<Uuid> = row.references.iter().flatten().copied().collect();
        if plan.key_owner == super::plan::KeyOwner::Record {
            subjects.push(row.id);
        }
        if let Some(held) = super::write::held(conn, plan, tenant, row.id, &subjects, now).await? {
            return Err(held.into());
        }
        if super::write::archive_duty(self, plan).is_some() {
            let kept = super::history::Kept {
                id: row.id,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
                references: &row.references,
                values: &row.stored,
            };
            super::history::keep_parts(conn, plan, tenant, principal, kept, now).await?;
        }
        Ok(())
    }

    /// Loads the keys of `owners` (one key store query and one KEK call for those not
    /// cached), before decrypting many rows.
    pub(crate) async fn preload_keys(&self, tenant: Kommunenummer, owners: &[Uuid]) -> Result<()> {
        self.inner.keys.preload(tenant, owners).await
    }

    /// The values of the fields `wanted` selects (by position in [`TableInfo::fields`]),
    /// decrypted: `(field name, value)` in catalog order.
    pub(crate) async fn decrypt(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        row: &RawRow,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Vec<(String, FieldValue)>> {
        let plan = self.plan_of(collection)?;
        let owner = match plan.key_owner {
            KeyOwner::Record | KeyOwner::OwnKey => Some(row.id),
            KeyOwner::PrimaryReference => row.references.first().copied().flatten(),
        };
        let mut values = Vec::new();
        for (position, (field, stored)) in plan.fields.iter().zip(&row.stored).enumerate() {
            if !wanted(position) {
                continue;
            }
            let value = match (stored, owner) {
                (Stored::Null, _) => FieldValue::Null,
                (Stored::Plain(value), _) => value.clone(),
                (Stored::Sealed(envelope), Some(owner)) => {
                    self.open(tenant, plan, field, row.id, owner, envelope)
                        .await?
                }
                (Stored::Sealed(_), None) => {
                    return Err(RecordError::MissingSubject {
                        collection: plan.name.clone(),
                        record: row.id,
                    }
                    .into());
                }
            };
            values.push((field.name.clone(), value));
        }
        Ok(values)
    }

    /// The column values that write `value` into `field` of record `record` (sealed with
    /// `owner`'s newest key when the field is encrypted), with its blind index when the
    /// field is searchable: `(column, expression)` pairs.
    pub(crate) async fn seal_value(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        record: Uuid,
        owner: Option<Uuid>,
        field: &str,
        value: &FieldValue,
    ) -> Result<Vec<(String, SimpleExpr)>> {
        let backend = self.inner.store.data().backend();
        let plan = self.plan_of(collection)?;
        let field_plan = plan.field(field).ok_or_else(|| RecordError::Unstorable {
            field: field.to_owned(),
            reason: format!("collection `{collection}` has no such field"),
        })?;
        codec::check_storable(field_plan, value)?;
        let mut columns = Vec::with_capacity(2);
        if !field_plan.encrypted {
            columns.push((field.to_owned(), codec::plain_expr(backend, value)));
            return Ok(columns);
        }
        let sealed = match value.canonical() {
            Some(text) => {
                let owner = owner.ok_or_else(|| RecordError::MissingSubject {
                    collection: plan.name.clone(),
                    record,
                })?;
                let key = self.inner.keys.write_key(tenant, owner).await?;
                let text = Zeroizing::new(text);
                let record_text = record.hyphenated().to_string();
                let owner_text = owner.hyphenated().to_string();
                let context = FieldContext {
                    tenant: tenant.as_str(),
                    collection: &plan.name,
                    field,
                    record_id: &record_text,
                    subject_id: &owner_text,
                };
                Some(encrypt_field_padded(
                    &key,
                    &context,
                    text.as_bytes(),
                    field_plan.padding()?,
                )?)
            }
            None => None,
        };
        columns.push((field.to_owned(), codec::bytes_expr(sealed)));
        if let Some(index_column) = &field_plan.blind_index {
            let form = catalog_field(&self.inner.catalog, &plan.name, field)
                .and_then(|f| value.index_form(f));
            let index = match form {
                Some(form) => Some(self.blind_index(tenant, collection, field, &form).await?),
                None => None,
            };
            columns.push((index_column.clone(), codec::bytes_expr(index)));
        }
        Ok(columns)
    }

    /// The blind index of the normalised value `form` of `collection`.`field`.
    pub(crate) async fn blind_index(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        field: &str,
        form: &str,
    ) -> Result<Vec<u8>> {
        let length = self
            .plan_of(collection)?
            .field(field)
            .map_or(crate::records::BLIND_INDEX_LEN, |f| f.index_length);
        let key = self
            .inner
            .keys
            .index_key(tenant, collection, field, length)
            .await?;
        Ok(key.compute(form.as_bytes()).as_bytes().to_vec())
    }

    /// Now, truncated to the microsecond (what every backend keeps).
    pub(crate) fn now_micros() -> OffsetDateTime {
        codec::now_micros()
    }

    fn plan_of(&self, collection: &str) -> Result<&CollectionPlan> {
        self.inner
            .plans
            .get(collection)
            .ok_or_else(|| RecordError::UnknownCollection(collection.to_owned()).into())
    }
}
