//! Kontonummer: an 11-digit Norwegian bank account number (BBAN).
//!
//! Four digits of bank registration number, two of account group, four of customer number and
//! a mod-11 check digit.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::digits::{self, Format, SeparatorsAt};

/// Weights of the check digit over digits 1–10.
pub(crate) const WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A valid kontonummer.
///
/// A person's account number is personal data: `Debug` redacts, there is no `Display`;
/// [`Kontonummer::formatted`] gives the usual `8601.11.17947` form.
///
/// Every valid fødselsnummer also passes this check (same length, and K2 uses the same
/// weights): a kontonummer on its own cannot be told apart from one; formatting and context can.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kontonummer {
    digits: [u8; 11],
}

impl Kontonummer {
    /// Parses 11 digits, plain (`86011117947`) or grouped 4-2-5 by dots or spaces
    /// (`8601.11.17947`, `8601 11 17947`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::After(&[4, 6]),
            separators: &['.', ' '],
            expected: "a digit (or a dot or space between the 4-2-5 groups)",
        };
        let digits = digits::read_digits::<11>(input, &FORMAT)?;
        Self::from_digits(&digits)
    }

    /// Validates 11 ASCII digits: the allocation-free path for scanners.
    #[inline]
    pub fn from_digits(digits: &[u8; 11]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        if !digits::mod11_valid(digits, &WEIGHTS) {
            return Err(IdError::CheckDigit);
        }
        Ok(Kontonummer { digits: *digits })
    }

    /// The 11 digits, without formatting. This is personal data when the account is a person's.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }

    /// The 11 ASCII digits.
    pub fn digits(&self) -> &[u8; 11] {
        &self.digits
    }

    /// The bank's registration number (the first four digits).
    pub fn bank_code(&self) -> &str {
        &self.as_str()[..4]
    }

    /// The number grouped the usual way: `8601.11.17947`.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{}.{}.{}", &s[..4], &s[4..6], &s[6..])
    }
}

impl fmt::Debug for Kontonummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kontonummer(..)")
    }
}

impl FromStr for Kontonummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
