//! Norwegian phone numbers: 8 digits, optionally with the country code `+47` or `0047`.

use std::fmt;
use std::str::FromStr;

use super::IdError;
use super::digits::{self, Format, SeparatorsAt};

/// A Norwegian 8-digit phone number that can exist in the national numbering plan (Nkom).
///
/// Whether it is in use is not known here. Personal data: `Debug` redacts, there is no
/// `Display`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    /// The 8 national digits.
    digits: [u8; 8],
    variant: PhoneVariant,
}

/// What kind of number a [`PhoneNumber`] is, from its first digit. Numbers are portable between
/// operators but not between these ranges, so the label is reliable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PhoneVariant {
    /// Mobile: numbers starting with 4 or 9.
    Mobile,
    /// Landline (geographic numbers): starting with 2, 3, 5, 6 or 7.
    Landline,
    /// Location-independent and service numbers starting with 8 (800 freephone, 810/815/820
    /// shared-cost and premium services, …): usually a business, not a person.
    Other,
}

impl PhoneNumber {
    /// Parses 8 digits, optionally after `+47` or `0047`, with spaces or hyphens between digit
    /// groups in any grouping (`+47 912 34 567`, `0047 22 22 22 22`, `91234567`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::BetweenDigits,
            separators: &[' ', '-'],
            expected: "a digit (or a space or hyphen between digits)",
        };
        let (offset, trimmed) = digits::trim_start_counted(input);
        if trimmed.is_empty() {
            return Err(IdError::Empty);
        }
        let (prefix_len, national) = if let Some(rest) = trimmed.strip_prefix("+47") {
            (3, rest)
        } else if let Some(rest) = trimmed.strip_prefix("0047") {
            (4, rest)
        } else if trimmed.starts_with('+') || trimmed.starts_with("00") {
            return Err(IdError::ForeignCountryCode);
        } else {
            (0, trimmed)
        };
        let (inner_offset, national) = digits::trim_start_counted(national);
        let digits = digits::read_trimmed_digits::<8>(
            national,
            offset + prefix_len + inner_offset,
            &FORMAT,
        )?;
        Self::from_digits(&digits)
    }

    /// Validates 8 ASCII national digits without allocating.
    pub fn from_digits(digits: &[u8; 8]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        let variant = match digits[0] {
            b'4' | b'9' => PhoneVariant::Mobile,
            b'2' | b'3' | b'5' | b'6' | b'7' => PhoneVariant::Landline,
            b'8' => PhoneVariant::Other,
            // 0 starts 5-digit numbers and the international prefix, 1 the short numbers.
            first => {
                return Err(IdError::ImpossiblePhoneNumber {
                    first_digit: first - b'0',
                });
            }
        };
        Ok(PhoneNumber {
            digits: *digits,
            variant,
        })
    }

    /// Mobile, landline or other.
    pub fn variant(&self) -> PhoneVariant {
        self.variant
    }

    /// The 8 national digits, without country code or spaces.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }

    /// The E.164 form: `+4791234567`.
    pub fn e164(&self) -> String {
        format!("+47{}", self.as_str())
    }
}

impl PhoneVariant {
    /// A stable lowercase label: `mobile`, `landline` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneVariant::Mobile => "mobile",
            PhoneVariant::Landline => "landline",
            PhoneVariant::Other => "other",
        }
    }
}

impl fmt::Display for PhoneVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneNumber")
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

impl FromStr for PhoneNumber {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
