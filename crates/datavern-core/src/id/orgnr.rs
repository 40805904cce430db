//! Organisasjonsnummer: the 9-digit number of a legal entity in Enhetsregisteret
//! (Brønnøysundregistrene).

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::digits::{self, Format, SeparatorsAt};

/// Weights of the check digit over digits 1–8.
pub(crate) const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// A valid organisasjonsnummer.
///
/// An enkeltpersonforetak's number points at one person, so like every identifier type it has
/// no `Display` and its `Debug` redacts; [`Organisasjonsnummer::formatted`] gives the usual
/// `988 077 917` grouping.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Organisasjonsnummer {
    digits: [u8; 9],
}

impl Organisasjonsnummer {
    /// Parses 9 digits, plain (`988077917`) or grouped by spaces (`988 077 917`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::After(&[3, 6]),
            separators: &[' '],
            expected: "a digit (or a space between groups of three)",
        };
        let digits = digits::read_digits::<9>(input, &FORMAT)?;
        Self::from_digits(&digits)
    }

    /// Validates 9 ASCII digits: the allocation-free path for scanners.
    #[inline]
    pub fn from_digits(digits: &[u8; 9]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        if !digits::mod11_valid(digits, &WEIGHTS) {
            return Err(IdError::CheckDigit);
        }
        Ok(Organisasjonsnummer { digits: *digits })
    }

    /// The 9 digits, without formatting.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }

    /// The 9 ASCII digits.
    pub fn digits(&self) -> &[u8; 9] {
        &self.digits
    }

    /// The number grouped the usual way: `988 077 917`.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
    }
}

impl fmt::Debug for Organisasjonsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Organisasjonsnummer(..)")
    }
}

impl FromStr for Organisasjonsnummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
