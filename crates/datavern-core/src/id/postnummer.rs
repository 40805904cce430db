//! Postnummer: a Norwegian 4-digit postal code. Only the format is checked; whether a code is
//! in Posten's register (and which poststed it names) is not.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::digits::{self, Format};

/// A postnummer in the range 0001–9999.
///
/// Alone it rarely identifies anyone, but combined with other fields it narrows a person down:
/// like every identifier type it has no `Display` and its `Debug` redacts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postnummer {
    digits: [u8; 4],
}

impl Postnummer {
    /// Parses exactly four digits (`0150`, `9990`); `0000` is rejected.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let digits = digits::read_digits::<4>(input, &Format::PLAIN)?;
        Self::from_digits(&digits)
    }

    /// Validates 4 ASCII digits without allocating.
    pub fn from_digits(digits: &[u8; 4]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        if digits == b"0000" {
            return Err(IdError::PostnummerZero);
        }
        Ok(Postnummer { digits: *digits })
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }
}

impl fmt::Debug for Postnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Postnummer(..)")
    }
}

impl FromStr for Postnummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
