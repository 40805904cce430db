//! Field values to and from columns, per dialect.
//!
//! | type | PostgreSQL | MariaDB/MySQL | SQLite | encrypted (all) |
//! |---|---|---|---|---|
//! | `string`, `text` | text | text | text | canonical text, sealed |
//! | `integer` | `BIGINT` | `BIGINT` | `INTEGER` | digits, sealed |
//! | `decimal` | text cast to `numeric`; read back as text | text (converted by the server) | text | canonical decimal, sealed |
//! | `boolean` | `bool` | `TINYINT(1)` | 0/1 | `true`/`false`, sealed |
//! | `date` | `date` | `date` | `YYYY-MM-DD` | `YYYY-MM-DD`, sealed |
//! | `timestamp` | `timestamptz` | `DATETIME(6)`, UTC | RFC 3339 UTC | RFC 3339 UTC, sealed |
//! | `json` | `jsonb` | `JSON` | text | compact JSON, sealed |
//!
//! Encrypted fields seal [`FieldValue::canonical`]'s text and parse it back by the field's
//! type, so an encrypted value round-trips exactly on every backend. Plain columns impose
//! the limits of their SQL types, checked before writing ([`check_storable`]) so that no
//! backend silently truncates or rounds a value.

use datavern_core::catalog::FieldType;
use datavern_core::record::FieldValue;
use datavern_sql::{At, Backend, to_time_date};
use sea_query::{Expr, Keyword, SimpleExpr, Value};

use super::error::RecordError;
use crate::schema::{DECIMAL_PRECISION, STRING_MAX_CHARS};
use crate::table::TableField;

/// Why a canonical text could not be parsed back into a value.
#[derive(Debug)]
pub(crate) struct BadValue;

/// Checks that `value` fits its column: a `string` at most [`STRING_MAX_CHARS`] characters
/// (on every backend and encrypted or not, so that a field means the same everywhere); in a
/// plain column, a decimal within `DECIMAL(38, 10)` and a timestamp to the microsecond.
pub(super) fn check_storable(field: &TableField, value: &FieldValue) -> Result<(), RecordError> {
    check_column(&field.name, field.field_type, field.encrypted, value)
}

/// [`check_storable`] for field `name` of type `field_type`, encrypted or not.
fn check_column(
    name: &str,
    field_type: FieldType,
    encrypted: bool,
    value: &FieldValue,
) -> Result<(), RecordError> {
    let unstorable = |reason: String| RecordError::Unstorable {
        field: name.to_owned(),
        reason,
    };
    match value {
        FieldValue::String(text)
            if field_type == FieldType::String
                && text.chars().count() > STRING_MAX_CHARS as usize =>
        {
            Err(unstorable(format!(
                "a string field holds at most {STRING_MAX_CHARS} characters"
            )))
        }
        FieldValue::Decimal(text) if !encrypted => {
            let (precision, scale) = DECIMAL_PRECISION;
            let digits = text.trim_start_matches('-');
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            let whole_max = (precision - scale) as usize;
            if whole.trim_start_matches('0').len() > whole_max || fraction.len() > scale as usize {
                return Err(unstorable(format!(
                    "the decimal column holds at most {whole_max} digits before the point and \
                     {scale} after it"
                )));
            }
            Ok(())
        }
        FieldValue::Date(date) if !encrypted && to_time_date(*date).is_err() => Err(unstorable(
            "the date is outside the range the database keeps".to_owned(),
        )),
        FieldValue::Timestamp(ts) if !encrypted && ts.subsec_nanosecond() % 1_000 != 0 => {
            Err(unstorable(
                "timestamps are stored to the microsecond: send at most 6 fraction digits"
                    .to_owned(),
            ))
        }
        _ => Ok(()),
    }
}

/// The expression to write a plain (unencrypted) field value into its column on `backend`.
pub(super) fn plain_expr(backend: Backend, value: &FieldValue) -> SimpleExpr {
    match value {
        FieldValue::Null => SimpleExpr::Keyword(Keyword::Null),
        FieldValue::String(text) => Expr::val(text.as_str()).into(),
        FieldValue::Integer(i) => Expr::val(*i).into(),
        FieldValue::Decimal(text) => backend.dialect().decimal(text),
        FieldValue::Boolean(b) => Expr::val(*b).into(),
        FieldValue::Date(date) => match to_time_date(*date) {
            Ok(native) => Expr::val(backend.dialect().date(native)).into(),
            // Every jiff date is a `time` date, and `check_storable` refuses one that is
            // not, so no other date reaches here.
            Err(_) => Expr::val(date.to_string()).into(),
        },
        FieldValue::Timestamp(ts) => Expr::val(At::from(*ts).value(backend)).into(),
        FieldValue::Json(json) => Expr::val(Value::Json(Some(Box::new(json.clone())))).into(),
    }
}

/// The expression to write bytes (a field envelope or a blind index), or NULL.
pub(super) fn bytes_expr(bytes: Option<Vec<u8>>) -> SimpleExpr {
    match bytes {
        Some(bytes) => Expr::val(bytes).into(),
        None => SimpleExpr::Keyword(Keyword::Null),
    }
}

