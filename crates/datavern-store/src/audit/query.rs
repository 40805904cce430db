//! Reading the audit log of one tenant: by subject, record, collection, principal and time,
//! oldest first, a page at a time (`GET /v1/audit`).

use std::fmt;
use std::str::FromStr;

use datavern_core::catalog::Kommunenummer;
use datavern_crypto::audit::ChainHash;
use datavern_sql::{At, Backend};
use sea_query::{Cond, Expr, Order, Query};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use super::AuditLog;
use super::action::{AuditAction, AuditOutcome};
use super::entry::AuditEntry;
use super::error::AuditLogError;
use super::stored::{ALL_COLUMNS, AUDIT, AuditRow, col};
use crate::error::Result;

/// Entries per page when the filter does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Most entries per page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which entries to read. The tenant is mandatory: one tenant never reads another's log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditFilter {
    /// The tenant whose entries are read.
    pub tenant: Kommunenummer,
    /// Only entries about this data subject, primary or other.
    pub subject: Option<Uuid>,
    /// Only entries about this record.
    pub record: Option<Uuid>,
    /// Only entries about this collection.
    pub collection: Option<String>,
    /// Only entries by this principal.
    pub principal: Option<String>,
    /// Only entries that happened at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only entries that happened before this time.
    pub until: Option<OffsetDateTime>,
    /// Continue after this cursor (from the previous page's [`Page::next`]).
    pub after: Option<Cursor>,
    /// Entries per page, 1 to [`MAX_PAGE_SIZE`].
    pub limit: u32,
}

impl AuditFilter {
    /// Every entry of `tenant`, first page of [`DEFAULT_PAGE_SIZE`].
    pub fn new(tenant: Kommunenummer) -> Self {
        AuditFilter {
            tenant,
            subject: None,
            record: None,
            collection: None,
            principal: None,
            from: None,
            until: None,
            after: None,
            limit: DEFAULT_PAGE_SIZE,
        }
    }

    /// Only entries about data subject `id` (primary or other).
    pub fn subject(mut self, id: Uuid) -> Self {
        self.subject = Some(id);
        self
    }

    /// Only entries about record `id`.
    pub fn record(mut self, id: Uuid) -> Self {
        self.record = Some(id);
        self
    }

    /// Only entries about `collection`.
    pub fn collection(mut self, collection: impl Into<String>) -> Self {
        self.collection = Some(collection.into());
        self
    }

    /// Only entries by `principal`.
    pub fn principal(mut self, principal: impl Into<String>) -> Self {
        self.principal = Some(principal.into());
        self
    }

    /// Only entries in `[from, until)`; either end may be open.
    pub fn between(mut self, from: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> Self {
        self.from = from;
        self.until = until;
        self
    }

    /// The page after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// `limit` entries per page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
}

/// Where a page ended; opaque to callers (text form for URLs: [`Display`](fmt::Display) and
/// [`FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(i64);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a{}", self.0)
    }
}

impl FromStr for Cursor {
    type Err = AuditLogError;

    fn from_str(s: &str) -> Result<Self, AuditLogError> {
        s.strip_prefix('a')
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| *id >= 0)
            .map(Cursor)
            .ok_or_else(|| {
                AuditLogError::InvalidQuery("the cursor is not one this API gave".into())
            })
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The cursor of the next page, or `None` on the last.
    pub next: Option<Cursor>,
}

/// An entry as stored, with its place in the chain once sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// The row id (insertion order; not the chain order).
    pub id: i64,
    /// The sequence number in the chain, once sealed.
    pub sequence: Option<u64>,
    /// The chain hash after this entry, once sealed.
    pub entry_hash: Option<ChainHash>,
    /// When it was sealed.
    pub sealed_at: Option<OffsetDateTime>,
    /// The entry.
    pub entry: AuditEntry,
}

