//! Why an identifier was rejected.
//!
//! Messages say what is wrong without echoing the number: an invalid fødselsnummer is still
//! very likely somebody's fødselsnummer with a typo in it.

/// Why an input is not a valid identifier of the requested kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The input was empty or only whitespace.
    #[error("empty input")]
    Empty,
    /// The input had the wrong number of digits (or characters, for an IBAN).
    #[error("wrong length: expected {expected} {unit}, got {got}")]
    WrongLength {
        /// How many there must be.
        expected: usize,
        /// How many there were.
        got: usize,
        /// What was counted: `digits` or `characters`.
        unit: &'static str,
    },
    /// A character that is not allowed where it stands (a letter, a misplaced separator, …).
    #[error("unexpected character at position {position}: expected {expected}")]
    UnexpectedCharacter {
        /// 1-based character position in the input as given.
        position: usize,
        /// What would have been allowed there.
        expected: &'static str,
    },
    /// The first check digit of a fødselsnummer matches neither the classic nor the 2032 rule.
    #[error("first check digit does not match")]
    FirstCheckDigit,
    /// The second check digit of a fødselsnummer does not match.
    #[error("second check digit does not match")]
    SecondCheckDigit,
    /// The single check digit (organisasjonsnummer, kontonummer) does not match.
    #[error("check digit does not match")]
    CheckDigit,
    /// The two-digit check number (DUF-nummer, IBAN) does not match.
    #[error("check digits do not match")]
    CheckDigits,
    /// The date part of a fødselsnummer is not a calendar date.
    #[error("not a valid date: {0}")]
    InvalidDate(DateError),
    /// An IBAN from a country other than Norway.
    #[error("not a norwegian iban: the country code must be NO")]
    NotNorwegianIban,
    /// An IBAN whose own check digits match but whose embedded kontonummer does not.
    #[error("the embedded kontonummer is not valid: check digit does not match")]
    EmbeddedKontonummer,
    /// An MVA-nummer without the leading `NO`.
    #[error("missing the NO prefix")]
    MissingMvaPrefix,
    /// An MVA-nummer without the trailing `MVA`.
    #[error("missing the MVA suffix")]
    MissingMvaSuffix,
    /// A phone number with a country code other than +47.
    #[error("not a norwegian number: the country code must be +47")]
    ForeignCountryCode,
    /// An 8-digit phone number that cannot exist in the Norwegian numbering plan.
    #[error("not a possible number: 8-digit numbers never start with {first_digit}")]
    ImpossiblePhoneNumber {
        /// The first digit of the national number (0 or 1).
        first_digit: u8,
    },
    /// Postnummer `0000`, which is not used.
    #[error("not a possible postnummer: 0000 is not used")]
    PostnummerZero,
    /// An e-mail address that is not syntactically valid.
    #[error("not a valid e-mail address: {0}")]
    InvalidEmail(EmailError),
}

/// What is wrong with the date in a fødselsnummer (values as written in the number, except
/// where the message says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// The month digits are none of 01–12 (ordinary), 41–52 (H-nummer) or 81–92 (Tenor).
    #[error("month {0}")]
    Month(u8),
    /// The day digits are none of 01–31 (ordinary) or 41–71 (D-nummer).
    #[error("day {0}")]
    Day(u8),
    /// The day does not exist in that month (day and month after removing the D/H/Tenor offsets).
    #[error("month {month} has no day {day}")]
    DayInMonth {
        /// Day of month, without the D-nummer offset.
        day: u8,
        /// Month, without the H-nummer or Tenor offset.
        month: u8,
    },
    /// 29 February in a two-digit year that is not a leap year in any century.
    #[error("29 february in a year that is not a leap year")]
    LeapDay,
    /// Both the D-nummer day offset and the H-nummer month offset: no such number is issued.
    #[error("a d-nummer day cannot be combined with an h-nummer month")]
    DNummerWithHNummer,
}

/// What is wrong with an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// No `@`, or more than one outside a quoted local part (quoted local parts are not accepted).
    #[error("expected exactly one @")]
    At,
    /// Nothing before the `@`.
    #[error("empty local part")]
    EmptyLocalPart,
    /// More than 64 bytes before the `@` (RFC 5321 § 4.5.3.1.1).
    #[error("local part longer than 64 bytes")]
    LocalPartTooLong,
    /// More than 254 bytes in all (RFC 5321 path limit less the angle brackets).
    #[error("address longer than 254 bytes")]
    TooLong,
    /// A dot at the start or end of the local part, or two dots in a row.
    #[error("misplaced dot in the local part")]
    LocalPartDot,
    /// A character not allowed in an unquoted local part (whitespace, quotes, parentheses, …).
    #[error("unexpected character in the local part")]
    LocalPartCharacter,
    /// Nothing after the `@`.
    #[error("empty domain")]
    EmptyDomain,
    /// The domain has a single label: `user@localhost` is not deliverable on the internet.
    #[error("the domain needs at least two labels")]
    SingleLabelDomain,
    /// An empty label (two dots in a row, or a dot at either end of the domain).
    #[error("empty domain label")]
    EmptyLabel,
    /// A label longer than 63 bytes.
    #[error("domain label longer than 63 bytes")]
    LabelTooLong,
    /// A label that starts or ends with a hyphen.
    #[error("domain label starts or ends with a hyphen")]
    LabelHyphen,
    /// A character not allowed in a domain name.
    #[error("unexpected character in the domain")]
    DomainCharacter,
    /// An all-numeric top-level domain (IP address literals are not accepted).
    #[error("the top-level domain is numeric")]
    NumericTopLevelDomain,
}
