//! Data subject requests (GDPR Art. 15–22): what a request is, the states it moves through,
//! and its deadline (Art. 12(3)).
//!
//! A request has a [`RequestType`] (access, portability, rectification, erasure, restriction,
//! objection), names its subject by a [`SubjectIdentifier`] (a fødselsnummer or a subject id;
//! the store keeps only the subject ids it resolves to, never the number), and moves through
//! [`RequestState`]s:
//!
//! ```text
//! received ──verify──► verified ──start──► in_progress ──finish──► completed
//!     │                    │                    │                  partially_completed
//!     └──────reject────────┴────────reject──────┴──────────────►  rejected
//! ```
//!
//! Verifying records *how* the identity was established ([`Verification`]: a
//! [`VerificationMethod`] and an optional [`EvidenceRef`], never personal data), and the
//! [`FourEyes`] rule says which types (by default erasure and rectification) a principal other
//! than the verifier must run.
//!
//! [`RequestState::apply`] is the only way to move, and names the illegal moves. The deadline
//! ([`Deadline`]) is one calendar month after receipt in Norwegian time, extendable by up to
//! two further months with a recorded reason, but only before the original due date has
//! passed. Time comes from a [`Clock`](crate::clock::Clock), so tests move it instead of sleeping.
//!
//! ```
//! use datavern_core::dsr::{Deadline, RequestState, Transition};
//!
//! let received: jiff::Timestamp = "2026-01-31T09:00:00Z".parse()?;
//! let deadline = Deadline::from_receipt(received);
//! assert_eq!(deadline.due_on().to_string(), "2026-02-28");
//! let state = RequestState::Received.apply(Transition::Verify)?;
//! assert_eq!(state, RequestState::Verified);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod deadline;
mod kind;
mod params;
mod state;
mod verification;

pub use self::deadline::{Deadline, ExtensionError, MAX_EXTENSION_MONTHS, oslo, today_in_oslo};
pub use self::kind::{
    IdentifiedBy, InvalidIdentifier, RequestType, SubjectIdentifier, UnknownRequestType,
};
pub use self::params::{InvalidParameters, MAX_REASON_LEN, Parameters, Reason, ReasonError};
pub use self::state::{IllegalTransition, RequestEvent, RequestState, Transition, UnknownState};
pub use self::verification::{
    EvidenceError, EvidenceRef, FourEyes, MAX_EVIDENCE_LEN, UnknownVerificationMethod,
    Verification, VerificationMethod,
};
