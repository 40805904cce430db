//! MVA-nummer: an organisasjonsnummer registered in Merverdiavgiftsregisteret, written
//! `NO` + organisasjonsnummer + `MVA` (`NO988077917MVA`).

use std::fmt;
use std::str::FromStr;

use super::digits::{self, Format, SeparatorsAt};
use super::{IdError, Organisasjonsnummer};

/// A syntactically valid MVA-nummer (whether the entity is actually VAT-registered is a register
/// lookup, not done here). Like every identifier type: no `Display`, and `Debug` redacts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MvaNummer {
    orgnr: Organisasjonsnummer,
    /// `NO` + 9 digits + `MVA`, upper case, no spaces.
    canonical: [u8; 14],
}

impl MvaNummer {
    /// Parses `NO` + organisasjonsnummer + `MVA`, in any letter case, with or without spaces
    /// around the parts and between the digit groups (`NO 988 077 917 MVA`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::After(&[3, 6]),
            separators: &[' '],
            expected: "a digit (or a space between groups of three)",
        };
        let (offset, trimmed) = digits::trim_start_counted(input);
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        let rest = match trimmed.get(..2) {
            Some(prefix) if prefix.eq_ignore_ascii_case("NO") => &trimmed[2..],
            _ => return Err(IdError::MissingMvaPrefix),
        };
        let middle = match rest
            .len()
            .checked_sub(3)
            .and_then(|end| rest.get(end..).map(|suffix| (end, suffix)))
        {
            Some((end, suffix)) if suffix.eq_ignore_ascii_case("MVA") => &rest[..end],
            _ => return Err(IdError::MissingMvaSuffix),
        };
        let (inner_offset, number) = digits::trim_start_counted(middle);
        let digits = digits::read_trimmed_digits::<9>(number, offset + 2 + inner_offset, &FORMAT)?;
        Ok(Self::from_orgnr(Organisasjonsnummer::from_digits(&digits)?))
    }

    /// The MVA-nummer written for an organisasjonsnummer.
    pub fn from_orgnr(orgnr: Organisasjonsnummer) -> Self {
        let mut canonical = *b"NO000000000MVA";
        canonical[2..11].copy_from_slice(orgnr.digits());
        MvaNummer { orgnr, canonical }
    }

    /// The organisasjonsnummer inside.
    pub fn orgnr(&self) -> Organisasjonsnummer {
        self.orgnr
    }

    /// The canonical form: `NO988077917MVA`.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.canonical)
    }
}

impl fmt::Debug for MvaNummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MvaNummer(..)")
    }
}

impl FromStr for MvaNummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
