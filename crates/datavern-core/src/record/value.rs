//! Validated values: typed, canonical, and redacted in `Debug`.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use uuid::Uuid;

use crate::catalog::{Field, FieldName, SubjectName};
use crate::id::IdentifierKind;

use super::validate::Mode;

/// A record body that passed [`validate`](super::validate): typed values keyed by field name,
/// in catalog order.
///
/// In [`Mode::Create`] it holds every field the body gave (required ones always); in
/// [`Mode::Patch`] only the fields to change. A field sent as `null` is present with
/// [`FieldValue::Null`] (clear it), an absent field is not present (leave it alone).
///
/// `Debug` prints field names and types, never values: personal data must not reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedRecord {
    pub(super) mode: Mode,
    pub(super) values: Vec<(FieldName, FieldValue)>,
    pub(super) subjects: Vec<SubjectRecordId>,
}

/// One value of a validated record.
///
/// Identifier values are already in canonical form (see [`FieldValue::canonical`]). `Debug`
/// prints the variant only, never the value.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `string` or `text`. For identifier fields, the canonical form of the identifier; for
    /// subject references, the record id as a lowercase hyphenated UUID.
    String(String),
    /// `integer`.
    Integer(i64),
    /// `decimal`, as its canonical decimal text (`1234.5`, `-0.25`, `100`): exact, never a
    /// float.
    Decimal(String),
    /// `boolean`.
    Boolean(bool),
    /// `date`.
    Date(Date),
    /// `timestamp`: an instant (the offset it was written with is not kept).
    Timestamp(Timestamp),
    /// `json`: any JSON value but `null`.
    Json(Value),
    /// `null`: no value (for a patch: clear the field).
    Null,
}

/// The record id a subject reference of the record points to: which person the record (or
/// part of it) is about. Ids are pseudonymous record ids, safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRecordId {
    /// The reference's name in the catalog, e.g. `barn`.
    pub subject: SubjectName,
    /// The id of the referenced person's record.
    pub record_id: Uuid,
    /// Whether this is the primary subject, whose data key encrypts the record.
    pub primary: bool,
}

impl ValidatedRecord {
    /// Whether this was validated for a create or a patch.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The value of `field`, if the body gave it.
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.values
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value)
    }

    /// The fields and values, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (&FieldName, &FieldValue)> {
        self.values.iter().map(|(name, value)| (name, value))
    }

    /// The names of the fields the body gave (what a write touches), in catalog order.
    pub fn field_names(&self) -> impl Iterator<Item = &FieldName> {
        self.values.iter().map(|(name, _)| name)
    }

    /// How many fields the body gave.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the body gave no field (an empty patch).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The subject references the body set (not those sent as `null`), in catalog order.
    pub fn subjects(&self) -> &[SubjectRecordId] {
        &self.subjects
    }

    /// The record id of the primary subject, if the body set it (always, on a create in a
    /// collection with subject references).
    pub fn primary_subject(&self) -> Option<Uuid> {
        self.subjects
            .iter()
            .find(|s| s.primary)
            .map(|s| s.record_id)
    }

    /// The values, owned, in catalog order.
    pub fn into_values(self) -> Vec<(FieldName, FieldValue)> {
        self.values
    }
}

