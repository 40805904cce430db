//! A value in flight between two backends: what each side stores ([`Physical`]), what the
//! column means on every side ([`Kind`]), the value itself ([`Value`]), and its canonical,
//! backend-independent bytes for the verification digest.

use serde_json::json;

use crate::at::At;
use crate::error::{Result, SqlError};

/// What one side stores in a column: its declared type as the backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Physical {
    /// SQLite: no column types to speak of, each value has its own storage class.
    Sqlite,
    /// A 16-bit integer (PostgreSQL `smallint`).
    Int16,
    /// A 32-bit integer (PostgreSQL `integer`).
    Int32,
    /// A 64-bit integer (any MariaDB/MySQL integer, PostgreSQL `bigint`).
    Int64,
    /// A boolean (PostgreSQL `bool`; MariaDB/MySQL report `tinyint`).
    Bool,
    /// Text.
    Text,
    /// Bytes (`bytea`, `binary`, `varbinary`, blobs).
    Bytes,
    /// A PostgreSQL `uuid`.
    Uuid,
    /// An instant with a time zone (PostgreSQL `timestamptz`).
    TimeTz,
    /// A wall time read and written as UTC (MariaDB/MySQL `datetime`, `timestamp`;
    /// PostgreSQL `timestamp`).
    TimeUtc,
    /// A calendar date.
    Date,
    /// An exact decimal, exchanged as text; `cast` is PostgreSQL's type to cast text to.
    Decimal,
    /// JSON, exchanged as text; on PostgreSQL `cast` says `json` or `jsonb`.
    Json(&'static str),
    /// A floating-point number.
    Real,
}

/// What a column means, whatever backend holds it: decided from the side that says most
/// (PostgreSQL's types, then MariaDB/MySQL's; SQLite's say least).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// Text.
    Text,
    /// Bytes.
    Bytes,
    /// A UUID (16 bytes where the backend has no UUID type).
    Uuid,
    /// An instant.
    Time,
    /// A calendar date.
    Date,
    /// An exact decimal as text.
    Decimal,
    /// A JSON document as text.
    Json,
    /// A floating-point number.
    Real,
    /// Between two SQLite databases: whatever is stored, as stored.
    Raw,
}

impl Physical {
    /// The meaning of a column this side declares so, `None` for SQLite (which says none).
    pub(crate) fn kind(&self) -> Option<Kind> {
        Some(match self {
            Physical::Sqlite => return None,
            Physical::Int16 | Physical::Int32 | Physical::Int64 => Kind::Int,
            Physical::Bool => Kind::Bool,
            Physical::Text => Kind::Text,
            Physical::Bytes => Kind::Bytes,
            Physical::Uuid => Kind::Uuid,
            Physical::TimeTz | Physical::TimeUtc => Kind::Time,
            Physical::Date => Kind::Date,
            Physical::Decimal => Kind::Decimal,
            Physical::Json(_) => Kind::Json,
            Physical::Real => Kind::Real,
        })
    }
}

/// One value in flight. UUIDs travel as their 16 bytes, decimals and JSON as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Real(f64),
    /// Text (also decimals and JSON).
    Text(String),
    /// Bytes (also UUIDs).
    Bytes(Vec<u8>),
    /// An instant.
    Time(At),
    /// A calendar date.
    Date(time::Date),
}

impl Value {
    /// The value as its column's `kind` holds it: SQLite's integers for booleans, a UUID
    /// kept as text, a boolean where an integer is meant. `None` if it does not convert.
    pub(crate) fn conform(self, kind: Kind) -> Option<Value> {
        Some(match (kind, self) {
            (_, Value::Null) => Value::Null,
            (Kind::Bool, Value::Int(n)) => Value::Bool(n != 0),
            (Kind::Int, Value::Bool(b)) => Value::Int(i64::from(b)),
            (Kind::Real, Value::Int(n)) => Value::Real(n as f64),
            (Kind::Uuid, Value::Text(text)) => {
                Value::Bytes(uuid::Uuid::parse_str(&text).ok()?.as_bytes().to_vec())
            }
            (Kind::Uuid, Value::Bytes(bytes)) if bytes.len() != 16 => return None,
            (Kind::Decimal | Kind::Text | Kind::Json, Value::Int(n)) => Value::Text(n.to_string()),
            (Kind::Date, Value::Text(text)) => Value::Date(parse_date(&text)?),
            (Kind::Time, Value::Text(text)) => Value::Time(parse_time(&text)?),
            (
                Kind::Int
                | Kind::Bool
                | Kind::Text
                | Kind::Bytes
                | Kind::Uuid
                | Kind::Time
                | Kind::Date
                | Kind::Decimal
                | Kind::Json
                | Kind::Real
                | Kind::Raw,
                value,
            ) => value,
        })
    }

