//! Norwegian identifiers: fødselsnummer and its variants, D-nummer, H-nummer, Tenor synthetic
//! numbers, FH-nummer, DUF-nummer, organisasjonsnummer, MVA-nummer, kontonummer, IBAN (NO),
//! phone numbers, postnummer and e-mail addresses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kinds of identifier datavern validates, as named in catalogs (`identifier: fnr`) and on
/// the command line (`datavern id check fnr …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierKind {
    /// Fødselsnummer and its variants (D-, H-, Tenor and FH-nummer): a national id.
    Fnr,
    /// DUF-nummer (12 digits, UDI).
    Duf,
    /// Organisasjonsnummer (9 digits).
    Orgnr,
    /// MVA-nummer: `NO` + organisasjonsnummer + `MVA`.
    Mva,
    /// Kontonummer (11 digits).
    Kontonr,
    /// Norwegian IBAN (15 characters).
    Iban,
    /// Norwegian phone number.
    Phone,
    /// Postnummer (4 digits).
    Postnummer,
    /// E-mail address.
    Email,
}

impl IdentifierKind {
    /// Every kind, in a stable order.
    pub const ALL: [IdentifierKind; 9] = [
        IdentifierKind::Fnr,
        IdentifierKind::Duf,
        IdentifierKind::Orgnr,
        IdentifierKind::Mva,
        IdentifierKind::Kontonr,
        IdentifierKind::Iban,
        IdentifierKind::Phone,
        IdentifierKind::Postnummer,
        IdentifierKind::Email,
    ];

    /// The catalog and command-line name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::Fnr => "fnr",
            IdentifierKind::Duf => "duf",
            IdentifierKind::Orgnr => "orgnr",
            IdentifierKind::Mva => "mva",
            IdentifierKind::Kontonr => "kontonr",
            IdentifierKind::Iban => "iban",
            IdentifierKind::Phone => "phone",
            IdentifierKind::Postnummer => "postnummer",
            IdentifierKind::Email => "email",
        }
    }

    /// Whether values of this kind are national identity numbers of a person
    /// (personopplysningsloven § 12 applies to them).
    pub fn is_national_id(self) -> bool {
        matches!(self, IdentifierKind::Fnr | IdentifierKind::Duf)
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no known identifier kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown identifier kind `{0}`: expected one of fnr, duf, orgnr, mva, kontonr, iban, phone, postnummer, email"
)]
pub struct UnknownIdentifierKind(pub String);

impl FromStr for IdentifierKind {
    type Err = UnknownIdentifierKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdentifierKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownIdentifierKind(s.to_owned()))
    }
}