impl FieldValue {
    /// The value's type as written in catalogs: `string`, `integer`, `decimal`, `boolean`,
    /// `date`, `timestamp`, `json` or `null` (a `text` field holds a `string`).
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::String(_) => "string",
            FieldValue::Integer(_) => "integer",
            FieldValue::Decimal(_) => "decimal",
            FieldValue::Boolean(_) => "boolean",
            FieldValue::Date(_) => "date",
            FieldValue::Timestamp(_) => "timestamp",
            FieldValue::Json(_) => "json",
            FieldValue::Null => "null",
        }
    }

    /// Whether this is [`FieldValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }

    /// The canonical text of the value, whose UTF-8 bytes are what gets encrypted (and what a
    /// decrypted value is parsed back from); `None` for `Null`, which is stored as SQL `NULL`.
    ///
    /// | variant | canonical text |
    /// |---|---|
    /// | `String` | the string; identifiers in their canonical form (see [`index_form`](Self::index_form)) |
    /// | `Integer` | decimal digits with a leading `-` if negative |
    /// | `Decimal` | the canonical decimal: no exponent, no leading or trailing zeros, no `-0` |
    /// | `Boolean` | `true` or `false` |
    /// | `Date` | `YYYY-MM-DD` |
    /// | `Timestamp` | RFC 3339 in UTC (`Z`), with a fraction only if not zero |
    /// | `Json` | compact JSON as serde_json writes it |
    pub fn canonical(&self) -> Option<String> {
        Some(match self {
            FieldValue::String(s) | FieldValue::Decimal(s) => s.clone(),
            FieldValue::Integer(i) => i.to_string(),
            FieldValue::Boolean(b) => b.to_string(),
            FieldValue::Date(d) => d.to_string(),
            FieldValue::Timestamp(t) => t.to_string(),
            FieldValue::Json(v) => v.to_string(),
            FieldValue::Null => return None,
        })
    }

    /// The normalised text a blind index is computed over, for a value of `field`; `None`
    /// for `Null`. A lookup value goes through the same normalisation
    /// ([`normalize_lookup`](super::normalize_lookup)), so equal values meet in the index.
    ///
    /// It is the [canonical](Self::canonical) text, which for identifier fields is already
    /// normalised by kind, except that e-mail addresses are lower-cased:
    ///
    /// | identifier | form | e.g. |
    /// |---|---|---|
    /// | `fnr` | 11 digits, no spaces | `15108695088` |
    /// | `duf` | 12 digits | `201012345676` |
    /// | `orgnr` | 9 digits | `988077917` |
    /// | `mva` | `NO` + 9 digits + `MVA` | `NO988077917MVA` |
    /// | `kontonr` | 11 digits, no dots or spaces | `86011117947` |
    /// | `iban` | electronic form, upper case, no spaces | `NO9386011117947` |
    /// | `phone` | E.164 | `+4791234567` |
    /// | `postnummer` | 4 digits | `5003` |
    /// | `email` | trimmed; lower-cased in the index only | `ola@example.no` |
    ///
    /// Strings without an identifier kind are matched exactly as stored. The local part of an
    /// e-mail address is case-sensitive in principle, but no Norwegian provider treats it so,
    /// and a citizen who logs in as `Ola@Example.no` must find the record stored as
    /// `ola@example.no`; the stored value keeps the case it was given.
    pub fn index_form(&self, field: &Field) -> Option<String> {
        let canonical = self.canonical()?;
        Some(match (self, field.identifier()) {
            (FieldValue::String(_), Some(IdentifierKind::Email)) => canonical.to_lowercase(),
            _ => canonical,
        })
    }
}

impl fmt::Debug for ValidatedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ValidatedRecord");
        out.field("mode", &self.mode);
        for (name, value) in &self.values {
            out.field(name.as_str(), &TypeOnly(value.type_name()));
        }
        out.finish()
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Null => f.write_str("Null"),
            _ => write!(f, "{}(<redacted>)", variant_name(self)),
        }
    }
}

/// Prints a type name without quotes.
struct TypeOnly(&'static str);

impl fmt::Debug for TypeOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn variant_name(value: &FieldValue) -> &'static str {
    match value {
        FieldValue::String(_) => "String",
        FieldValue::Integer(_) => "Integer",
        FieldValue::Decimal(_) => "Decimal",
        FieldValue::Boolean(_) => "Boolean",
        FieldValue::Date(_) => "Date",
        FieldValue::Timestamp(_) => "Timestamp",
        FieldValue::Json(_) => "Json",
        FieldValue::Null => "Null",
    }
}
