//! Norwegian identifiers: fødselsnummer and its variants, D-nummer, H-nummer, Tenor synthetic
//! numbers, FH-nummer, DUF-nummer, organisasjonsnummer, MVA-nummer, kontonummer, IBAN (NO),
//! phone numbers, postnummer and e-mail addresses.
//!
//! Parse, don't validate: each kind has a type built only from a valid value
//! ([`Fodselsnummer::parse`], …), and [`check`] is the single entry point by
//! [`IdentifierKind`]. Scanners use the allocation-free `from_digits` constructors. Every type's
//! `Debug` redacts the value; see `docs/identifiers.md` for the rules and their sources.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod digits;
mod duf;
mod email;
mod error;
mod fnr;
mod iban;
mod kontonr;
mod mva;
mod orgnr;
mod phone;
mod postnummer;
pub mod synth;

pub use duf::DufNummer;
pub use email::EmailAddress;
pub use error::{DateError, EmailError, IdError};
pub use fnr::{ChecksumRule, FnrVariant, Fodselsnummer};
pub use iban::Iban;
pub use kontonr::Kontonummer;
pub use mva::MvaNummer;
pub use orgnr::Organisasjonsnummer;
pub use phone::{PhoneNumber, PhoneVariant};
pub use postnummer::Postnummer;

/// Checks `input` as an identifier of `kind` and returns the typed value.
pub fn check(kind: IdentifierKind, input: &str) -> Result<Identifier, IdError> {
    Ok(match kind {
        IdentifierKind::Fnr => Identifier::Fnr(Fodselsnummer::parse(input)?),
        IdentifierKind::Duf => Identifier::Duf(DufNummer::parse(input)?),
        IdentifierKind::Orgnr => Identifier::Orgnr(Organisasjonsnummer::parse(input)?),
        IdentifierKind::Mva => Identifier::Mva(MvaNummer::parse(input)?),
        IdentifierKind::Kontonr => Identifier::Kontonr(Kontonummer::parse(input)?),
        IdentifierKind::Iban => Identifier::Iban(Iban::parse(input)?),
        IdentifierKind::Phone => Identifier::Phone(PhoneNumber::parse(input)?),
        IdentifierKind::Postnummer => Identifier::Postnummer(Postnummer::parse(input)?),
        IdentifierKind::Email => Identifier::Email(EmailAddress::parse(input)?),
    })
}

/// A valid identifier of any kind, as returned by [`check`]. `Debug` redacts (it shows the
/// kind and, where there is one, the variant).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Identifier {
    /// A fødselsnummer or one of its variants.
    Fnr(Fodselsnummer),
    /// A DUF-nummer.
    Duf(DufNummer),
    /// An organisasjonsnummer.
    Orgnr(Organisasjonsnummer),
    /// An MVA-nummer.
    Mva(MvaNummer),
    /// A kontonummer.
    Kontonr(Kontonummer),
    /// A Norwegian IBAN.
    Iban(Iban),
    /// A Norwegian phone number.
    Phone(PhoneNumber),
    /// A postnummer.
    Postnummer(Postnummer),
    /// An e-mail address.
    Email(EmailAddress),
}

impl Identifier {
    /// The kind of identifier.
    pub fn kind(&self) -> IdentifierKind {
        match self {
            Identifier::Fnr(_) => IdentifierKind::Fnr,
            Identifier::Duf(_) => IdentifierKind::Duf,
            Identifier::Orgnr(_) => IdentifierKind::Orgnr,
            Identifier::Mva(_) => IdentifierKind::Mva,
            Identifier::Kontonr(_) => IdentifierKind::Kontonr,
            Identifier::Iban(_) => IdentifierKind::Iban,
            Identifier::Phone(_) => IdentifierKind::Phone,
            Identifier::Postnummer(_) => IdentifierKind::Postnummer,
            Identifier::Email(_) => IdentifierKind::Email,
        }
    }

    /// A stable lowercase label of the variant, for kinds that have variants: `fodselsnummer`,
    /// `d-nummer`, `h-nummer`, `tenor`, `tenor-d-nummer`, `fh-nummer` (fnr); `mobile`,
    /// `landline`, `other` (phone). `None` for the other kinds.
    pub fn variant(&self) -> Option<&'static str> {
        match self {
            Identifier::Fnr(fnr) => Some(fnr.variant().as_str()),
            Identifier::Phone(phone) => Some(phone.variant().as_str()),
            _ => None,
        }
    }

    /// The value in canonical form: digits only for numbers, `NO…MVA` for an MVA-nummer, the
    /// electronic form of an IBAN, the national 8 digits of a phone number, the trimmed e-mail
    /// address. Personal data for most kinds: handle with care.
    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Fnr(value) => value.as_str(),
            Identifier::Duf(value) => value.as_str(),
            Identifier::Orgnr(value) => value.as_str(),
            Identifier::Mva(value) => value.as_str(),
            Identifier::Kontonr(value) => value.as_str(),
            Identifier::Iban(value) => value.as_str(),
            Identifier::Phone(value) => value.as_str(),
            Identifier::Postnummer(value) => value.as_str(),
            Identifier::Email(value) => value.as_str(),
        }
    }
}

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