    /// Appends the value's canonical bytes, the same on every backend for the same meaning:
    /// a tag, then a fixed-width number or length-prefixed bytes; decimals without trailing
    /// zeros, JSON with sorted keys and no spaces, times as microseconds.
    pub(crate) fn canonical(&self, kind: Kind, out: &mut Vec<u8>) {
        let mut put = |tag: u8, bytes: &[u8]| {
            out.push(tag);
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        match self {
            Value::Null => put(0, &[]),
            Value::Int(n) => put(1, &n.to_be_bytes()),
            Value::Bool(b) => put(1, &i64::from(*b).to_be_bytes()),
            Value::Real(x) => put(2, &x.to_bits().to_be_bytes()),
            Value::Text(text) => match kind {
                Kind::Decimal => put(3, canonical_decimal(text).as_bytes()),
                Kind::Json => put(4, canonical_json(text).as_bytes()),
                _ => put(5, text.as_bytes()),
            },
            Value::Bytes(bytes) => put(6, bytes),
            Value::Time(at) => put(7, &at.as_micros().to_be_bytes()),
            Value::Date(date) => put(8, crate::dialect::iso_date(*date).as_bytes()),
        }
    }

    /// The value as JSON, for a checkpoint's key (see [`Value::from_key_json`]).
    pub(crate) fn to_key_json(&self) -> serde_json::Value {
        match self {
            Value::Null => json!({ "n": null }),
            Value::Int(n) => json!({ "i": n }),
            Value::Bool(b) => json!({ "b": b }),
            Value::Real(x) => json!({ "r": x }),
            Value::Text(text) => json!({ "t": text }),
            Value::Bytes(bytes) => json!({ "x": hex(bytes) }),
            Value::Time(at) => json!({ "at": at.as_micros() }),
            Value::Date(date) => json!({ "d": crate::dialect::iso_date(*date) }),
        }
    }

    /// The value a checkpoint's key holds.
    pub(crate) fn from_key_json(value: &serde_json::Value) -> Result<Value> {
        let damaged = || SqlError::Copy("the copy's checkpoint cannot be read".into());
        let object = value.as_object().ok_or_else(damaged)?;
        let (tag, inner) = object.iter().next().ok_or_else(damaged)?;
        Ok(match tag.as_str() {
            "n" => Value::Null,
            "i" => Value::Int(inner.as_i64().ok_or_else(damaged)?),
            "b" => Value::Bool(inner.as_bool().ok_or_else(damaged)?),
            "r" => Value::Real(inner.as_f64().ok_or_else(damaged)?),
            "t" => Value::Text(inner.as_str().ok_or_else(damaged)?.to_owned()),
            "x" => Value::Bytes(unhex(inner.as_str().ok_or_else(damaged)?).ok_or_else(damaged)?),
            "at" => Value::Time(
                At::from_micros(inner.as_i64().ok_or_else(damaged)?).map_err(|_| damaged())?,
            ),
            "d" => {
                Value::Date(parse_date(inner.as_str().ok_or_else(damaged)?).ok_or_else(damaged)?)
            }
            _ => return Err(damaged()),
        })
    }
}

/// A time as SQLite holds it: RFC 3339 text (datavern's fixed-width form, or sqlx's with a
/// space for the `T`), or a wall time without an offset, which is UTC.
fn parse_time(text: &str) -> Option<At> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let with_t = text.replacen(' ', "T", 1);
    if let Ok(at) = time::OffsetDateTime::parse(&with_t, &Rfc3339) {
        return Some(At::from(at));
    }
    let wall = time::macros::format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(&with_t, &wall)
        .ok()
        .map(|at| At::from(at.assume_utc()))
}

