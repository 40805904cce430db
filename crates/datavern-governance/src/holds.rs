//! Legal holds: what may not be erased, deleted by retention or anonymized, and why.
//!
//! A hold covers a whole collection, one record, or every record of one data subject (as
//! primary or secondary party), in one tenant. It is active from when it is placed until it
//! is released or its optional expiry passes. Erasure requests refuse what an active hold
//! covers, with the hold's reason; the retention job skips it. Holds are never deleted:
//! releasing one records who released it, when and why, so the register shows every hold
//! that ever applied. Placing and releasing are audited (`hold.placed`, `hold.released`) in
//! the same transaction; the reason, the DPO's own text, stays out of the audit log.
//!
//! Holds are few, so callers load a tenant's active ones once ([`LegalHolds::active`]) and
//! test each collection, record and subject against the [`HoldSet`] in memory.
//!
//! The register itself, what a hold covers and how writers read it inside their own
//! transactions, is the store's (`datavern_store::holds`); placing a hold takes the
//! register's exclusive lock, so it waits for the writers in flight.

use datavern_core::access::PrincipalId;
use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_sql::{At, Tx, TxMode};
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome, writer};
use datavern_store::holds::{RegisterLock, fetch, lock_register, select, unreleased};
use sea_query::{Alias, Expr, Order, Query};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

pub use datavern_store::holds::{HoldScope, HoldSet, LegalHold};

use crate::error::Result;
use datavern_store::Store;

/// The longest hold reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The legal hold register of a store.
#[derive(Debug, Clone)]
pub struct LegalHolds {
    store: Store,
}

/// A hold to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    /// What it covers.
    pub scope: HoldScope,
    /// Why (a case reference, the provision); shown to whoever is refused.
    pub reason: String,
    /// When it lapses by itself, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

/// A hold could not be placed or released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HoldError {
    /// No hold with this id in the tenant.
    #[error("there is no legal hold with this id")]
    NotFound,
    /// The hold was released already.
    #[error("the legal hold was already released")]
    AlreadyReleased,
    /// The hold names a collection the catalog does not have.
    #[error("collection `{0}` is not in the catalog: a hold must name a governed collection")]
    UnknownCollection(String),
    /// The reason is empty or too long.
    #[error(
        "a legal hold needs a reason of 1 to {MAX_REASON_CHARS} characters (the case or \
         provision it serves), which is shown to whoever it refuses"
    )]
    Reason,
    /// The expiry is not in the future.
    #[error("the expiry must be in the future; leave it out for a hold until released")]
    ExpiryPassed,
}

impl HoldError {
    /// A stable code for the HTTP API's error table.
    pub fn code(&self) -> &'static str {
        match self {
            HoldError::NotFound => "hold_not_found",
            HoldError::AlreadyReleased => "hold_already_released",
            HoldError::UnknownCollection(_) => "collection_unknown",
            HoldError::Reason => "hold_reason_invalid",
            HoldError::ExpiryPassed => "hold_expiry_invalid",
        }
    }
}

impl LegalHolds {
    /// The legal holds of `store`.
    pub fn new(store: Store) -> Self {
        LegalHolds { store }
    }

    /// Places `hold` in `tenant` on behalf of `principal` at the store's clock's time, audited in the same
    /// transaction. A collection named must be in `catalog`; a record or subject need not
    /// exist (a hold may be placed before the data arrives).
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn place(
        &self,
        catalog: &Catalog,
        tenant: Kommunenummer,
        principal: &PrincipalId,
        hold: NewHold,
    ) -> Result<LegalHold> {
        let reason = checked_reason(&hold.reason)?;
        let at = self.store.now();
        let now = OffsetDateTime::from(at);
        if hold.expires_at.is_some_and(|at| at <= now) {
            return Err(HoldError::ExpiryPassed.into());
        }
        if let HoldScope::Collection { collection } | HoldScope::Record { collection, .. } =
            &hold.scope
            && catalog.collection(collection.as_str()).is_none()
        {
            return Err(HoldError::UnknownCollection(collection.to_string()).into());
        }
        let held = LegalHold {
            id: Uuid::now_v7(),
            tenant,
            scope: hold.scope,
            reason: reason.to_owned(),
            placed_by: principal.as_str().to_owned(),
            placed_at: now,
            expires_at: hold.expires_at.map(|at| At::from(at).into()),
            released_at: None,
            released_by: None,
            release_reason: None,
        };
        let backend = self.store.data().backend();
        let (scope, collection, record, subject) = columns(&held.scope);
        let insert = Query::insert()
            .into_table(Alias::new("dv_legal_holds"))
            .columns(
                [
                    "id",
                    "tenant",
                    "scope",
                    "collection",
                    "record_id",
                    "subject_id",
                    "reason",
                    "placed_by",
                    "placed_at",
                    "expires_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                held.id.into(),
                tenant.as_str().into(),
                scope.into(),
                collection.into(),
                record.into(),
                subject.into(),
                held.reason.clone().into(),
                held.placed_by.clone().into(),
                at.value(backend).into(),
                At::optional_value(backend, held.expires_at.map(At::from)).into(),
            ])
            .to_owned();
        let entry = audit_entry(&held, principal, AuditAction::HoldPlaced, at);
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
        // Waits for the writers reading the register (see the module docs).
        lock_register(&mut tx.conn(), tenant, RegisterLock::Exclusive).await?;
        tx.conn().execute(&insert).await?;
        writer::append(&mut tx.conn(), &entry).await?;
        tx.commit().await?;
        tracing::info!(hold = %held.id, scope = scope, "Placed legal hold");
        Ok(held)
    }

