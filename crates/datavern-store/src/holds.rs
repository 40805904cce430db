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
//! Ordinary record writes consult holds too: an update or delete of a record an active hold
//! covers is refused (`legal_hold`). Every writer that a hold must stop (record update and
//! delete, erasure) reads the holds **inside its own write transaction**
//! (`covering`, `active_in`), after it has locked what it changes, and placing a hold
//! waits for those writers:
//!
//! - SQLite: every write transaction holds the database's write lock from `BEGIN IMMEDIATE`,
//!   so a placement and a write are strictly one after the other.
//! - PostgreSQL: writers take a transaction-scoped *shared* advisory lock on the tenant's hold
//!   register before reading it; placing a hold takes the same lock *exclusively*, so it waits
//!   for the writers in flight and the writers after it read the new hold (each statement of a
//!   READ COMMITTED transaction sees what committed before it began).
//! - MariaDB/MySQL: writers read the holds with `LOCK IN SHARE MODE`, a locking read of the
//!   latest committed rows whose next-key locks cover the range a new active hold of the
//!   tenant is inserted into, so the insert waits for the writers in flight.

use datavern_core::access::PrincipalId;
use datavern_core::catalog::{Catalog, CollectionName, Kommunenummer};
use datavern_sql::{At, Conn, Text, Tx, TxMode};
use sea_query::{Alias, Expr, Order, Query};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::audit::{AuditAction, AuditEntry, AuditOutcome, writer};
use crate::error::Result;
use crate::ids::SubjectId;
use crate::store::Store;

/// The longest hold reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The first key of the PostgreSQL advisory lock on a tenant's hold register (`dvhd`); the
/// second is the kommunenummer as a number.
const HOLD_LOCK_CLASS: i32 = 0x6476_6864;

/// The legal hold register of a store.
#[derive(Debug, Clone)]
pub struct LegalHolds {
    store: Store,
}

/// What a hold covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum HoldScope {
    /// Every record of a collection.
    Collection {
        /// The collection.
        collection: CollectionName,
    },
    /// One record.
    Record {
        /// Its collection.
        collection: CollectionName,
        /// The record id.
        record: Uuid,
    },
    /// Every record concerning one data subject, in any collection and any role.
    Subject {
        /// The subject.
        subject: SubjectId,
    },
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

/// A hold in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalHold {
    /// Its id.
    pub id: Uuid,
    /// The tenant.
    pub tenant: Kommunenummer,
    /// What it covers.
    #[serde(flatten)]
    pub scope: HoldScope,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// When it lapses by itself, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was released, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
    /// Who released it.
    pub released_by: Option<String>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

/// The active holds of one tenant at one time, to test against in memory.
#[derive(Debug, Clone, Default)]
pub struct HoldSet {
    holds: Vec<LegalHold>,
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
        if backend != datavern_sql::Backend::Sqlite {
            found.lock(sea_query::LockType::Update);
        }
        let rows: Vec<HoldRow> = tx.conn().fetch_all(&found).await?;
        let Some(row) = rows.into_iter().next() else {
            return Err(HoldError::NotFound.into());
        };
        let mut hold = row.into_hold()?;
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
        let rows: Vec<HoldRow> = conn.conn().fetch_all(&query).await?;
        rows.into_iter().map(HoldRow::into_hold).collect()
    }

    /// The holds of `tenant` active at `now`: not released, not expired.
    pub async fn active(&self, tenant: Kommunenummer, now: OffsetDateTime) -> Result<HoldSet> {
        let query = select(tenant)
            .and_where(Expr::col(Alias::new("released_at")).is_null())
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        let mut conn = self.store.data().acquire().await?;
        let rows: Vec<HoldRow> = conn.conn().fetch_all(&query).await?;
        let holds = rows
            .into_iter()
            .map(HoldRow::into_hold)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|hold| hold.is_active(now))
            .collect();
        Ok(HoldSet { holds })
    }
}

/// How a transaction locks a tenant's hold register on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegisterLock {
    /// A writer that reads the register.
    Shared,
    /// Placing a hold.
    Exclusive,
}

/// Takes the PostgreSQL advisory lock on `tenant`'s hold register for the rest of the
/// transaction: shared for a writer that reads it, exclusive for placing a hold. Nothing on
/// the other backends (see the module docs).
async fn lock_register(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    mode: RegisterLock,
) -> Result<()> {
    if conn.backend() != datavern_sql::Backend::Postgres {
        return Ok(());
    }
    // A kommunenummer is four digits (checked when parsed): it fits an int4 and needs no
    // quoting.
    let key: i32 = tenant.as_str().parse().unwrap_or(0);
    let function = match mode {
        RegisterLock::Exclusive => "pg_advisory_xact_lock",
        RegisterLock::Shared => "pg_advisory_xact_lock_shared",
    };
    let lock = Query::select()
        .expr(Expr::cust(format!("{function}({HOLD_LOCK_CLASS}, {key})")))
        .to_owned();
    conn.execute(&lock).await?;
    Ok(())
}

/// Reads the holds of `query` in the caller's write transaction, after locking the register
/// for reading (see the module docs): the holds active at `now`.
async fn read_in_transaction(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    query: &sea_query::SelectStatement,
    now: OffsetDateTime,
) -> Result<Vec<LegalHold>> {
    lock_register(conn, tenant, RegisterLock::Shared).await?;
    let rows: Vec<HoldRow> = conn.fetch_all_shared(query).await?;
    Ok(rows
        .into_iter()
        .map(HoldRow::into_hold)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|hold| hold.is_active(now))
        .collect())
}

