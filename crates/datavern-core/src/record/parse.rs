//! One value of one field: from JSON (a record body) or from text (a lookup).

use serde_json::{Number, Value};
use uuid::Uuid;

use crate::catalog::{Field, FieldType, SubjectReference};
use crate::id::{self, IdError, Identifier, IdentifierKind};

use super::decimal::{self, DecimalError};
use super::problem::ProblemCode;
use super::temporal;
use super::value::FieldValue;

/// What is wrong with one value: a code and a message that does not repeat the value.
pub(super) type Invalid = (ProblemCode, String);

/// What a field holds, beyond its type: an identifier kind or a subject reference.
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub(super) field: &'a Field,
    pub(super) reference: Option<&'a SubjectReference>,
}

/// Parses a non-null JSON value for the field.
pub(super) fn from_json(target: Target<'_>, value: &Value) -> Result<FieldValue, Invalid> {
    let field = target.field;
    match (field.field_type(), value) {
        (_, Value::Null) => Ok(FieldValue::Null),
        (FieldType::String | FieldType::Text, Value::String(s)) => string(target, s),
        (FieldType::Integer, Value::Number(n)) => integer(n),
        (FieldType::Decimal, Value::Number(n)) => decimal(&n.to_string()),
        (FieldType::Decimal, Value::String(s)) => decimal(s),
        (FieldType::Boolean, Value::Bool(b)) => Ok(FieldValue::Boolean(*b)),
        (FieldType::Date, Value::String(s)) => temporal::parse_date(s)
            .map(FieldValue::Date)
            .map_err(|m| (ProblemCode::InvalidDate, m)),
        (FieldType::Timestamp, Value::String(s)) => temporal::parse_timestamp(s)
            .map(FieldValue::Timestamp)
            .map_err(|m| (ProblemCode::InvalidTimestamp, m)),
        (FieldType::Json, value) => Ok(FieldValue::Json(value.clone())),
        (_, value) => Err(wrong_type(target, value)),
    }
}

/// Parses the text of a lookup (a query parameter) for the field, the way the same value in
/// a body would be read.
pub(super) fn from_text(target: Target<'_>, text: &str) -> Result<FieldValue, Invalid> {
    match target.field.field_type() {
        FieldType::String | FieldType::Text => string(target, text),
        FieldType::Integer => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err((
                    ProblemCode::WrongType,
                    "expected an integer, e.g. 42".to_owned(),
                ));
            }
            text.parse::<i64>()
                .map(FieldValue::Integer)
                .map_err(|_| integer_out_of_range())
        }
        FieldType::Decimal => decimal(text),
        FieldType::Boolean => match text {
            "true" => Ok(FieldValue::Boolean(true)),
            "false" => Ok(FieldValue::Boolean(false)),
            _ => Err((ProblemCode::WrongType, "expected true or false".to_owned())),
        },
        FieldType::Date => temporal::parse_date(text)
            .map(FieldValue::Date)
            .map_err(|m| (ProblemCode::InvalidDate, m)),
        FieldType::Timestamp => temporal::parse_timestamp(text)
            .map(FieldValue::Timestamp)
            .map_err(|m| (ProblemCode::InvalidTimestamp, m)),
        FieldType::Json => Err((
            ProblemCode::NotSearchableByValue,
            "a json field cannot be looked up by value".to_owned(),
        )),
    }
}

/// A string for a `string`/`text` field: a subject reference, an identifier, or free text.
fn string(target: Target<'_>, s: &str) -> Result<FieldValue, Invalid> {
    if let Some(reference) = target.reference {
        return record_id(s)
            .map(|id| FieldValue::String(id.hyphenated().to_string()))
            .ok_or_else(|| {
                (
                    ProblemCode::InvalidReference,
                    format!(
                        "not a record id: expected the id of a record in `{}`, a UUID written \
                         as 8-4-4-4-12 hexadecimal digits",
                        reference.collection()
                    ),
                )
            });
    }
    match target.field.identifier() {
        Some(kind) => id::check(kind, s)
            .map(|identifier| FieldValue::String(canonical_identifier(&identifier)))
            .map_err(|err| {
                (
                    ProblemCode::InvalidIdentifier,
                    format!("not a valid {}: {}", kind_name(kind), id_reason(err)),
                )
            }),
        None => Ok(FieldValue::String(s.to_owned())),
    }
}

