//! Normalizing values before computing a blind index.

use zeroize::Zeroizing;

/// A normalization applied to a value before its blind index is computed, so that the ways one
/// value gets written ("151086 95088", "15108695088") give one index.
///
/// Choose one per field in the catalog and never change it without recomputing the field's
/// indexes. Unicode normalization (NFC) is not applied: callers that accept text from many
/// sources should NFC-normalize first, or "å" typed as one code point and as "a" plus a ring
/// will differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Normalizer {
    /// The value as given.
    Exact,
    /// Trim, collapse every run of whitespace to one space, lowercase (Unicode, locale
    /// independent: "Ærlig  Ødegård " becomes "ærlig ødegård"). For names, addresses and
    /// e-mail addresses.
    Text,
    /// Remove all whitespace and lowercase. For codes written with spaces: IBAN, postcodes,
    /// registration numbers.
    Compact,
    /// Keep the ASCII digits only. For fødselsnummer and D-nummer ("151086 95088"),
    /// organisasjonsnummer, kontonummer ("1234.56.78903"). Validate the identifier first:
    /// "+47 912 34 567" keeps the country code and will not match "91234567".
    Digits,
}

impl Normalizer {
    /// The normalized form of `value`, zeroized on drop since it is personal data.
    pub fn normalize(self, value: &str) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(value.len()));
        match self {
            Self::Exact => out.push_str(value),
            Self::Text => {
                for word in value.split_whitespace() {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    push_lowercase(&mut out, word);
                }
            }
            Self::Compact => {
                for word in value.split_whitespace() {
                    push_lowercase(&mut out, word);
                }
            }
            Self::Digits => out.extend(value.chars().filter(char::is_ascii_digit)),
        }
        out
    }
}

/// Lowercases into `out`. Lowercasing can lengthen text (e.g. "İ"), so the string may grow;
/// only the common cases fit the reservation.
fn push_lowercase(out: &mut String, word: &str) {
    for c in word.chars() {
        out.extend(c.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(normalizer: Normalizer, input: &str, expected: &str) {
        assert_eq!(
            normalizer.normalize(input).as_str(),
            expected,
            "{normalizer:?} {input:?}"
        );
    }

    #[test]
    fn normalizes() {
        check(Normalizer::Exact, " Ola ", " Ola ");
        check(Normalizer::Text, "  Ærlig \t Ødegård\n", "ærlig ødegård");
        check(Normalizer::Text, "", "");
        check(Normalizer::Compact, "NO93 8601 1117 947", "no9386011117947");
        check(Normalizer::Digits, "151086 95088", "15108695088");
        check(Normalizer::Digits, "1234.56.78903", "12345678903");
        check(Normalizer::Digits, "١٢٣", "");
    }
}