    /// Releases hold `id` of `tenant` on behalf of `principal`, with `reason`, at the store's
    /// clock's time, audited in the
    /// same transaction. Fails with [`HoldError::NotFound`] or [`HoldError::AlreadyReleased`].
    #[instrument(skip_all, fields(tenant = %tenant, hold = %id))]
    pub async fn release(
        &self,
        tenant: Kommunenummer,
        id: Uuid,
        principal: &PrincipalId,
        reason: &str,
    ) -> Result<LegalHold> {
        let reason = checked_reason(reason)?;
        let at = self.store.now();
        let backend = self.store.data().backend();
        let mut tx = Tx::begin(self.store.data(), tenant, TxMode::Write).await?;
        let mut found = select(tenant)
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        backend.dialect().lock_rows_for_update(&mut found);
        let Some(mut hold) = fetch(&mut tx.conn(), &found).await?.into_iter().next() else {
            return Err(HoldError::NotFound.into());
        };
        if hold.released_at.is_some() {
            return Err(HoldError::AlreadyReleased.into());
        }
        let update = Query::update()
            .table(Alias::new("dv_legal_holds"))
            .value(Alias::new("released_at"), at.value(backend))
            .value(Alias::new("released_by"), principal.as_str())
            .value(Alias::new("release_reason"), reason)
            .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        tx.conn().execute(&update).await?;
        hold.released_at = Some(at.into());
        hold.released_by = Some(principal.as_str().to_owned());
        hold.release_reason = Some(reason.to_owned());
        let entry = audit_entry(&hold, principal, AuditAction::HoldReleased, at);
        writer::append(&mut tx.conn(), &entry).await?;
        tx.commit().await?;
        tracing::info!(hold = %id, "Released legal hold");
        Ok(hold)
    }

    /// Every hold of `tenant` ever placed, newest first.
    pub async fn list(&self, tenant: Kommunenummer) -> Result<Vec<LegalHold>> {
        let query = select(tenant)
            .order_by(Alias::new("id"), Order::Desc)
            .to_owned();
        let mut conn = self.store.data().acquire().await?;
        Ok(fetch(&mut conn.conn(), &query).await?)
    }

    /// The holds of `tenant` active at `now`: not released, not expired.
    pub async fn active(&self, tenant: Kommunenummer, now: OffsetDateTime) -> Result<HoldSet> {
        let mut conn = self.store.data().acquire().await?;
        let holds = fetch(&mut conn.conn(), &unreleased(tenant)).await?;
        Ok(HoldSet::active_at(holds, now))
    }
}

/// `reason` trimmed, if it has 1 to [`MAX_REASON_CHARS`] characters.
fn checked_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(HoldError::Reason.into());
    }
    Ok(reason)
}

/// The scope's column values: scope name, collection, record id, subject id.
fn columns(scope: &HoldScope) -> (&'static str, Option<String>, Option<Uuid>, Option<Uuid>) {
    match scope {
        HoldScope::Collection { collection } => {
            ("collection", Some(collection.to_string()), None, None)
        }
        HoldScope::Record { collection, record } => {
            ("record", Some(collection.to_string()), Some(*record), None)
        }
        HoldScope::Subject { subject } => ("subject", None, None, Some(subject.as_uuid())),
    }
}

/// The audit entry for placing or releasing `hold`: ids and the scope, never the reason.
fn audit_entry(
    hold: &LegalHold,
    principal: &PrincipalId,
    action: AuditAction,
    at: At,
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        at,
        Some(hold.tenant),
        principal.as_str(),
        action,
        AuditOutcome::Granted,
    )
    .with_request_id(format!("hold:{}", hold.id));
    match &hold.scope {
        HoldScope::Collection { collection } => entry.collection = Some(collection.to_string()),
        HoldScope::Record { collection, record } => {
            entry.collection = Some(collection.to_string());
            entry = entry.with_record(*record);
        }
        HoldScope::Subject { subject } => entry = entry.with_subject(subject.as_uuid()),
    }
    entry
}