/// Parses the canonical text of a decrypted value back into a value of `field_type`.
pub(crate) fn from_canonical(field_type: FieldType, text: &str) -> Result<FieldValue, BadValue> {
    Ok(match field_type {
        FieldType::String | FieldType::Text => FieldValue::String(text.to_owned()),
        FieldType::Integer => FieldValue::Integer(text.parse().map_err(|_| BadValue)?),
        FieldType::Decimal => {
            if !is_canonical_decimal(text) {
                return Err(BadValue);
            }
            FieldValue::Decimal(text.to_owned())
        }
        FieldType::Boolean => match text {
            "true" => FieldValue::Boolean(true),
            "false" => FieldValue::Boolean(false),
            _ => return Err(BadValue),
        },
        FieldType::Date => FieldValue::Date(text.parse().map_err(|_| BadValue)?),
        FieldType::Timestamp => FieldValue::Timestamp(text.parse().map_err(|_| BadValue)?),
        FieldType::Json => FieldValue::Json(serde_json::from_str(text).map_err(|_| BadValue)?),
    })
}

/// The canonical form of a decimal read from a `DECIMAL(38, 10)` column (`1234.5000000000` →
/// `1234.5`, `-0.0000000000` → `0`), as record validation makes it.
pub(super) fn canonical_decimal(text: &str) -> Result<String, BadValue> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(BadValue);
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut out = String::with_capacity(text.len());
    if negative && !(whole.is_empty() && fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Ok(out)
}

fn is_canonical_decimal(text: &str) -> bool {
    canonical_decimal(text).is_ok_and(|canonical| canonical == text)
}

#[cfg(test)]
mod tests {
    use datavern_sql::to_civil_date;

    use super::*;

    fn check_storable(
        &(field_type, encrypted): &(FieldType, bool),
        value: &FieldValue,
    ) -> Result<(), RecordError> {
        check_column("f", field_type, encrypted, value)
    }

    fn plan(field_type: FieldType, encrypted: bool) -> (FieldType, bool) {
        (field_type, encrypted)
    }

    #[test]
    fn decimals_read_from_decimal_columns_are_canonical() {
        for (stored, canonical) in [
            ("1234.5000000000", "1234.5"),
            ("-0.0000000000", "0"),
            ("0.2500000000", "0.25"),
            ("-12.0000000000", "-12"),
            ("100", "100"),
            ("007.10", "7.1"),
        ] {
            assert_eq!(canonical_decimal(stored).unwrap(), canonical, "{stored}");
        }
        assert!(canonical_decimal("1e5").is_err());
        assert!(canonical_decimal("").is_err());
        assert!(canonical_decimal(".").is_err());
    }

    #[test]
    fn decrypted_text_parses_back_by_type() {
        let cases = [
            (FieldType::Integer, "-42"),
            (FieldType::Decimal, "1234.5"),
            (FieldType::Boolean, "true"),
            (FieldType::Date, "2024-02-29"),
            (FieldType::Timestamp, "2024-02-29T12:00:00.123456789Z"),
            (FieldType::Json, r#"{"a":[1,2]}"#),
            (FieldType::Text, "fritekst"),
        ];
        for (field_type, text) in cases {
            let value = from_canonical(field_type, text).unwrap();
            assert_eq!(value.canonical().as_deref(), Some(text));
        }
        for (field_type, text) in [
            (FieldType::Integer, "4.2"),
            (FieldType::Decimal, "1234.50"),
            (FieldType::Boolean, "yes"),
            (FieldType::Date, "2023-02-29"),
            (FieldType::Json, "{"),
        ] {
            assert!(from_canonical(field_type, text).is_err(), "{text}");
        }
    }

    #[test]
    fn plain_columns_refuse_what_they_would_change() {
        let long = FieldValue::String("å".repeat(256));
        assert!(check_storable(&plan(FieldType::String, false), &long).is_err());
        assert!(check_storable(&plan(FieldType::String, true), &long).is_err());
        assert!(check_storable(&plan(FieldType::Text, false), &long).is_ok());
        let fits = FieldValue::String("å".repeat(255));
        assert!(check_storable(&plan(FieldType::String, false), &fits).is_ok());

        let wide = FieldValue::Decimal("1.12345678901".to_owned());
        assert!(check_storable(&plan(FieldType::Decimal, false), &wide).is_err());
        assert!(check_storable(&plan(FieldType::Decimal, true), &wide).is_ok());
        let big = FieldValue::Decimal(format!("-{}", "9".repeat(29)));
        assert!(check_storable(&plan(FieldType::Decimal, false), &big).is_err());
        let ok = FieldValue::Decimal(format!("-{}.{}", "9".repeat(28), "9".repeat(10)));
        assert!(check_storable(&plan(FieldType::Decimal, false), &ok).is_ok());

        let nanos = FieldValue::Timestamp("2024-01-01T00:00:00.000000001Z".parse().unwrap());
        assert!(check_storable(&plan(FieldType::Timestamp, false), &nanos).is_err());
        assert!(check_storable(&plan(FieldType::Timestamp, true), &nanos).is_ok());
        let micros = FieldValue::Timestamp("2024-01-01T00:00:00.000001Z".parse().unwrap());
        assert!(check_storable(&plan(FieldType::Timestamp, false), &micros).is_ok());
    }

    #[test]
    fn time_conversions_round_trip() {
        let date: jiff::civil::Date = "2024-02-29".parse().unwrap();
        assert_eq!(to_civil_date(to_time_date(date).unwrap()).unwrap(), date);
        let ts: jiff::Timestamp = "1969-07-20T20:17:40.5Z".parse().unwrap();
        assert_eq!(At::from(ts).to_timestamp().unwrap(), ts);
    }
}
