//! The executors of data subject requests (GDPR Art. 15–17 and 20): access, portability,
//! rectification and erasure of everything one person's subject ids reach, across every
//! collection of the catalog.
//!
//! The request lifecycle (who asked, due dates, states) lives elsewhere; it resolves the
//! person to their subject ids with [`Rights::resolve`] and runs one of the rights:
//!
//! ```text
//! resolve(fnr | subject id) → [SubjectId]   (blind-index lookup in every `subjects: self`
//!                                           collection with a searchable fnr field)
//! access(actor, ids)       → AccessReport   (one SELECT per collection; decrypted; Art. 15
//!                                           context from the catalog; each record audited)
//! portability(actor, ids)  → Portability    (JSON + zip of one CSV per collection)
//! rectify(actor, ids, ..)  → RectificationOutcome (one transaction; field names audited)
//! erase(actor, ids, now)   → ErasureOutcome (one data transaction with one statement per
//!                                           collection and part; then the keys destroyed)
//! ```
//!
//! Every query is set-based: one statement per collection (and per secondary reference for
//! erasure), never one per record, so a person with many records costs the same number of
//! round trips as one with a single record. `docs/rights.md` describes each right, what the
//! reports contain and why erasure destroys keys after its transaction commits.

mod access;
mod clearance;
mod erase;
mod error;
mod portability;
mod rectify;
mod resolve;
mod run;
pub(crate) mod value;

use std::fmt;

use datavern_core::catalog::Kommunenummer;
use datavern_core::classification::Classification;
use datavern_sql::At;
use sea_query::{Alias, Condition, Expr, SimpleExpr};
use uuid::Uuid;

pub use self::access::{
    AccessField, AccessRecord, AccessReport, CollectionAccess, ProcessingContext, PurposeContext,
    RetentionContext, SubjectRole,
};
pub use self::erase::{CollectionErasure, ErasureMethod, ErasureOutcome, KeyDestruction};
pub use self::error::RightsError;
pub use self::portability::{ExcludedCollection, PORTABILITY_JSON, Portability};
pub use self::rectify::{Correction, CorrectionOutcome, RectificationOutcome};
pub use self::run::{Delivery, Executed, RunError, RunInput};
pub use datavern_core::dsr::SubjectIdentifier;
use datavern_store::SubjectId;
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome};
use datavern_store::records::Records;
use datavern_store::table::{KeyOwner, Table};

/// Carries out data subject requests on a store's records.
///
/// Built from the [`Records`] the server already has (it shares its key cache, so an erased
/// subject's keys are evicted from the cache every request uses). Cheap to clone.
#[derive(Clone)]
pub struct Rights {
    records: Records,
}

/// Who carries out a request: the principal (case worker or service), the tenant, the
/// principal's clearance, and the data subject request's id, which becomes the `request_id`
/// of every audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actor {
    /// The principal's id.
    pub principal: String,
    /// The tenant whose records are concerned.
    pub tenant: Kommunenummer,
    /// The principal's clearance: with the deployment's accreditation, it caps the
    /// classification of what a right returns or changes (`clearance.rs`).
    pub clearance: Classification,
    /// The data subject request's id, if any.
    pub request_id: Option<String>,
}

impl Actor {
    /// `principal` acting in `tenant`, without a request id, capped by the deployment's
    /// accreditation only (the library caller is trusted; [`Rights::run`] gives the
    /// principal's clearance with [`with_clearance`](Self::with_clearance)).
    pub fn new(principal: impl Into<String>, tenant: Kommunenummer) -> Self {
        Actor {
            principal: principal.into(),
            tenant,
            clearance: Classification::StrengtHemmelig,
            request_id: None,
        }
    }

    /// The same with the principal's `clearance`.
    pub fn with_clearance(mut self, clearance: Classification) -> Self {
        self.clearance = clearance;
        self
    }

    /// The same with the data subject request's id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// An audit entry of `action` by this actor with `outcome` at `at`.
    fn entry(&self, at: At, action: AuditAction, outcome: AuditOutcome) -> AuditEntry {
        let entry = AuditEntry::new(
            at,
            Some(self.tenant),
            self.principal.as_str(),
            action,
            outcome,
        );
        match &self.request_id {
            Some(id) => entry.with_request_id(id.as_str()),
            None => entry,
        }
    }
}

impl Rights {
    /// The rights over `records`' store and catalog.
    pub fn new(records: Records) -> Self {
        Rights { records }
    }

    /// The record operations underneath.
    pub fn records(&self) -> &Records {
        &self.records
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rights")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// The subject ids as UUIDs, deduplicated, in order.
fn uuids(subjects: &[SubjectId]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = subjects.iter().map(SubjectId::as_uuid).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// How the subjects appear in a table's rows: `id IN (..)` for a person collection, any
/// subject column `IN (..)` for one with references; `None` for a collection about no one.
fn subject_filter(table: &Table, subjects: &[Uuid]) -> Option<SimpleExpr> {
    match table.key_owner() {
        KeyOwner::Record => Some(Expr::col(Alias::new("id")).is_in(subjects.iter().copied())),
        KeyOwner::PrimaryReference => {
            let mut any = Condition::any();
            for reference in &table.references {
                any = any.add(
                    Expr::col(Alias::new(reference.column.as_str()))
                        .is_in(subjects.iter().copied()),
                );
            }
            Some(any.into())
        }
        KeyOwner::OwnKey => None,
    }
}
