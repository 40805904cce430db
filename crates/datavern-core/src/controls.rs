//! The data subject's controls over processing, checked at the decision point for every
//! record a request touches: consent (Art. 6(1)(a), 7), restriction (Art. 18) and objection
//! (Art. 21).
//!
//! [`access::decide`](crate::access::decide) settles what does not depend on the record;
//! these rules need the record's data subjects, which only the store knows when it reads the
//! row. The store reads the facts ([`SubjectControls`]) in the same statement as the record
//! and asks [`check`]:
//!
//! 1. **restriction** (`processing_restricted`): a record of a restricted subject is never
//!    written (create, update, delete), and read only for purposes the catalog marks
//!    `allowed_under_restriction` (legal claims, storage, …; Art. 18(2));
//! 2. **objection** (`objection_upheld`): a subject who objected is not processed, read or
//!    written, for the purposes objected to, if their basis is 6(1)(e) or 6(1)(f) (Art.
//!    21(1): the controller must stop unless it shows compelling grounds, which lifting the
//!    objection records);
//! 3. **consent** (`consent_required`): for a purpose resting on consent, the subject's
//!    current consent must be granted (a withdrawal takes effect on the next request).
//!
//! ```
//! use datavern_core::access::{self, AccessRequest, ConsentState, Principal, PrincipalId};
//! use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
//! use datavern_core::classification::Classification;
//! use datavern_core::controls::{self, SubjectControls};
//!
//! let catalog = Catalog::from_yaml(include_str!("../../../examples/kommune.yaml"))?;
//! let bergen = Kommunenummer::parse("4601")?;
//! let principal = Principal::new(PrincipalId::parse("saksbehandler")?, bergen, Classification::Begrenset)
//!     .with_purposes([PurposeId::parse("kommunikasjon")?]);
//! let request = AccessRequest::read("innbyggere", bergen).with_purpose(Some("kommunikasjon"));
//! let grant = access::decide(&catalog, &principal, &request)?;
//! let restricted = SubjectControls { restricted: true, ..SubjectControls::default() };
//! assert_eq!(
//!     controls::check(&catalog, &grant, &restricted).unwrap_err().code(),
//!     "processing_restricted"
//! );
//! assert!(controls::check(&catalog, &grant, &SubjectControls::default()).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::access::{ConsentCheck, ConsentState, Denial, Grant};
use crate::catalog::{Catalog, LawfulBasis, Purpose};

/// What the store knows about a record's data subjects when it reads the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubjectControls {
    /// The primary subject's current consent to the grant's purpose (only looked up when the
    /// grant's consent check is per record; [`ConsentState::Unknown`] otherwise).
    pub consent: ConsentState,
    /// Whether processing of the record is restricted (the row's restriction mark, or, for a
    /// create, an active restriction of a subject it refers to).
    pub restricted: bool,
    /// Whether one of the record's subjects has an active objection covering the grant's
    /// purpose.
    pub objected: bool,
}

/// Which facts a grant needs looked up, so the store adds to its statements only what the
/// purpose calls for (the restriction mark is on the row and always read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlNeeds {
    /// The primary subject's current consent to the purpose.
    pub consent: bool,
    /// Whether a subject objected to the purpose.
    pub objection: bool,
}

/// Whether a subject may object (Art. 21(1)) to processing on `basis`: 6(1)(e) public task
/// and 6(1)(f) legitimate interests.
pub fn objectionable(basis: LawfulBasis) -> bool {
    matches!(
        basis,
        LawfulBasis::PublicTask | LawfulBasis::LegitimateInterests
    )
}

/// The lookups `grant` needs: consent when its check is per record, objection when its
/// purpose rests on 6(1)(e) or 6(1)(f).
pub fn needs(catalog: &Catalog, grant: &Grant) -> ControlNeeds {
    ControlNeeds {
        consent: grant.consent() == ConsentCheck::PerRecord,
        objection: purpose(catalog, grant).is_some_and(|p| objectionable(p.lawful_basis())),
    }
}

/// Whether `grant` may touch a record whose subjects' controls are `controls`; the first rule
/// that fails (restriction, objection, consent, in that order) is the denial.
pub fn check(catalog: &Catalog, grant: &Grant, controls: &SubjectControls) -> Result<(), Denial> {
    let declared = purpose(catalog, grant);
    if controls.restricted {
        let write = grant.operation().is_write();
        let allowed = !write && declared.is_some_and(|p| p.allowed_under_restriction().is_some());
        if !allowed {
            return Err(Denial::ProcessingRestricted {
                purpose: grant.purpose().clone(),
                write,
            });
        }
    }
    if controls.objected && declared.is_some_and(|p| objectionable(p.lawful_basis())) {
        return Err(Denial::ObjectionUpheld {
            purpose: grant.purpose().clone(),
        });
    }
    if !grant.admits(controls.consent) {
        return Err(Denial::ConsentRequired {
            purpose: grant.purpose().clone(),
            state: controls.consent,
        });
    }
    Ok(())
}

fn purpose<'c>(catalog: &'c Catalog, grant: &Grant) -> Option<&'c Purpose> {
    catalog.purpose(grant.purpose().as_str())
}

/// Why processing of a subject is restricted: the grounds of GDPR Art. 18(1), and erasure
/// answered by restriction because the records must be preserved (Art. 17(3)(b)/(d),
/// arkivplikt). Stored and audited as its code, never as free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RestrictionReason {
    /// `accuracy_contested`: Art. 18(1)(a), while the accuracy is verified.
    AccuracyContested,
    /// `unlawful_processing`: Art. 18(1)(b), the subject asks for restriction instead of
    /// erasure.
    UnlawfulProcessing,
    /// `legal_claims`: Art. 18(1)(c), the subject needs the data for legal claims.
    LegalClaims,
    /// `objection_pending`: Art. 18(1)(d), while an objection is considered.
    ObjectionPending,
    /// `archive_duty`: an erasure request answered with restriction because the records must
    /// be preserved (Art. 17(3)(b)/(d), arkivlova).
    ArchiveDuty,
}

/// A restriction reason that is not one of the known codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown restriction reason `{0}`: use accuracy_contested, unlawful_processing, \
     legal_claims, objection_pending or archive_duty"
)]
pub struct UnknownRestrictionReason(String);

impl RestrictionReason {
    /// Every reason.
    pub const ALL: [RestrictionReason; 5] = [
        RestrictionReason::AccuracyContested,
        RestrictionReason::UnlawfulProcessing,
        RestrictionReason::LegalClaims,
        RestrictionReason::ObjectionPending,
        RestrictionReason::ArchiveDuty,
    ];

    /// The stored and wire code, e.g. `accuracy_contested`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionReason::AccuracyContested => "accuracy_contested",
            RestrictionReason::UnlawfulProcessing => "unlawful_processing",
            RestrictionReason::LegalClaims => "legal_claims",
            RestrictionReason::ObjectionPending => "objection_pending",
            RestrictionReason::ArchiveDuty => "archive_duty",
        }
    }
}

impl std::str::FromStr for RestrictionReason {
    type Err = UnknownRestrictionReason;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        RestrictionReason::ALL
            .into_iter()
            .find(|r| r.as_str() == input)
            .ok_or_else(|| UnknownRestrictionReason(input.chars().take(64).collect()))
    }
}

impl std::fmt::Display for RestrictionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
