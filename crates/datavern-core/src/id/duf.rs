//! DUF-nummer: the 12-digit registration number of a person in UDI's *Datasystemet for
//! utlendings- og flyktningsaker*, given to everyone who applies for protection or residence.
//!
//! `YYYY NNNNNN CC`: the year of the first application, a serial number, and two check digits.
//! UDI does not publish the check-digit rule; the one implemented here (weights 4 6 3 2 4 6 3 2
//! 7 5, mod 11, written as two digits `00`–`10`) is the one Statistics Norway's KOSTRA control
//! program validates municipal reports against. See `docs/identifiers.md` for the sources and
//! how sure we are.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::digits::{self, Format, SeparatorsAt};

/// Weights of the check number over digits 1–10.
pub(crate) const WEIGHTS: [u32; 10] = [4, 6, 3, 2, 4, 6, 3, 2, 7, 5];

/// A valid DUF-nummer. Personal data (a national id): `Debug` redacts, there is no `Display`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DufNummer {
    digits: [u8; 12],
}

impl DufNummer {
    /// Parses 12 digits, plain (`201212345603`) or grouped 4-6-2 by spaces as UDI prints them
    /// (`2012 123456 03`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::After(&[4, 10]),
            separators: &[' '],
            expected: "a digit (or a space between the 4-6-2 groups)",
        };
        let digits = digits::read_digits::<12>(input, &FORMAT)?;
        Self::from_digits(&digits)
    }

    /// Validates 12 ASCII digits without allocating.
    #[inline]
    pub fn from_digits(digits: &[u8; 12]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        let check = digits::value(digits[10]) * 10 + digits::value(digits[11]);
        if check_number(&digits[..10]) != check {
            return Err(IdError::CheckDigits);
        }
        Ok(DufNummer { digits: *digits })
    }

    /// The year of the person's first application to UDI (the first four digits).
    pub fn year(&self) -> u16 {
        self.digits[..4]
            .iter()
            .fold(0, |acc, &digit| acc * 10 + digits::value(digit) as u16)
    }

    /// The 12 digits, without formatting. This is the personal data itself: handle with care.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }

    /// The 12 ASCII digits.
    pub fn digits(&self) -> &[u8; 12] {
        &self.digits
    }
}

/// The two-digit check number (0–10) of the first ten digits.
pub(crate) fn check_number(first_ten: &[u8]) -> u32 {
    digits::weighted_sum(first_ten, &WEIGHTS) % 11
}

impl fmt::Debug for DufNummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DufNummer(..)")
    }
}

impl FromStr for DufNummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
