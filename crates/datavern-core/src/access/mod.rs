//! Access decisions: may this principal do this operation on this collection, for this
//! purpose, and with which fields?
//!
//! The server authenticates a caller into a [`Principal`] (tenant, roles, clearance, allowed
//! purposes), describes what is asked as an [`AccessRequest`] (operation, collection, the
//! target's tenant, the `Datavern-Purpose` header, the field of a lookup, the subject's
//! consent) and calls [`decide`]. The answer is a [`Grant`] listing the fields that may be
//! read and written and those **withheld** (so the response can say what it leaves out), or
//! a [`Denial`] with a stable code, a [`DenialKind`] the server maps to 400, 403 or 404, and
//! a message that says what to fix. Either way, [`AuditFacts`] carries what the audit entry
//! records.
//!
//! ```
//! use datavern_core::access::{self, AccessRequest, Principal, PrincipalId, WithheldReason};
//! use datavern_core::catalog::{Catalog, Kommunenummer, PurposeId};
//! use datavern_core::classification::Classification;
//!
//! # let catalog = Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap();
//! let bergen = Kommunenummer::parse("4601").unwrap();
//! let principal = Principal::new(
//!     PrincipalId::parse("brevtjenesten").unwrap(),
//!     bergen,
//!     Classification::Apen,
//! )
//! .with_purposes([PurposeId::parse("kommunikasjon").unwrap()]);
//!
//! let request = AccessRequest::read("innbyggere", bergen).with_purpose(Some("kommunikasjon"));
//! let grant = access::decide(&catalog, &principal, &request).unwrap();
//! assert!(grant.may_read("adresse"));
//! // personopplysningsloven § 12: no fødselsnummer for sending letters.
//! assert_eq!(grant.withheld()[0].field, "fodselsnummer");
//! assert_eq!(grant.withheld()[0].reason, WithheldReason::Purpose);
//!
//! let request = AccessRequest::read("innbyggere", bergen).with_purpose(Some("helse_omsorg"));
//! let denial = access::decide(&catalog, &principal, &request).unwrap_err();
//! assert_eq!(denial.code(), "purpose_not_allowed");
//! ```
//!
//! Pure: no I/O, no clock, no consent register. The rules and their order are documented on
//! [`decide`] and in `docs/access.md`.

mod audit;
mod decide;
mod denial;
mod grant;
mod principal;
mod request;

pub use audit::{AuditFacts, Outcome};
pub use decide::decide;
pub use denial::{Denial, DenialKind};
pub use grant::{ConsentCheck, Grant, Withheld, WithheldReason};
pub use principal::{InvalidPrincipal, MAX_PRINCIPAL_ID_LEN, Principal, PrincipalId, Role};
pub use request::{AccessRequest, ConsentState, Operation};
