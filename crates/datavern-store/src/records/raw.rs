//! Rows as stored, for the governance services (`datavern_governance`: the data subject's
//! rights, retention, compliance): each collection's table ([`Table`]), rows read with their
//! restriction flag inside the caller's transaction, the one decryption of stored envelopes,
//! and the one sealing of corrected values.
//!
//! The rights work on whole sets of rows (every record of a subject in a collection, in one
//! statement) without a grant: the request itself is the authority, checked by the caller.
//! The grant-based record operations (`Records::create`, `read`, …) do not offer that; this
//! module does, without widening their API. Every value still goes through the table's own
//! seal and open routine and the key store, so a sealed value reads the same here as there.

use datavern_core::catalog::Kommunenummer;
use datavern_core::record::FieldValue;
use datavern_sql::Conn;
use sea_query::{Alias, SimpleExpr};
use time::OffsetDateTime;
use uuid::Uuid;

use super::codec;
use super::read::{Stored, row_select, to_row};
use super::row::{self, Cell, ColumnKind};
use super::{RecordError, Records};
use crate::error::Result;
use crate::schema::RESTRICTED_COLUMN;
use crate::table::Table;

/// A row as stored, with its restriction flag.
pub struct RawRow {
    /// The record id.
    pub id: Uuid,
    /// Its version.
    pub version: i64,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// The subject ids, per reference of the table (primary first).
    pub references: Vec<Option<Uuid>>,
    /// Whether processing is restricted.
    pub restricted: bool,
    /// Per field: stored or not (`None` for SQL NULL), without decrypting.
    stored: Vec<Stored>,
}

impl RawRow {
    /// The key owner of the row's envelopes, if it has one.
    pub fn key_owner(&self, table: &Table) -> Option<Uuid> {
        table.owner_of(self.id, &self.references)
    }
}

impl Records {
    /// The tables of every collection, in catalog order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.inner.tables.iter()
    }

    /// The table of `collection`.
    pub fn table(&self, collection: &str) -> Option<&Table> {
        self.inner.tables.get(collection)
    }

    /// The rows of `collection` in `tenant` that `filter` selects, read in the caller's
    /// transaction (locked for update with `lock`). One statement.
    pub async fn raw_rows(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        filter: SimpleExpr,
        lock: bool,
    ) -> Result<Vec<RawRow>> {
        self.select_raw(conn, tenant, collection, filter, lock, None)
            .await
    }

    /// At most `limit` rows of `collection` in `tenant` that `filter` selects with ids after
    /// `after`, in id order, locked for update: one page of a keyset walk over the table
    /// (a catalog migration's backfill). One statement.
    pub async fn raw_page(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        filter: SimpleExpr,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<RawRow>> {
        self.select_raw(conn, tenant, collection, filter, true, Some((after, limit)))
            .await
    }

    /// [`raw_page`](Self::raw_page) without locking the rows: one page of a read-only walk
    /// over the table (a masked copy reads the source this way). One statement.
    pub async fn raw_scan(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        filter: SimpleExpr,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<RawRow>> {
        self.select_raw(
            conn,
            tenant,
            collection,
            filter,
            false,
            Some((after, limit)),
        )
        .await
    }

    async fn select_raw(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        filter: SimpleExpr,
        lock: bool,
        page: Option<(Option<Uuid>, u64)>,
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
        if let Some((after, limit)) = page {
            if let Some(after) = after {
                select.and_where(sea_query::Expr::col(Alias::new("id")).gt(after));
            }
            select
                .order_by(Alias::new("id"), sea_query::Order::Asc)
                .limit(limit);
        }
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
    pub async fn before_correction(
        &self,
        conn: &mut Conn<'_>,
        tenant: Kommunenummer,
        collection: &str,
        row: &RawRow,
        principal: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let plan = self.plan_of(collection)?;
        let subjects = plan.all_subjects(row.id, &row.references);
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
    pub async fn preload_keys(&self, tenant: Kommunenummer, owners: &[Uuid]) -> Result<()> {
        self.inner.keys.preload(tenant, owners).await
    }

    /// The values of the fields `wanted` selects (by position in the table's fields),
    /// decrypted: `(field name, value)` in catalog order (the same decryption as every record read).
    pub async fn decrypt(
        &self,
        tenant: Kommunenummer,
        collection: &str,
        row: &RawRow,
        wanted: impl Fn(usize) -> bool,
    ) -> Result<Vec<(String, FieldValue)>> {
        let plan = self.plan_of(collection)?;
        let opened = self
            .open_values(
                tenant,
                plan,
                row.id,
                &row.references,
                &row.stored,
                |p, _| wanted(p),
            )
            .await?;
        Ok(opened
            .into_iter()
            .map(|(field, value)| (field.name.clone(), value))
            .collect())
    }

    /// The column values that write `value` into `field` of record `record` (sealed with
    /// `owner`'s newest key when the field is encrypted), with its blind index when the
    /// field is searchable: `(column, expression)` pairs.
    pub async fn seal_value(
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
        let sealed = if value.canonical().is_none() {
            None
        } else {
            let owner = owner.ok_or_else(|| RecordError::MissingSubject {
                collection: plan.name().to_owned(),
                record,
            })?;
            let key = self.inner.keys.write_key(tenant, owner).await?;
            plan.seal(&key, tenant, field_plan, record, owner, value)?
        };
        columns.push((field.to_owned(), codec::bytes_expr(sealed)));
        if let Some(index_column) = &field_plan.blind_index {
            let index = match field_plan.index_form(value) {
                Some(form) => Some(self.blind_index(tenant, collection, field, &form).await?),
                None => None,
            };
            columns.push((index_column.clone(), codec::bytes_expr(index)));
        }
        Ok(columns)
    }

    /// The blind index of the normalised value `form` of `collection`.`field`.
    pub async fn blind_index(
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

    /// The store's clock's time, truncated to the microsecond (what every backend keeps),
    /// so that the value returned after a write equals the one read back later.
    pub fn now(&self) -> OffsetDateTime {
        self.store().now().into()
    }

    fn plan_of(&self, collection: &str) -> Result<&Table> {
        self.inner
            .tables
            .get(collection)
            .ok_or_else(|| RecordError::UnknownCollection(collection.to_owned()).into())
    }
}

/// `value` converted to `to` through its canonical text (what a catalog migration that
/// changes a field's type does with each stored value): `None` when the text is not a value
/// of `to` (`"31.01.2020"` is not a `date`; `"2020-01-31"` is).
pub fn convert(value: &FieldValue, to: datavern_core::catalog::FieldType) -> Option<FieldValue> {
    let text = value.canonical()?;
    codec::from_canonical(to, &text).ok()
}