/// A record id: a UUID in the canonical hyphenated form (either case).
pub(super) fn record_id(s: &str) -> Option<Uuid> {
    let bytes = s.as_bytes();
    let hyphens_ok = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if !hyphens_ok {
        return None;
    }
    Uuid::try_parse(s).ok()
}

/// The stored form of a valid identifier: as [`Identifier::as_str`], except phone numbers,
/// which are stored in E.164 (`+4791234567`) so the country is explicit.
fn canonical_identifier(identifier: &Identifier) -> String {
    match identifier {
        Identifier::Phone(phone) => phone.e164(),
        other => other.as_str().to_owned(),
    }
}

/// How an identifier kind is named in messages.
fn kind_name(kind: IdentifierKind) -> &'static str {
    match kind {
        IdentifierKind::Fnr => "fødselsnummer",
        IdentifierKind::Duf => "DUF-nummer",
        IdentifierKind::Orgnr => "organisasjonsnummer",
        IdentifierKind::Mva => "MVA-nummer",
        IdentifierKind::Kontonr => "kontonummer",
        IdentifierKind::Iban => "Norwegian IBAN",
        IdentifierKind::Phone => "Norwegian phone number",
        IdentifierKind::Postnummer => "postnummer",
        IdentifierKind::Email => "e-mail address",
    }
}

/// Why an identifier was rejected, without the "not a valid e-mail address" that
/// [`IdError::InvalidEmail`] already says (the caller says it).
fn id_reason(err: IdError) -> String {
    match err {
        IdError::InvalidEmail(reason) => reason.to_string(),
        other => other.to_string(),
    }
}

fn integer(n: &Number) -> Result<FieldValue, Invalid> {
    if let Some(i) = n.as_i64() {
        return Ok(FieldValue::Integer(i));
    }
    if n.is_u64() {
        return Err(integer_out_of_range());
    }
    // A float: integral but beyond i64 (serde_json reads 1e19 or 20 digits as a float), or
    // with a fraction or exponent.
    match n.as_f64() {
        // |i64::MIN| = 2^63, exact as a float: integral floats from here on are no i64.
        Some(f) if f.fract() == 0.0 && f.abs() >= (i64::MIN as f64).abs() => {
            Err(integer_out_of_range())
        }
        _ => Err((
            ProblemCode::WrongType,
            "expected an integer, got a number with a fraction or exponent".to_owned(),
        )),
    }
}

fn integer_out_of_range() -> Invalid {
    (
        ProblemCode::OutOfRange,
        format!(
            "the integer is out of range: integers are 64-bit, from {} to {}; use a decimal \
             field for larger numbers",
            i64::MIN,
            i64::MAX
        ),
    )
}

fn decimal(text: &str) -> Result<FieldValue, Invalid> {
    decimal::canonical(text)
        .map(FieldValue::Decimal)
        .map_err(|err| match err {
            DecimalError::Syntax(why) => (
                ProblemCode::InvalidDecimal,
                format!("not a decimal number: {why}"),
            ),
            DecimalError::OutOfRange(why) => (ProblemCode::OutOfRange, why),
        })
}

/// `wrong_type` with what was expected and what came, plus a hint where a common mistake
/// explains it.
fn wrong_type(target: Target<'_>, got: &Value) -> Invalid {
    let field = target.field;
    let expected = match field.field_type() {
        FieldType::String | FieldType::Text => "a string",
        FieldType::Integer => "an integer",
        FieldType::Decimal => "a decimal number (a JSON number, or a string such as \"1234.50\")",
        FieldType::Boolean => "true or false",
        FieldType::Date => "a date string (YYYY-MM-DD)",
        FieldType::Timestamp => "an RFC 3339 timestamp string (e.g. 2024-08-15T09:30:00Z)",
        FieldType::Json => "any JSON value",
    };
    let got_name = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let hint = match (field.field_type(), got) {
        _ if target.reference.is_some() && matches!(got, Value::Number(_)) => {
            "; record ids are UUID strings"
        }
        (FieldType::String, Value::Number(_)) if field.identifier().is_some() => {
            "; send identifiers as strings (as numbers they lose leading zeros)"
        }
        (FieldType::Integer, Value::String(_)) => "; send the number without quotes",
        (FieldType::Boolean, Value::String(_)) => "; send true or false without quotes",
        _ => "",
    };
    (
        ProblemCode::WrongType,
        format!("expected {expected}, got {got_name}{hint}"),
    )
}
