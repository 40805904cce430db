//! Record validation: incoming record bodies checked against their collection.
//!
//! The HTTP API parses a request body as JSON and calls [`validate`] with the collection and
//! whether the body creates a record or patches one. The result is a [`ValidatedRecord`] of
//! typed, canonical [`FieldValue`]s in catalog order, or [`RecordProblems`]: **every** problem
//! found, each with a JSON-pointer path (`/fodselsnummer`), a stable [`ProblemCode`] and a
//! message that says what to fix, ready for the `errors` array of an RFC 9457 problem.
//!
//! ```
//! use datavern_core::catalog::Catalog;
//! use datavern_core::record::{self, Mode};
//!
//! # let catalog = Catalog::from_yaml(include_str!("../../../../examples/kommune.yaml")).unwrap();
//! let innbyggere = catalog.collection("innbyggere").unwrap();
//! let body = serde_json::json!({
//!     "fodselsnummer": "151086 95088",
//!     "fornavn": "Kari",
//!     "etternavn": "Nordmann",
//!     "telefon": "912 34 567",
//! });
//! let record = record::validate(innbyggere, body.as_object().unwrap(), Mode::Create).unwrap();
//! assert_eq!(record.get("telefon").unwrap().canonical().as_deref(), Some("+4791234567"));
//! // Debug shows names and types, never values.
//! assert!(!format!("{record:?}").contains("15108695088"));
//!
//! let body = serde_json::json!({ "fodselsnummer": "15108695077", "fodselsnr": 1 });
//! let problems = record::validate(innbyggere, body.as_object().unwrap(), Mode::Patch).unwrap_err();
//! assert_eq!(
//!     problems.to_string(),
//!     ": member 1 of the body (counting members in name order) is not a field of collection \
//!      `innbyggere`; did you mean `fodselsnummer`?; /fodselsnummer: not a valid \
//!      fødselsnummer: first check digit does not match"
//! );
//! ```
//!
//! Values carry personal data, so [`ValidatedRecord`] and [`FieldValue`] print names and
//! types only through `Debug`, and no message repeats a value. [`FieldValue::canonical`] is
//! the text that gets encrypted; [`FieldValue::index_form`] and [`normalize_lookup`] give the
//! normalised text blind indexes are computed over. See `docs/access.md`.

mod decimal;
mod normalize;
mod parse;
mod problem;
mod temporal;
mod validate;
mod value;

pub use decimal::{MAX_DECIMAL_DIGITS, MAX_DECIMAL_SCALE};
pub use normalize::normalize_lookup;
pub use problem::{Problem, ProblemCode, RecordProblems};
pub use validate::{Mode, RESERVED_INPUT_PREFIX, validate};
pub use value::{FieldValue, SubjectRecordId, ValidatedRecord};
