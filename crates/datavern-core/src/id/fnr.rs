//! Fødselsnummer and the numbers built like it: D-nummer, H-nummer, Tenor synthetic test
//! numbers and FH-nummer.
//!
//! `DDMMYYIIIKK`: date of birth, a three-digit individual number, two check digits. See
//! `docs/identifiers.md` for the rules and their sources.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use super::IdError;
use super::digits::{self, Format, SeparatorsAt};
use super::error::DateError;

/// Weights of the first check digit (K1) over digits 1–9.
pub(crate) const K1_WEIGHTS: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
/// Weights of the second check digit (K2) over digits 1–10.
pub(crate) const K2_WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A valid fødselsnummer or one of its variants (D-, H-, Tenor, FH-nummer).
///
/// This is personal data: `Debug` shows only the variant, there is no `Display`, and the digits
/// are reached through [`Fodselsnummer::as_str`] or [`Fodselsnummer::digits`] only.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fodselsnummer {
    digits: [u8; 11],
    variant: FnrVariant,
    rule: ChecksumRule,
}

/// Which kind of number a [`Fodselsnummer`] is, read from offsets in its date part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FnrVariant {
    /// An ordinary fødselsnummer, assigned by Folkeregisteret (Skatteetaten) at birth or when a
    /// person is registered as resident in Norway.
    Fodselsnummer,
    /// D-nummer: assigned by Skatteetaten to people who need a Norwegian identity number but are
    /// not registered as resident (foreign workers, property owners abroad, …). Day + 40.
    DNummer,
    /// H-nummer (hjelpenummer): assigned inside a health institution when a patient's real
    /// number is unknown; unique only within that institution. Month + 40.
    HNummer,
    /// A synthetic test fødselsnummer from Skatteetaten's Tenor test data (Testnorge): it never
    /// belongs to a real person. Month + 80.
    Tenor,
    /// A synthetic test D-nummer from Tenor: day + 40 and month + 80.
    TenorDNummer,
    /// FH-nummer (felles hjelpenummer): a nationally unique help number for the health sector
    /// when a person's identity is unknown. First digit 8 or 9; it holds no date.
    FhNummer,
}

/// Which rule the first check digit (K1) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChecksumRule {
    /// K1 = 11 − (S1 mod 11), where 11 becomes 0 and 10 is never issued: (S1 + K1) mod 11 = 0.
    Classic,
    /// Skatteetaten's rule for numbers issued from 2032: (S1 + K1) mod 11 ∈ {1, 2, 3}
    /// (0 is the classic rule). K2 is unchanged.
    Rule2032,
}

impl Fodselsnummer {
    /// Parses 11 digits, optionally with one space between the date and the individual part
    /// (`151086 95088`), and surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        const FORMAT: Format = Format {
            at: SeparatorsAt::After(&[6]),
            separators: &[' '],
            expected: "a digit (or one space after the date)",
        };
        let digits = digits::read_digits::<11>(input, &FORMAT)?;
        Self::from_digits(&digits)
    }

    /// Validates 11 ASCII digits: the allocation-free path for scanners.
    pub fn from_digits(digits: &[u8; 11]) -> Result<Self, IdError> {
        digits::check_ascii_digits(digits)?;
        let rule = checksum_rule_of(digits)?;
        let variant = variant_of(digits)?;
        Ok(Fodselsnummer {
            digits: *digits,
            variant,
            rule,
        })
    }

    /// Which kind of number this is.
    pub fn variant(&self) -> FnrVariant {
        self.variant
    }

    /// Which rule the first check digit follows.
    pub fn checksum_rule(&self) -> ChecksumRule {
        self.rule
    }

    /// The date written in the number (without the D/H/Tenor offsets), in the century its
    /// individual number gives.
    ///
    /// `None` for FH-nummer (no date), when no century rule matches the individual number and
    /// year, and when the date does not exist in that century (29 February 1900). Such numbers
    /// are still valid: a number is never rejected on its century. Numbers issued under the
    /// 2032 rule may not follow the century rule; treat the result as a hint, not a fact.
    pub fn birth_date(&self) -> Option<Date> {
        if self.variant == FnrVariant::FhNummer {
            return None;
        }
        let d = &self.digits;
        let day = two_digits(d[0], d[1]) % 40;
        let month = two_digits(d[2], d[3]) % 40;
        let year = two_digits(d[4], d[5]);
        let individual = digits::value(d[6]) * 100 + digits::value(d[7]) * 10 + digits::value(d[8]);
        let century = century(individual, year)?;
        Date::new(century + i16::from(year), month as i8, day as i8).ok()
    }

    /// The 11 digits, without formatting. This is the personal data itself: handle with care.
    pub fn as_str(&self) -> &str {
        digits::as_str(&self.digits)
    }

    /// The 11 ASCII digits.
    pub fn digits(&self) -> &[u8; 11] {
        &self.digits
    }
}