/// `YYYY-MM-DD` as a date.
fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

/// A decimal's digits without a sign on zero, leading zeros, or trailing zeros after the
/// point: `12.50`, `012.5` and `12.5` are one number (PostgreSQL and MariaDB pad to the
/// column's scale, SQLite keeps the text as written).
pub(crate) fn canonical_decimal(text: &str) -> String {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut out = String::with_capacity(text.len());
    if negative && !(whole == "0" && fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(whole);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A JSON document with its object keys sorted and no insignificant white space
/// (PostgreSQL's `jsonb` reorders keys and adds spaces); text that is not JSON as it is.
pub(crate) fn canonical_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => {
            let mut out = String::with_capacity(text.len());
            write_sorted(&value, &mut out);
            out
        }
        Err(_) => text.to_owned(),
    }
}

fn write_sorted(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(value, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value_not_by_scale() {
        for (text, canonical) in [
            ("12.50", "12.5"),
            ("012.5", "12.5"),
            ("12", "12"),
            ("12.000", "12"),
            ("-0.00", "0"),
            ("-3.10", "-3.1"),
            ("0.05", "0.05"),
            ("+7", "7"),
        ] {
            assert_eq!(canonical_decimal(text), canonical, "{text}");
        }
    }

    #[test]
    fn json_compares_by_content_not_by_layout() {
        assert_eq!(
            canonical_json(r#"{"b": [1, {"d": 2, "c": 3}], "a": "x"}"#),
            r#"{"a":"x","b":[1,{"c":3,"d":2}]}"#
        );
        assert_eq!(canonical_json("not json"), "not json");
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_how_a_backend_stores_the_meaning() {
        let canon = |value: Value, kind: Kind| {
            let mut out = Vec::new();
            value.conform(kind).unwrap().canonical(kind, &mut out);
            out
        };
        assert_eq!(
            canon(Value::Int(1), Kind::Bool),
            canon(Value::Bool(true), Kind::Bool)
        );
        let id = uuid::Uuid::from_u128(7);
        assert_eq!(
            canon(Value::Text(id.to_string()), Kind::Uuid),
            canon(Value::Bytes(id.as_bytes().to_vec()), Kind::Uuid)
        );
        assert_eq!(
            canon(Value::Text("4.20".into()), Kind::Decimal),
            canon(Value::Text("4.2".into()), Kind::Decimal)
        );
        assert_ne!(
            canon(Value::Text("4.20".into()), Kind::Text),
            canon(Value::Text("4.2".into()), Kind::Text)
        );
        assert_ne!(
            canon(Value::Null, Kind::Text),
            canon(Value::Text(String::new()), Kind::Text)
        );
        assert!(Value::Bytes(vec![1, 2]).conform(Kind::Uuid).is_none());
        let at = Value::Time(At::from_micros(1_700_000_000_123_456).unwrap());
        for text in [
            "2023-11-14T22:13:20.123456Z",
            "2023-11-14 22:13:20.123456+00:00",
            "2023-11-14 23:13:20.123456+01:00",
        ] {
            assert_eq!(
                Value::Text(text.into()).conform(Kind::Time),
                Some(at.clone()),
                "{text}"
            );
        }
        assert_eq!(
            Value::Text("2023-11-14 22:13:20".into()).conform(Kind::Time),
            Some(Value::Time(At::from_micros(1_700_000_000_000_000).unwrap()))
        );
        assert!(
            Value::Text("yesterday".into())
                .conform(Kind::Time)
                .is_none()
        );
    }

    #[test]
    fn checkpoint_keys_round_trip() {
        let values = [
            Value::Null,
            Value::Int(-5),
            Value::Bool(true),
            Value::Text("a\"b".into()),
            Value::Bytes(vec![0, 255, 16]),
            Value::Time(At::from_micros(1_700_000_000_123_456).unwrap()),
            Value::Date(time::macros::date!(2024 - 02 - 29)),
        ];
        for value in values {
            assert_eq!(Value::from_key_json(&value.to_key_json()).unwrap(), value);
        }
        assert!(Value::from_key_json(&json!({ "x": "zz" })).is_err());
        assert!(Value::from_key_json(&json!(3)).is_err());
    }
}
