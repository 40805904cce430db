//! Lookup values: normalised exactly as stored values are, so that they meet in the blind
//! index.

use crate::catalog::{Collection, DataSubjects};

use super::parse::{self, Target};
use super::problem::{Problem, ProblemCode};

/// Normalises the value of a lookup on `field` of `collection` (e.g. the `15108695088` of
/// `?fodselsnummer=151086%2095088`) to the text its blind index is computed over: the value is
/// parsed as a body value of that field would be, then put in
/// [`FieldValue::index_form`](super::FieldValue::index_form). A fødselsnummer written with a
/// space, a phone number without `+47` or an e-mail address in capitals find the stored
/// record.
///
/// Whether the field may be looked up at all (searchable, readable for the purpose) is an
/// access decision: see `access::decide`. The problem's path is the field's JSON pointer.
pub fn normalize_lookup(
    collection: &Collection,
    field: &str,
    value: &str,
) -> Result<String, Problem> {
    let Some(field) = collection.resolve_field(field) else {
        // The name is the caller's input: not repeated.
        return Err(Problem::at_body(
            ProblemCode::UnknownField,
            format!(
                "the looked-up name is not a field of collection `{}`",
                collection.name()
            ),
        ));
    };
    let reference = match collection.subjects() {
        DataSubjects::References(references) => {
            references.iter().find(|r| r.field() == field.name())
        }
        DataSubjects::Record | DataSubjects::None => None,
    };
    let name = field.name().as_str();
    let parsed = parse::from_text(Target { field, reference }, value)
        .map_err(|(code, message)| Problem::new(name, code, message))?;
    parsed.index_form(field).ok_or_else(|| {
        Problem::new(
            name,
            ProblemCode::WrongType,
            "a lookup needs a value".to_owned(),
        )
    })
}