impl FnrVariant {
    /// Every variant, in a stable order.
    pub const ALL: [FnrVariant; 6] = [
        FnrVariant::Fodselsnummer,
        FnrVariant::DNummer,
        FnrVariant::HNummer,
        FnrVariant::Tenor,
        FnrVariant::TenorDNummer,
        FnrVariant::FhNummer,
    ];

    /// A stable lowercase label: `fodselsnummer`, `d-nummer`, `h-nummer`, `tenor`,
    /// `tenor-d-nummer`, `fh-nummer`.
    pub fn as_str(self) -> &'static str {
        match self {
            FnrVariant::Fodselsnummer => "fodselsnummer",
            FnrVariant::DNummer => "d-nummer",
            FnrVariant::HNummer => "h-nummer",
            FnrVariant::Tenor => "tenor",
            FnrVariant::TenorDNummer => "tenor-d-nummer",
            FnrVariant::FhNummer => "fh-nummer",
        }
    }

    /// Whether numbers of this variant are synthetic test numbers that belong to no one.
    pub fn is_synthetic(self) -> bool {
        matches!(self, FnrVariant::Tenor | FnrVariant::TenorDNummer)
    }
}

impl fmt::Display for FnrVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ChecksumRule {
    /// Both rules, in a stable order.
    pub const ALL: [ChecksumRule; 2] = [ChecksumRule::Classic, ChecksumRule::Rule2032];

    /// A stable lowercase label: `classic` or `2032`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumRule::Classic => "classic",
            ChecksumRule::Rule2032 => "2032",
        }
    }
}

impl fmt::Display for ChecksumRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Fodselsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fodselsnummer")
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

impl FromStr for Fodselsnummer {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Checks both check digits; tells which rule K1 follows.
#[inline]
fn checksum_rule_of(d: &[u8; 11]) -> Result<ChecksumRule, IdError> {
    let s1 = digits::weighted_sum(&d[..9], &K1_WEIGHTS);
    let rule = match (s1 + digits::value(d[9])) % 11 {
        0 => ChecksumRule::Classic,
        1..=3 => ChecksumRule::Rule2032,
        _ => return Err(IdError::FirstCheckDigit),
    };
    // K2 is the classic check digit over the first ten digits under both rules. Its weights are
    // all non-zero mod 11, so it alone catches any single-digit change in digits 1–10.
    let s2 = digits::weighted_sum(&d[..10], &K2_WEIGHTS);
    if !(s2 + digits::value(d[10])).is_multiple_of(11) {
        return Err(IdError::SecondCheckDigit);
    }
    Ok(rule)
}

/// Reads the variant from the date offsets and checks that the date exists in some century.
#[inline]
fn variant_of(d: &[u8; 11]) -> Result<FnrVariant, IdError> {
    if d[0] >= b'8' {
        return Ok(FnrVariant::FhNummer);
    }
    let raw_day = two_digits(d[0], d[1]);
    let raw_month = two_digits(d[2], d[3]);
    let year = two_digits(d[4], d[5]);

    let (day, d_nummer) = if raw_day > 40 {
        (raw_day - 40, true)
    } else {
        (raw_day, false)
    };
    let (month, month_offset) = match raw_month {
        1..=12 => (raw_month, 0),
        41..=52 => (raw_month - 40, 40),
        81..=92 => (raw_month - 80, 80),
        _ => return Err(IdError::InvalidDate(DateError::Month(raw_month))),
    };
    if day == 0 || day > 31 {
        return Err(IdError::InvalidDate(DateError::Day(raw_day)));
    }
    let variant = match (d_nummer, month_offset) {
        (false, 0) => FnrVariant::Fodselsnummer,
        (true, 0) => FnrVariant::DNummer,
        (false, 40) => FnrVariant::HNummer,
        (true, 40) => return Err(IdError::InvalidDate(DateError::DNummerWithHNummer)),
        (false, _) => FnrVariant::Tenor,
        (true, _) => FnrVariant::TenorDNummer,
    };
    // The century is deliberately not checked: accept the date if it exists in some century.
    // Only February 29 depends on the year, and 18yy, 19yy or 20yy is a leap year exactly
    // when yy is divisible by 4 (2000 is one).
    let days = match month {
        2 if year.is_multiple_of(4) => 29,
        2 => {
            if day == 29 {
                return Err(IdError::InvalidDate(DateError::LeapDay));
            }
            28
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > days {
        return Err(IdError::InvalidDate(DateError::DayInMonth { day, month }));
    }
    Ok(variant)
}

/// The century a birth year belongs to, from the individual number (the series of forskrift om
/// folkeregistrering § 2-2, carried on by folkeregisterforskriften), or `None` where no rule
/// matches.
pub(crate) fn century(individual: u32, year: u8) -> Option<i16> {
    match (individual, year) {
        (0..=499, _) => Some(1900),
        (500..=749, 54..=99) => Some(1800),
        (500..=999, 0..=39) => Some(2000),
        (900..=999, 40..=99) => Some(1900),
        _ => None,
    }
}

#[inline(always)]
fn two_digits(tens: u8, ones: u8) -> u8 {
    (digits::value(tens) * 10 + digits::value(ones)) as u8
}
