//! Shared digit handling: reading formatted input into a fixed buffer, and mod-11 arithmetic.

use super::IdError;

/// Where a separator may stand in a formatted number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SeparatorsAt {
    /// Only after exactly this many digits (e.g. `[4, 6]` for `8601.11.17947`).
    After(&'static [usize]),
    /// Between any two digits (phone numbers are grouped in many ways).
    BetweenDigits,
}

/// How a number may be written: which separator characters, and where.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Format {
    /// Where separators may stand.
    pub(crate) at: SeparatorsAt,
    /// The separator characters; one input uses one of them throughout.
    pub(crate) separators: &'static [char],
    /// What the error message says is expected where an unexpected character stands.
    pub(crate) expected: &'static str,
}

impl Format {
    /// Digits only, no separators.
    pub(crate) const PLAIN: Format = Format {
        at: SeparatorsAt::After(&[]),
        separators: &[],
        expected: "a digit",
    };

    fn allows(&self, separator: char, digits_so_far: usize) -> bool {
        self.separators.contains(&separator)
            && match self.at {
                SeparatorsAt::After(counts) => counts.contains(&digits_so_far),
                SeparatorsAt::BetweenDigits => digits_so_far > 0,
            }
    }
}

/// Splits surrounding whitespace off `input`; returns the number of characters removed at the
/// start (so error positions refer to the input as given) and the rest.
pub(crate) fn trim_start_counted(input: &str) -> (usize, &str) {
    let offset = input.chars().take_while(|c| c.is_whitespace()).count();
    (offset, input.trim())
}

/// Reads exactly `N` ASCII digits from `input`, allowing the separators `format` allows and
/// surrounding whitespace. Allocation-free.
pub(crate) fn read_digits<const N: usize>(
    input: &str,
    format: &Format,
) -> Result<[u8; N], IdError> {
    let (offset, trimmed) = trim_start_counted(input);
    if trimmed.is_empty() {
        return Err(IdError::Empty);
    }
    read_trimmed_digits(trimmed, offset, format)
}

/// [`read_digits`] for input that is already trimmed; `offset` is the 0-based character
/// position of `trimmed` in the original input.
pub(crate) fn read_trimmed_digits<const N: usize>(
    trimmed: &str,
    offset: usize,
    format: &Format,
) -> Result<[u8; N], IdError> {
    let mut out = [b'0'; N];
    let mut count = 0usize;
    let mut separator_used: Option<char> = None;
    let mut last_was_separator = false;
    for (index, ch) in trimmed.chars().enumerate() {
        if ch.is_ascii_digit() {
            if let Some(slot) = out.get_mut(count) {
                *slot = ch as u8;
            }
            count += 1;
            last_was_separator = false;
        } else if !last_was_separator
            && format.allows(ch, count)
            && separator_used.is_none_or(|used| used == ch)
        {
            separator_used = Some(ch);
            last_was_separator = true;
        } else {
            return Err(IdError::UnexpectedCharacter {
                position: offset + index + 1,
                expected: format.expected,
            });
        }
    }
    if count != N {
        return Err(IdError::WrongLength {
            expected: N,
            got: count,
            unit: "digits",
        });
    }
    Ok(out)
}

/// Checks that every byte is an ASCII digit (the contract of the `from_digits` constructors).
#[inline]
pub(crate) fn check_ascii_digits(digits: &[u8]) -> Result<(), IdError> {
    match digits.iter().position(|b| !b.is_ascii_digit()) {
        None => Ok(()),
        Some(index) => Err(IdError::UnexpectedCharacter {
            position: index + 1,
            expected: "a digit",
        }),
    }
}

/// The numeric value of an ASCII digit.
#[inline(always)]
pub(crate) fn value(ascii_digit: u8) -> u32 {
    u32::from(ascii_digit.wrapping_sub(b'0'))
}

/// Σ digit × weight over the shorter of the two slices.
#[inline]
pub(crate) fn weighted_sum(digits: &[u8], weights: &[u32]) -> u32 {
    digits
        .iter()
        .zip(weights)
        .map(|(&digit, &weight)| value(digit) * weight)
        .sum()
}

/// The classic mod-11 check digit for a weighted sum: 11 − (sum mod 11), where 11 becomes 0
/// and 10 means no check digit exists (numbers with those leading digits are never issued).
#[inline]
pub(crate) fn mod11_check_digit(sum: u32) -> Option<u8> {
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        digit => Some(digit as u8),
    }
}

/// Whether `digits` ends in the classic mod-11 check digit of the digits before it.
#[inline]
pub(crate) fn mod11_valid(digits: &[u8], weights: &[u32]) -> bool {
    match digits.split_last() {
        Some((&check, body)) => {
            mod11_check_digit(weighted_sum(body, weights)) == Some(value(check) as u8)
        }
        None => false,
    }
}

/// The ASCII digit for a value 0–9.
#[inline]
pub(crate) fn ascii(value: u8) -> u8 {
    b'0' + value
}

/// The digits as a string slice (they are ASCII by construction, so this never fails; the
/// fallback exists only to avoid a panic path).
#[inline]
pub(crate) fn as_str(ascii_digits: &[u8]) -> &str {
    std::str::from_utf8(ascii_digits).unwrap_or_default()
}