impl AuditLog {
    /// One page of the tenant's entries that match `filter`, oldest first (by row id, which
    /// also orders unsealed entries).
    pub async fn query(&self, filter: AuditFilter) -> Result<Page<AuditRecord>> {
        if filter.limit == 0 || filter.limit > MAX_PAGE_SIZE {
            return Err(AuditLogError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_PAGE_SIZE}"
            ))
            .into());
        }
        if let (Some(from), Some(until)) = (filter.from, filter.until)
            && from >= until
        {
            return Err(AuditLogError::InvalidQuery(
                "the time range is empty: `from` must be before `until`".into(),
            )
            .into());
        }
        let backend = self.database().backend();
        let mut select = Query::select();
        select
            .columns(ALL_COLUMNS.iter().map(|c| col(c)))
            .from(col(AUDIT))
            .and_where(Expr::col(col("tenant")).eq(filter.tenant.as_str()))
            .order_by(col("id"), Order::Asc)
            .limit(u64::from(filter.limit) + 1);
        if let Some(subject) = filter.subject {
            select.cond_where(
                Cond::any()
                    .add(Expr::col(col("subject_id")).eq(subject))
                    .add(subjects_contain(backend, subject)),
            );
        }
        if let Some(record) = filter.record {
            select.and_where(Expr::col(col("record_id")).eq(record));
        }
        if let Some(collection) = &filter.collection {
            select.and_where(Expr::col(col("collection")).eq(collection.as_str()));
        }
        if let Some(principal) = &filter.principal {
            select.and_where(Expr::col(col("principal")).eq(principal.as_str()));
        }
        if let Some(from) = filter.from {
            select.and_where(Expr::col(col("occurred_at")).gte(At::from(from).value(backend)));
        }
        if let Some(until) = filter.until {
            select.and_where(Expr::col(col("occurred_at")).lt(At::from(until).value(backend)));
        }
        if let Some(Cursor(after)) = filter.after {
            select.and_where(Expr::col(col("id")).gt(after));
        }
        let mut pooled = self.database().acquire().await?;
        let mut rows: Vec<AuditRow> = pooled.conn().fetch_all(&select).await?;
        let more = rows.len() > filter.limit as usize;
        rows.truncate(filter.limit as usize);
        let next = if more {
            rows.last().map(|row| Cursor(row.id))
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|row| record_from_row(row, filter.tenant))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

/// Whether the JSON array `subjects` holds `subject`, per dialect.
fn subjects_contain(backend: Backend, subject: Uuid) -> sea_query::SimpleExpr {
    backend
        .dialect()
        .json_array_contains("dv_audit", "subjects", subject.to_string())
}

fn record_from_row(row: AuditRow, tenant: Kommunenummer) -> Result<AuditRecord, AuditLogError> {
    let id = row.id;
    let unknown = |_| AuditLogError::UnknownName { id };
    let entry = AuditEntry {
        occurred_at: row.occurred_at,
        tenant: Some(tenant),
        principal: row.principal.0,
        purpose: row.purpose.map(|t| t.0),
        action: row.action.0.parse().map_err(unknown)?,
        collection: row.collection.map(|t| t.0),
        record_id: row.record_id,
        subject_id: row.subject_id,
        subjects: row
            .subjects
            .0
            .iter()
            .filter_map(|s| Uuid::parse_str(s).ok())
            .collect(),
        fields: row.fields.0,
        outcome: row.outcome.0.parse().map_err(unknown)?,
        reason: row.reason.map(|t| t.0),
        request_id: row.request_id.map(|t| t.0),
    };
    Ok(AuditRecord {
        id: row.id,
        sequence: row.sequence.and_then(|s| u64::try_from(s).ok()),
        entry_hash: row
            .entry_hash
            .as_deref()
            .and_then(|h| ChainHash::try_from(h).ok()),
        sealed_at: row.sealed_at.map(OffsetDateTime::from),
        entry,
    })
}

/// A row of [`AuditLog::shredded_since`]: tenant, primary subject, other subjects.
#[derive(datavern_sql::FromRow)]
struct ShredRow {
    tenant: Option<datavern_sql::Text>,
    subject_id: Option<Uuid>,
    subjects: datavern_sql::Json<Vec<String>>,
}

impl AuditLog {
    /// The subjects, per tenant, whose keys an erasure destroyed (`dsr.erase` with outcome
    /// `crypto_shred`) after `at`, as the log records them: what a key store restored from a
    /// copy older than `at` must destroy again. Sorted, without duplicates.
    #[instrument(skip_all)]
    pub async fn shredded_since(&self, at: At) -> Result<Vec<(Kommunenummer, crate::SubjectId)>> {
        let db = self.database();
        let query = Query::select()
            .columns([col("tenant"), col("subject_id"), col("subjects")])
            .from(col(AUDIT))
            .and_where(Expr::col(col("action")).eq(AuditAction::DsrErase.as_str()))
            .and_where(Expr::col(col("outcome")).eq(AuditOutcome::CryptoShred.as_str()))
            .and_where(Expr::col(col("occurred_at")).gt(at.value(db.backend())))
            .to_owned();
        let rows: Vec<ShredRow> = db.acquire().await?.conn().fetch_all(&query).await?;
        let mut subjects = Vec::new();
        for row in rows {
            let Some(tenant) = row.tenant.and_then(|t| Kommunenummer::parse(&t.0).ok()) else {
                continue;
            };
            let others = row
                .subjects
                .0
                .iter()
                .filter_map(|s| Uuid::parse_str(s).ok());
            for subject in row.subject_id.into_iter().chain(others) {
                subjects.push((tenant, crate::SubjectId::from_uuid(subject)));
            }
        }
        subjects.sort_by(|a, b| (a.0.as_str(), a.1.as_uuid()).cmp(&(b.0.as_str(), b.1.as_uuid())));
        subjects.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Ok(subjects)
    }
}