/// The holds of `tenant` active at `now`, read inside the caller's write transaction so that
/// a hold placed concurrently is either seen or placed after the transaction commits.
pub(crate) async fn active_in(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    now: OffsetDateTime,
) -> Result<HoldSet> {
    let query = select(tenant)
        .and_where(Expr::col(Alias::new("released_at")).is_null())
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    let holds = read_in_transaction(conn, tenant, &query, now).await?;
    Ok(HoldSet { holds })
}

/// The first (oldest) hold of `tenant` active at `now` that covers record `record` of
/// `collection` whose data subjects are `subjects`: a hold on the collection, on the record
/// or on one of the subjects. One indexed query, inside the caller's write transaction (see
/// [`active_in`]).
pub(crate) async fn covering(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    collection: &str,
    record: Uuid,
    subjects: &[Uuid],
    now: OffsetDateTime,
) -> Result<Option<LegalHold>> {
    use sea_query::Cond;
    let on_collection_or_record = Cond::all()
        .add(Expr::col(Alias::new("collection")).eq(collection))
        .add(
            Cond::any()
                .add(Expr::col(Alias::new("scope")).eq("collection"))
                .add(Expr::col(Alias::new("record_id")).eq(record)),
        );
    let mut scope = Cond::any().add(on_collection_or_record);
    if !subjects.is_empty() {
        scope = scope.add(Expr::col(Alias::new("subject_id")).is_in(subjects.iter().copied()));
    }
    let query = select(tenant)
        .and_where(Expr::col(Alias::new("released_at")).is_null())
        .cond_where(scope)
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    let holds = read_in_transaction(conn, tenant, &query, now).await?;
    Ok(holds.into_iter().next())
}

impl LegalHold {
    /// Whether the hold applies at `now`: not released, and not past its expiry.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.released_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

impl HoldSet {
    /// Whether there are no active holds.
    pub fn is_empty(&self) -> bool {
        self.holds.is_empty()
    }

    /// Every active hold.
    pub fn holds(&self) -> &[LegalHold] {
        &self.holds
    }

    /// The hold on the whole of `collection`, if any.
    pub fn on_collection(&self, collection: &str) -> Option<&LegalHold> {
        self.holds.iter().find(|h| {
            matches!(&h.scope, HoldScope::Collection { collection: c } if c.as_str() == collection)
        })
    }

    /// The hold on `subject`, if any.
    pub fn on_subject(&self, subject: SubjectId) -> Option<&LegalHold> {
        self.holds
            .iter()
            .find(|h| matches!(h.scope, HoldScope::Subject { subject: s } if s == subject))
    }

    /// The hold on record `record` of `collection` itself, if any (not counting holds on the
    /// collection or on the record's subjects).
    pub fn on_record(&self, collection: &str, record: Uuid) -> Option<&LegalHold> {
        self.holds.iter().find(|h| {
            matches!(&h.scope, HoldScope::Record { collection: c, record: r }
                if c.as_str() == collection && *r == record)
        })
    }

    /// The ids of the held records of `collection`.
    pub fn records_of(&self, collection: &str) -> Vec<Uuid> {
        self.holds
            .iter()
            .filter_map(|h| match &h.scope {
                HoldScope::Record {
                    collection: c,
                    record,
                } if c.as_str() == collection => Some(*record),
                _ => None,
            })
            .collect()
    }

    /// The held subjects.
    pub fn subjects(&self) -> Vec<SubjectId> {
        self.holds
            .iter()
            .filter_map(|h| match h.scope {
                HoldScope::Subject { subject } => Some(subject),
                _ => None,
            })
            .collect()
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

/// `SELECT … FROM dv_legal_holds WHERE tenant = ?`.
fn select(tenant: Kommunenummer) -> sea_query::SelectStatement {
    Query::select()
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
                "released_at",
                "released_by",
                "release_reason",
            ]
            .map(Alias::new),
        )
        .from(Alias::new("dv_legal_holds"))
        .and_where(Expr::col(Alias::new("tenant")).eq(tenant.as_str()))
        .to_owned()
}

/// A `dv_legal_holds` row.
#[derive(sqlx::FromRow)]
struct HoldRow {
    id: Uuid,
    tenant: Text,
    scope: Text,
    collection: Option<Text>,
    record_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    reason: Text,
    placed_by: Text,
    placed_at: At,
    expires_at: Option<At>,
    released_at: Option<At>,
    released_by: Option<Text>,
    release_reason: Option<Text>,
}

impl HoldRow {
    fn into_hold(self) -> Result<LegalHold> {
        let corrupt = |what: &str| {
            crate::StoreError::Config(format!(
                "legal hold {} has an invalid {what}; the row was changed outside datavern",
                self.id
            ))
        };
        let tenant = Kommunenummer::parse(&self.tenant.0).map_err(|_| corrupt("tenant"))?;
        let collection = || {
            self.collection
                .as_ref()
                .and_then(|c| CollectionName::parse(&c.0).ok())
                .ok_or_else(|| corrupt("collection"))
        };
        let scope = match (self.scope.0.as_str(), self.record_id, self.subject_id) {
            ("collection", None, None) => HoldScope::Collection {
                collection: collection()?,
            },
            ("record", Some(record), None) => HoldScope::Record {
                collection: collection()?,
                record,
            },
            ("subject", None, Some(subject)) => HoldScope::Subject {
                subject: SubjectId::from_uuid(subject),
            },
            _ => return Err(corrupt("scope")),
        };
        Ok(LegalHold {
            id: self.id,
            tenant,
            scope,
            reason: self.reason.0,
            placed_by: self.placed_by.0,
            placed_at: self.placed_at.into(),
            expires_at: self.expires_at.map(OffsetDateTime::from),
            released_at: self.released_at.map(OffsetDateTime::from),
            released_by: self.released_by.map(|t| t.0),
            release_reason: self.release_reason.map(|t| t.0),
        })
    }
}
