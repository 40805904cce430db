//! Field values as JSON and as CSV cells, for reports and exports.

use datavern_core::record::FieldValue;
use serde_json::Value;

/// The value as JSON: strings, numbers, booleans and JSON as themselves; decimals, dates and
/// timestamps as their canonical text (exact, never a float); `null` for no value.
pub(crate) fn to_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Null => Value::Null,
        FieldValue::Integer(i) => Value::from(*i),
        FieldValue::Boolean(b) => Value::Bool(*b),
        FieldValue::Json(json) => json.clone(),
        other => other.canonical().map_or(Value::Null, Value::String),
    }
}

/// The value as one CSV cell: its canonical text, empty for no value.
pub(super) fn to_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
