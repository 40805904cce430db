//! Record versions under archive duty (`dv_record_versions`, migration 0010).
//!
//! A record of a collection with archive duty is never overwritten: an update first copies
//! the version it replaces into `dv_record_versions`, in the update's transaction, so the
//! archive holds every version a record ever had. The copy is the row as stored: encrypted
//! fields as their sealed envelopes (still bound to tenant, collection, field, record and the
//! subject whose key sealed them, so destroying that key makes the old versions unreadable as
//! well), plain fields in their canonical text, and the subject references. No value is ever
//! decrypted to be copied.
//!
//! Erasure deletes a record's versions with the record (and when it anonymizes it);
//! [`Records::versions`] shows them as a read grant allows, each audited like a read.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use datavern_core::access::{Grant, Operation};
use datavern_sql::{Conn, Text};
use sea_query::{Alias, Expr, Order, Query};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::codec;
use super::error::RecordError;
use super::read::{Stored, StoredRow};
use super::{RecordView, Records, RequestMeta, check_operation, time_expr};
use crate::error::Result;
use crate::table::Table;

/// The table of record versions.
pub(crate) const TABLE: &str = "dv_record_versions";

/// One stored field of a kept version.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KeptValue {
    /// A sealed envelope, base64.
    Sealed(String),
    /// A plain value's canonical text.
    Plain(String),
}

/// The `content` of a version row: fields by name (absent: null) and subject ids by
/// reference name.
#[derive(Serialize, Deserialize, Default)]
struct Content {
    fields: BTreeMap<String, KeptValue>,
    subjects: BTreeMap<String, Uuid>,
}

/// Copies `row` (as read, locked, by the update that replaces it) into the version table, on
/// behalf of `principal` at `now`.
pub(super) async fn keep(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: datavern_core::catalog::Kommunenummer,
    principal: &str,
    row: &StoredRow,
    now: OffsetDateTime,
) -> Result<()> {
    let kept = Kept {
        id: row.id,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        references: &row.references,
        values: &row.values,
    };
    keep_parts(conn, plan, tenant, principal, kept, now).await
}

/// A version to keep, as read.
pub(super) struct Kept<'a> {
    pub(super) id: Uuid,
    pub(super) version: i64,
    pub(super) created_at: OffsetDateTime,
    pub(super) updated_at: OffsetDateTime,
    pub(super) references: &'a [Option<Uuid>],
    pub(super) values: &'a [Stored],
}

/// [`keep`] from the row's parts.
pub(super) async fn keep_parts(
    conn: &mut Conn<'_>,
    plan: &Table,
    tenant: datavern_core::catalog::Kommunenummer,
    principal: &str,
    row: Kept<'_>,
    now: OffsetDateTime,
) -> Result<()> {
    let backend = conn.backend();
    let mut content = Content::default();
    for (field, stored) in plan.fields.iter().zip(row.values) {
        let kept = match stored {
            Stored::Null => continue,
            Stored::Sealed(bytes) => KeptValue::Sealed(BASE64.encode(bytes)),
            Stored::Plain(value) => match value.canonical() {
                Some(text) => KeptValue::Plain(text),
                None => continue,
            },
        };
        content.fields.insert(field.name.clone(), kept);
    }
    for (reference, subject) in plan.references.iter().zip(row.references) {
        if let Some(subject) = subject {
            content.subjects.insert(reference.name.clone(), *subject);
        }
    }
    let content = serde_json::to_string(&content).map_err(|_| RecordError::Unstorable {
        field: "version".to_owned(),
        reason: "the record's version could not be serialized".to_owned(),
    })?;
    let insert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns(
            [
                "tenant",
                "collection",
                "record_id",
                "version",
                "created_at",
                "updated_at",
                "superseded_at",
                "superseded_by",
                "content",
            ]
            .map(Alias::new),
        )
        .values_panic([
            tenant.as_str().into(),
            plan.name().into(),
            row.id.into(),
            row.version.into(),
            time_expr(backend, row.created_at),
            time_expr(backend, row.updated_at),
            time_expr(backend, now),
            principal.into(),
            content.into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Deletes the kept versions of `records` of `collection` (erasure). The number deleted.
pub async fn forget(
    conn: &mut Conn<'_>,
    tenant: datavern_core::catalog::Kommunenummer,
    collection: &str,
    records: &[Uuid],
) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let delete = Query::delete()
        .from_table(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(Alias::new("collection")).eq(collection))
        .and_where(Expr::col(Alias::new("record_id")).is_in(records.iter().copied()))
        .to_owned();
    Ok(conn.execute(&delete).await?)
}

/// A `dv_record_versions` row.
#[derive(datavern_sql::FromRow)]
struct VersionRow {
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    content: Text,
}

impl Records {
    /// The earlier versions of record `id` kept under archive duty, oldest first, as `grant`
    /// (a read grant) allows: readable fields decrypted with the subject's key, withheld
    /// ones named. Each version returned is in the audit log (group commit) before this
    /// returns. Empty for a record never corrected, or in a collection without archive duty.
    ///
    /// The record itself must exist and be readable under the grant (the subjects' controls
    /// apply as to [`get`](Self::get)); otherwise [`RecordError::NotFound`] or the denial.
    pub async fn versions(
        &self,
        grant: &Grant,
        id: Uuid,
        meta: &RequestMeta,
    ) -> Result<Vec<RecordView>> {
        check_operation(grant, Operation::Read)?;
        // The current version first: its existence, the tenant and the controls.
        let current = self.get(grant, id, meta).await?;
        let plan = self.plan(grant)?;
        let tenant = grant.tenant();
        let select = Query::select()
            .columns(["version", "created_at", "updated_at", "content"].map(Alias::new))
            .from(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(Alias::new("collection")).eq(plan.name()))
            .and_where(Expr::col(Alias::new("record_id")).eq(id))
            .order_by(Alias::new("version"), Order::Asc)
            .to_owned();
        let mut conn = self.inner.store.data().acquire().await?;
        let rows: Vec<VersionRow> = conn.conn().fetch_all(&select).await?;
        drop(conn);
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            stored.push(decode(plan, id, row)?);
        }
        drop(current);
        let mut views = Vec::with_capacity(stored.len());
        let mut entries = Vec::with_capacity(stored.len());
        for row in &stored {
            views.push(self.view(plan, grant, row).await?);
            entries.push(self.read_entry(plan, grant, row, meta));
        }
        self.audit_reads(entries).await?;
        Ok(views)
    }
}

/// A version row back as a [`StoredRow`].
fn decode(plan: &Table, id: Uuid, row: VersionRow) -> Result<StoredRow> {
    let corrupt = || RecordError::CorruptValue {
        collection: plan.name().to_owned(),
        field: "version".to_owned(),
        record: id,
        field_type: "record version",
    };
    let mut content: Content = serde_json::from_str(&row.content.0).map_err(|_| corrupt())?;
    let mut values = Vec::with_capacity(plan.fields.len());
    for field in &plan.fields {
        values.push(match content.fields.remove(&field.name) {
            None => Stored::Null,
            Some(KeptValue::Sealed(text)) => {
                Stored::Sealed(BASE64.decode(text).map_err(|_| corrupt())?)
            }
            Some(KeptValue::Plain(text)) => Stored::Plain(
                codec::from_canonical(field.field_type, &text).map_err(|_| corrupt())?,
            ),
        });
    }
    let references = plan
        .references
        .iter()
        .map(|r| content.subjects.get(&r.name).copied())
        .collect();
    Ok(StoredRow {
        id,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        references,
        values,
        controls: Default::default(),
    })
}
