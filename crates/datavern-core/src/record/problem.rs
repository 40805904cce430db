//! Problems found in a record body: where (a JSON pointer), what (a stable code) and how to
//! fix it (a message that never repeats the value).

use std::fmt;

use serde::Serialize;

/// One problem with one field of a record body.
///
/// `path` is a JSON pointer (RFC 6901) to the member, e.g. `/fodselsnummer`, as RFC 9457
/// problem details list them in `errors`. `message` says what to fix and never contains the
/// submitted value: an invalid fødselsnummer is still somebody's fødselsnummer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Problem {
    /// JSON pointer to the member, e.g. `/fodselsnummer`.
    pub path: String,
    /// What kind of problem, as a stable code.
    pub code: ProblemCode,
    /// What is wrong and what to send instead.
    pub message: String,
}

/// The kinds of [`Problem`], each with a stable machine code ([`ProblemCode::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum ProblemCode {
    /// `unknown_field`: the collection has no field of this name.
    UnknownField,
    /// `reserved_field`: a name datavern sets itself (`id`, `tenant`, `created_at`,
    /// `updated_at`, `version`) or reserves (`_…`, `dv_…`).
    ReservedField,
    /// `wrong_type`: the JSON type does not fit the field's type.
    WrongType,
    /// `missing_field`: a required field is absent when creating a record.
    MissingField,
    /// `null_not_allowed`: `null` for a required field.
    NullNotAllowed,
    /// `invalid_identifier`: the value fails the field's identifier check (`id::check`).
    InvalidIdentifier,
    /// `invalid_reference`: a subject reference that is not a record id (a UUID).
    InvalidReference,
    /// `invalid_date`: not a calendar date written `YYYY-MM-DD`.
    InvalidDate,
    /// `invalid_timestamp`: not an RFC 3339 timestamp with a UTC offset.
    InvalidTimestamp,
    /// `invalid_decimal`: not a decimal number.
    InvalidDecimal,
    /// `out_of_range`: an integer outside the 64-bit range, or a decimal with more digits
    /// than can be stored.
    OutOfRange,
    /// `not_searchable_by_value`: a lookup on a field whose values cannot be matched exactly
    /// (`json`).
    NotSearchableByValue,
    /// `renamed_field`: the body gives a renamed field under both its new name and its old
    /// one (`renamed_from`, served as an alias while the catalog declares the rename).
    RenamedField,
}

impl ProblemCode {
    /// Every code.
    pub const ALL: [ProblemCode; 13] = [
        ProblemCode::UnknownField,
        ProblemCode::ReservedField,
        ProblemCode::WrongType,
        ProblemCode::MissingField,
        ProblemCode::NullNotAllowed,
        ProblemCode::InvalidIdentifier,
        ProblemCode::InvalidReference,
        ProblemCode::InvalidDate,
        ProblemCode::InvalidTimestamp,
        ProblemCode::InvalidDecimal,
        ProblemCode::OutOfRange,
        ProblemCode::NotSearchableByValue,
        ProblemCode::RenamedField,
    ];

    /// The stable machine code, e.g. `invalid_identifier`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::UnknownField => "unknown_field",
            ProblemCode::ReservedField => "reserved_field",
            ProblemCode::WrongType => "wrong_type",
            ProblemCode::MissingField => "missing_field",
            ProblemCode::NullNotAllowed => "null_not_allowed",
            ProblemCode::InvalidIdentifier => "invalid_identifier",
            ProblemCode::InvalidReference => "invalid_reference",
            ProblemCode::InvalidDate => "invalid_date",
            ProblemCode::InvalidTimestamp => "invalid_timestamp",
            ProblemCode::InvalidDecimal => "invalid_decimal",
            ProblemCode::OutOfRange => "out_of_range",
            ProblemCode::NotSearchableByValue => "not_searchable_by_value",
            ProblemCode::RenamedField => "renamed_field",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ProblemCode> for &'static str {
    fn from(code: ProblemCode) -> Self {
        code.as_str()
    }
}

impl Problem {
    /// A problem with the member `field` (any name: it is escaped into a JSON pointer).
    pub fn new(field: &str, code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            path: json_pointer(field),
            code,
            message: message.into(),
        }
    }

    /// A problem with the body as a whole (pointer `""`), for a member whose name must not be
    /// repeated.
    pub fn at_body(code: ProblemCode, message: impl Into<String>) -> Self {
        Problem {
            path: String::new(),
            code,
            message: message.into(),
        }
    }
}

/// Every problem found in a record body (at least one), in a stable order: names that are
/// not fields first (in the body's order), then the fields in catalog order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RecordProblems(Vec<Problem>);

impl RecordProblems {
    /// Wraps a non-empty list (`None` when empty: no problems is not an error).
    pub(crate) fn from_vec(problems: Vec<Problem>) -> Option<Self> {
        (!problems.is_empty()).then_some(RecordProblems(problems))
    }

    /// The problems.
    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }

    /// The problems, owned.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    /// How many problems there are (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: there is at least one problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }
}

impl fmt::Display for RecordProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RecordProblems {}

impl<'a> IntoIterator for &'a RecordProblems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The JSON pointer (RFC 6901) to a top-level member: `~` is written `~0`, `/` is `~1`.
fn json_pointer(member: &str) -> String {
    let mut pointer = String::with_capacity(member.len() + 1);
    pointer.push('/');
    for c in member.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(json_pointer("fodselsnummer"), "/fodselsnummer");
        assert_eq!(json_pointer("a/b~c"), "/a~1b~0c");
        assert_eq!(json_pointer(""), "/");
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ProblemCode::ALL.len());
    }
}
