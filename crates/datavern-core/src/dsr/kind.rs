//! What a request asks for, and whom it concerns.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::id::{FnrVariant, Fodselsnummer};

/// The right a data subject exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RequestType {
    /// Right of access (Art. 15): the data, with purposes, legal basis, recipients, retention
    /// and source.
    Access,
    /// Right to data portability (Art. 20): the data in a machine-readable format.
    Portability,
    /// Right to rectification (Art. 16).
    Rectification,
    /// Right to erasure (Art. 17).
    Erasure,
    /// Right to restriction of processing (Art. 18).
    Restriction,
    /// Right to object (Art. 21).
    Objection,
}

/// Not one of the request types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown request type: use access, portability, rectification, erasure, restriction or \
     objection"
)]
pub struct UnknownRequestType;

impl RequestType {
    /// Every type, in article order.
    pub const ALL: [RequestType; 6] = [
        RequestType::Access,
        RequestType::Rectification,
        RequestType::Erasure,
        RequestType::Restriction,
        RequestType::Portability,
        RequestType::Objection,
    ];

    /// The name used in the API, the CLI and the store: `access`, `portability`, …
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Access => "access",
            RequestType::Portability => "portability",
            RequestType::Rectification => "rectification",
            RequestType::Erasure => "erasure",
            RequestType::Restriction => "restriction",
            RequestType::Objection => "objection",
        }
    }

    /// The GDPR article that grants the right, e.g. `Art. 15`.
    pub fn article(self) -> &'static str {
        match self {
            RequestType::Access => "Art. 15",
            RequestType::Rectification => "Art. 16",
            RequestType::Erasure => "Art. 17",
            RequestType::Restriction => "Art. 18",
            RequestType::Portability => "Art. 20",
            RequestType::Objection => "Art. 21",
        }
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestType {
    type Err = UnknownRequestType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownRequestType)
    }
}

/// How the subject of a request was named: which kind of national id, or a subject id.
/// Recorded with the request (the number itself never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentifiedBy {
    /// An ordinary fødselsnummer.
    Fodselsnummer,
    /// A D-nummer.
    DNummer,
    /// An H-nummer.
    HNummer,
    /// A synthetic (Tenor) test number.
    Synthetic,
    /// An FH-nummer.
    FhNummer,
    /// A subject id (the UUID datavern gives a person).
    SubjectId,
}

impl IdentifiedBy {
    /// Every kind.
    pub const ALL: [IdentifiedBy; 6] = [
        IdentifiedBy::Fodselsnummer,
        IdentifiedBy::DNummer,
        IdentifiedBy::HNummer,
        IdentifiedBy::Synthetic,
        IdentifiedBy::FhNummer,
        IdentifiedBy::SubjectId,
    ];

    /// The stored name: `fodselsnummer`, `d_nummer`, `h_nummer`, `synthetic`, `fh_nummer`,
    /// `subject_id`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifiedBy::Fodselsnummer => "fodselsnummer",
            IdentifiedBy::DNummer => "d_nummer",
            IdentifiedBy::HNummer => "h_nummer",
            IdentifiedBy::Synthetic => "synthetic",
            IdentifiedBy::FhNummer => "fh_nummer",
            IdentifiedBy::SubjectId => "subject_id",
        }
    }

    /// The kind named `name` ([`as_str`](Self::as_str)).
    pub fn parse(name: &str) -> Option<Self> {
        IdentifiedBy::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for IdentifiedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a request concerns, as the requester named them. `Debug` and `Display` never show a
/// national id's digits.
#[derive(Clone, PartialEq, Eq)]
pub enum SubjectIdentifier {
    /// A fødselsnummer, D-, H-, FH- or synthetic number (checked).
    NationalId(Fodselsnummer),
    /// A subject id.
    SubjectId(Uuid),
}

/// Neither a valid national id nor a subject id. The message never repeats the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidIdentifier {
    /// Not a valid fødselsnummer (or D-, H-, FH-, synthetic number).
    #[error(
        "not a valid fødselsnummer: expected 11 digits with valid check digits (D-, H- and \
         synthetic numbers are accepted)"
    )]
    NationalId,
    /// Not a UUID.
    #[error("not a valid subject id: expected a UUID such as 0190b5d2-7c1e-7000-8000-000000000001")]
    SubjectId,
}

impl SubjectIdentifier {
    /// A checked fødselsnummer (or D-, H-, FH-, synthetic number).
    pub fn national_id(text: &str) -> Result<Self, InvalidIdentifier> {
        Fodselsnummer::parse(text)
            .map(SubjectIdentifier::NationalId)
            .map_err(|_| InvalidIdentifier::NationalId)
    }

    /// A subject id.
    pub fn subject_id(text: &str) -> Result<Self, InvalidIdentifier> {
        Uuid::parse_str(text.trim())
            .map(SubjectIdentifier::SubjectId)
            .map_err(|_| InvalidIdentifier::SubjectId)
    }

    /// Which kind of identifier this is.
    pub fn identified_by(&self) -> IdentifiedBy {
        match self {
            SubjectIdentifier::NationalId(fnr) => match fnr.variant() {
                FnrVariant::Fodselsnummer => IdentifiedBy::Fodselsnummer,
                FnrVariant::DNummer => IdentifiedBy::DNummer,
                FnrVariant::HNummer => IdentifiedBy::HNummer,
                FnrVariant::FhNummer => IdentifiedBy::FhNummer,
                _ => IdentifiedBy::Synthetic,
            },
            SubjectIdentifier::SubjectId(_) => IdentifiedBy::SubjectId,
        }
    }
}

impl fmt::Debug for SubjectIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectIdentifier::NationalId(_) => {
                write!(f, "SubjectIdentifier::NationalId({})", self.identified_by())
            }
            SubjectIdentifier::SubjectId(id) => write!(f, "SubjectIdentifier::SubjectId({id})"),
        }
    }
}
