//! Records on the wire: what `/v1/collections/{collection}/records` answers.
//!
//! A record's own values sit under `fields`, apart from the metadata datavern sets (`id`,
//! `version`, times), so a field name can never collide with it. Fields the caller may not
//! read are absent from `fields` and named in `withheld` with the reason.

use datavern_core::record::FieldValue;
use datavern_store::RecordView;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A record as the caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordJson {
    /// The record id (a UUIDv7).
    pub id: Uuid,
    /// The collection.
    pub collection: String,
    /// The version: 1 on create, incremented by every update. Also the `ETag`; send it in
    /// `If-Match` to update only this version.
    pub version: i64,
    /// When the record was created (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When it was last changed (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The fields the caller may read, with their values (`null` when the record has none).
    /// Identifiers are in canonical form, decimals are strings (exact), dates `YYYY-MM-DD`,
    /// timestamps RFC 3339 in UTC.
    #[schema(value_type = Object, additional_properties)]
    pub fields: Map<String, Value>,
    /// Fields left out, with why.
    pub withheld: Vec<WithheldJson>,
    /// The data subjects the record concerns, as far as the caller may see them.
    pub subjects: Vec<SubjectJson>,
}

/// A field left out of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WithheldJson {
    /// The field.
    pub field: String,
    /// `purpose` (the purpose may not read it) or `clearance` (classified above the
    /// caller's clearance).
    pub reason: String,
}

/// One data subject of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubjectJson {
    /// The subject reference's name (e.g. `barn`); absent when the record is the person.
    pub reference: Option<String>,
    /// The subject's id: the person's record id.
    pub id: Uuid,
    /// Whether this is the primary subject, whose key encrypts the record.
    pub primary: bool,
}

/// A page of records (a list), or every match of a lookup.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordPage {
    /// The records, in creation order.
    pub items: Vec<RecordJson>,
    /// Pass it as `cursor` to get the next page; absent on the last page and for lookups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<RecordView> for RecordJson {
    fn from(view: RecordView) -> Self {
        RecordJson {
            id: view.id,
            collection: view.collection,
            version: view.version,
            created_at: view.created_at,
            updated_at: view.updated_at,
            fields: view
                .fields
                .into_iter()
                .map(|(name, value)| (name.to_string(), value_json(value)))
                .collect(),
            withheld: view
                .withheld
                .into_iter()
                .map(|w| WithheldJson {
                    field: w.field.to_string(),
                    reason: w.reason.as_str().to_owned(),
                })
                .collect(),
            subjects: view
                .subjects
                .into_iter()
                .map(|s| SubjectJson {
                    reference: s.reference,
                    id: s.id.as_uuid(),
                    primary: s.primary,
                })
                .collect(),
        }
    }
}

/// A field value as JSON: decimals stay strings (exact), dates and timestamps their
/// canonical text.
fn value_json(value: FieldValue) -> Value {
    match value {
        FieldValue::String(s) | FieldValue::Decimal(s) => Value::String(s),
        FieldValue::Integer(i) => Value::from(i),
        FieldValue::Boolean(b) => Value::Bool(b),
        FieldValue::Json(v) => v,
        FieldValue::Null => Value::Null,
        other => other.canonical().map_or(Value::Null, Value::String),
    }
}
