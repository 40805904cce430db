//! The legal-hold register (`dv_legal_holds`) as the store's writers read it: what a hold
//! covers, the holds active at a time, and the lock that orders placing a hold against the
//! writers it must stop. Placing and releasing holds is a governance service
//! (`datavern_governance::holds`).
//!
//! Every writer that a hold must stop (record update and delete, erasure, retention) reads the
//! holds **inside its own write transaction** (`covering`, [`active_in`]), after it has
//! locked what it changes, and placing a hold waits for those writers:
//!
//! - SQLite: every write transaction holds the database's write lock from `BEGIN IMMEDIATE`,
//!   so a placement and a write are strictly one after the other.
//! - PostgreSQL: writers take a transaction-scoped *shared* advisory lock on the tenant's hold
//!   register before reading it; placing a hold takes the same lock *exclusively*
//!   ([`lock_register`]), so it waits for the writers in flight and the writers after it read
//!   the new hold (each statement of a READ COMMITTED transaction sees what committed before
//!   it began).
//! - MariaDB/MySQL: writers read the holds with `LOCK IN SHARE MODE`, a locking read of the
//!   latest committed rows whose next-key locks cover the range a new active hold of the
//!   tenant is inserted into, so the insert waits for the writers in flight.

use datavern_core::catalog::{CollectionName, Kommunenummer};
use datavern_sql::{At, Conn, LockMode, Text};
use sea_query::{Alias, Expr, Order, Query};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::SubjectId;

/// The first key of the PostgreSQL advisory lock on a tenant's hold register (`dvhd`); the
/// second is the kommunenummer as a number.
const HOLD_LOCK_CLASS: i32 = 0x6476_6864;

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

/// How a transaction locks a tenant's hold register on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterLock {
    /// A writer that reads the register.
    Shared,
    /// Placing a hold.
    Exclusive,
}

/// Takes the PostgreSQL advisory lock on `tenant`'s hold register for the rest of the
/// transaction: shared for a writer that reads it, exclusive for placing a hold. Nothing on
/// the other backends (see the module docs).
pub async fn lock_register(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    mode: RegisterLock,
) -> Result<()> {
    // A kommunenummer is four digits (checked when parsed): it fits an int4.
    let key: i32 = tenant.as_str().parse().unwrap_or(0);
    let mode = match mode {
        RegisterLock::Exclusive => LockMode::Exclusive,
        RegisterLock::Shared => LockMode::Shared,
    };
    conn.advisory_lock_on_postgres(HOLD_LOCK_CLASS, key, mode)
        .await?;
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
pub async fn active_in(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    now: OffsetDateTime,
) -> Result<HoldSet> {
    let holds = read_in_transaction(conn, tenant, &unreleased(tenant), now).await?;
    Ok(HoldSet { holds })
}

/// The holds of `tenant` not released (expired ones included), oldest first: the query
/// [`active_in`] reads in a write transaction and `LegalHolds::active` outside one.
pub fn unreleased(tenant: Kommunenummer) -> sea_query::SelectStatement {
    select(tenant)
        .and_where(Expr::col(Alias::new("released_at")).is_null())
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned()
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
    /// The holds of `holds` active at `now`.
    pub fn active_at(holds: Vec<LegalHold>, now: OffsetDateTime) -> HoldSet {
        let holds = holds
            .into_iter()
            .filter(|hold| hold.is_active(now))
            .collect();
        HoldSet { holds }
    }

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

/// `SELECT … FROM dv_legal_holds WHERE tenant = ?`.
pub fn select(tenant: Kommunenummer) -> sea_query::SelectStatement {
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
#[derive(datavern_sql::FromRow)]
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

/// The holds `query` (a [`select`] the caller narrowed, perhaps with a row lock) returns, on
/// the caller's connection.
pub async fn fetch(
    conn: &mut Conn<'_>,
    query: &sea_query::SelectStatement,
) -> Result<Vec<LegalHold>> {
    let rows: Vec<HoldRow> = conn.fetch_all(query).await?;
    rows.into_iter().map(HoldRow::into_hold).collect()
}
