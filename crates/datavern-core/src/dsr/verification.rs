//! How the requester's identity was verified (Art. 12(6)), and the four-eyes rule: which
//! request types a second principal must verify before they run.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::RequestType;
use crate::id::Fodselsnummer;

/// The longest evidence reference accepted, in characters.
pub const MAX_EVIDENCE_LEN: usize = 128;

/// The means by which the requester's identity was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VerificationMethod {
    /// Signed in with ID-porten (MinID, BankID, Buypass, Commfides through ID-porten).
    IdPorten,
    /// Met in person and showed identification.
    InPerson,
    /// BankID directly (not through ID-porten).
    BankId,
    /// A letter to the address in Folkeregisteret, answered.
    Letter,
    /// Another means; say which in the evidence reference.
    Other,
}

/// Not one of the verification methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown verification method: use id_porten, in_person, bankid, letter or other")]
pub struct UnknownVerificationMethod;

impl VerificationMethod {
    /// Every method.
    pub const ALL: [VerificationMethod; 5] = [
        VerificationMethod::IdPorten,
        VerificationMethod::InPerson,
        VerificationMethod::BankId,
        VerificationMethod::Letter,
        VerificationMethod::Other,
    ];

    /// The stored name: `id_porten`, `in_person`, `bankid`, `letter`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationMethod::IdPorten => "id_porten",
            VerificationMethod::InPerson => "in_person",
            VerificationMethod::BankId => "bankid",
            VerificationMethod::Letter => "letter",
            VerificationMethod::Other => "other",
        }
    }
}

impl fmt::Display for VerificationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VerificationMethod {
    type Err = UnknownVerificationMethod;

    /// The stored name; `-` is accepted for `_` (`id-porten`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase().replace('-', "_");
        VerificationMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or(UnknownVerificationMethod)
    }
}

/// A reference to where the evidence of a verification is kept (an archive case or document
/// number, an ID-porten transaction id): never the evidence itself. 1 to
/// [`MAX_EVIDENCE_LEN`] characters of letters, digits, space and `-_./:#`, and no national
/// identity number, so it cannot carry personal data such as a name, an address or a
/// fødselsnummer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRef(String);

/// An evidence reference that cannot be accepted. The message never repeats the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Blank.
    #[error("the evidence reference is empty: leave it out, or give where the evidence is kept")]
    Empty,
    /// Longer than [`MAX_EVIDENCE_LEN`] characters.
    #[error("the evidence reference is longer than {MAX_EVIDENCE_LEN} characters")]
    TooLong,
    /// A character outside letters, digits, space and `-_./:#`.
    #[error(
        "the evidence reference may hold letters, digits, space and `-_./:#` only: give a \
         case or document number, never personal data"
    )]
    Characters,
    /// It contains a fødselsnummer (or D-, H-, FH- or synthetic number).
    #[error(
        "the evidence reference contains a national identity number: give a case or document \
         number, never personal data"
    )]
    NationalId,
}

impl EvidenceRef {
    /// A reference from `text`, trimmed.
    pub fn parse(text: &str) -> Result<Self, EvidenceError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EvidenceError::Empty);
        }
        if text.chars().count() > MAX_EVIDENCE_LEN {
            return Err(EvidenceError::TooLong);
        }
        if !text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '/' | ':' | '#'))
        {
            return Err(EvidenceError::Characters);
        }
        if contains_national_id(text) {
            return Err(EvidenceError::NationalId);
        }
        Ok(EvidenceRef(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether any 11 consecutive digits of `text` form a valid national identity number.
fn contains_national_id(text: &str) -> bool {
    let digits: Vec<char> = text.chars().collect();
    digits.windows(11).any(|window| {
        window.iter().all(char::is_ascii_digit)
            && Fodselsnummer::parse(&window.iter().collect::<String>()).is_ok()
    })
}

/// How a request's requester was verified: the method and, optionally, where the evidence is
/// kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The means.
    pub method: VerificationMethod,
    /// Where the evidence is kept, if recorded.
    pub evidence: Option<EvidenceRef>,
}

impl Verification {
    /// A verification by `method`, without an evidence reference.
    pub fn new(method: VerificationMethod) -> Self {
        Verification {
            method,
            evidence: None,
        }
    }

    /// The same with the evidence reference `evidence`.
    pub fn with_evidence(mut self, evidence: EvidenceRef) -> Self {
        self.evidence = Some(evidence);
        self
    }
}

/// The four-eyes rule: the request types whose run needs a second principal, that is, whose
/// runner must not be the principal who verified the requester's identity. By default
/// erasure and rectification (they destroy or change data irreversibly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourEyes {
    types: BTreeSet<RequestType>,
}

impl Default for FourEyes {
    fn default() -> Self {
        FourEyes::for_types([RequestType::Erasure, RequestType::Rectification])
    }
}

impl FourEyes {
    /// The rule for `types`.
    pub fn for_types(types: impl IntoIterator<Item = RequestType>) -> Self {
        FourEyes {
            types: types.into_iter().collect(),
        }
    }

    /// Whether running a request of `request_type` needs a second principal.
    pub fn requires(&self, request_type: RequestType) -> bool {
        self.types.contains(&request_type)
    }

    /// The request types the rule covers, in order.
    pub fn types(&self) -> impl Iterator<Item = RequestType> + '_ {
        self.types.iter().copied()
    }

    /// Whether `runner` may run a request of `request_type` that `verified_by` verified:
    /// always for a type the rule does not cover, else only when they are different
    /// principals (and the request was verified by someone).
    pub fn allows(
        &self,
        request_type: RequestType,
        verified_by: Option<&str>,
        runner: &str,
    ) -> bool {
        !self.requires(request_type) || verified_by.is_some_and(|verifier| verifier != runner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_by_name_and_with_hyphens() {
        assert_eq!("id-porten".parse(), Ok(VerificationMethod::IdPorten));
        assert_eq!("in_person".parse(), Ok(VerificationMethod::InPerson));
        assert_eq!("BankID".parse(), Ok(VerificationMethod::BankId));
        assert!("telepathy".parse::<VerificationMethod>().is_err());
    }

    #[test]
    fn evidence_refuses_personal_data() {
        assert!(EvidenceRef::parse("2026/1234-5").is_ok());
        assert!(EvidenceRef::parse("idporten:550e8400-e29b-41d4-a716-446655440000").is_ok());
        assert_eq!(
            EvidenceRef::parse("pass for 15108695088"),
            Err(EvidenceError::NationalId)
        );
        assert_eq!(
            EvidenceRef::parse("kari@example.no"),
            Err(EvidenceError::Characters)
        );
        assert_eq!(EvidenceRef::parse("  "), Err(EvidenceError::Empty));
        assert_eq!(
            EvidenceRef::parse(&"x".repeat(MAX_EVIDENCE_LEN + 1)),
            Err(EvidenceError::TooLong)
        );
    }

    #[test]
    fn four_eyes_covers_erasure_and_rectification_by_default() {
        let rule = FourEyes::default();
        assert!(!rule.allows(RequestType::Erasure, Some("a"), "a"));
        assert!(rule.allows(RequestType::Erasure, Some("a"), "b"));
        assert!(!rule.allows(RequestType::Rectification, None, "b"));
        assert!(rule.allows(RequestType::Access, Some("a"), "a"));
        assert!(FourEyes::for_types([]).allows(RequestType::Erasure, Some("a"), "a"));
    }
}
