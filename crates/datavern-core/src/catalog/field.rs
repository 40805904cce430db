//! Fields of a collection, with their effective values.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::classification::Classification;
use crate::id::IdentifierKind;
use crate::residency::DataClass;
use crate::taxonomy::Category;

use super::legal::PublicAccessExemption;
use super::model::catalog_words;
use super::names::{FieldName, PurposeId, SubjectName};

/// A field of a collection, with its effective values resolved.
#[derive(Debug, Clone)]
pub struct Field {
    pub(super) name: FieldName,
    pub(super) description: Option<String>,
    pub(super) field_type: FieldType,
    pub(super) required: bool,
    pub(super) category: &'static Category,
    pub(super) identifier: Option<IdentifierKind>,
    pub(super) classification: Classification,
    pub(super) declared_classification: Option<Classification>,
    pub(super) encryption: Encryption,
    pub(super) searchable: bool,
    pub(super) blind_index_length: Option<u8>,
    pub(super) padding: Option<u16>,
    pub(super) unique: bool,
    pub(super) purposes: Vec<PurposeId>,
    pub(super) purposes_declared: bool,
    pub(super) attribution: Attribution,
    pub(super) public_access: Option<PublicAccessExemption>,
    pub(super) source: Option<String>,
    pub(super) renamed_from: Option<FieldName>,
}

/// The blind-index length of a searchable field that declares none, in bytes (24 bits):
/// lookups stay near-unique in a municipality's tables while equal indexes across a large
/// column no longer prove equal values. See `docs/crypto.md`, "What a database holder learns".
pub const DEFAULT_BLIND_INDEX_LENGTH: usize = 3;
/// The shortest blind index a catalog may declare, in bytes.
pub const MIN_BLIND_INDEX_LENGTH: usize = 2;
/// The longest blind index a catalog may declare, in bytes: 128 bits already make an index a
/// unique pseudonym of its value; longer only costs space.
pub const MAX_BLIND_INDEX_LENGTH: usize = 16;
/// The padding bucket of encrypted names and contact details that declare none, in bytes.
pub const DEFAULT_PADDING: usize = 32;
/// The largest padding bucket a catalog may declare, in bytes.
pub const MAX_PADDING: usize = 4096;

/// The value type of a field (its SQL column type when stored in plaintext).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Short text, up to a line (names, identifiers, codes).
    String,
    /// Long free text.
    Text,
    /// A 64-bit integer.
    Integer,
    /// An exact decimal number (amounts).
    Decimal,
    /// true or false.
    Boolean,
    /// A calendar date.
    Date,
    /// An instant with time zone.
    Timestamp,
    /// A JSON document.
    Json,
}

/// Whether a field is encrypted, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Encryption {
    /// Whether values are stored encrypted under the data subject's key.
    pub encrypted: bool,
    /// Why.
    pub reason: EncryptionReason,
}

/// Why a field is (or is not) encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EncryptionReason {
    /// National id, special category or criminal data: always encrypted.
    Mandatory,
    /// The catalog said so (`encrypted: true` or `false`).
    Declared,
    /// The category's default protection is to encrypt.
    Category,
    /// The effective classification is KONFIDENSIELT or above.
    Classification,
    /// Nothing calls for it.
    Default,
}

/// Which data subject a field's value belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The person the record is (`subjects: self`).
    Record,
    /// The subject of this reference (`subjects: [...]`); unattributed fields belong to the
    /// primary subject.
    Subject(SubjectName),
    /// No one (`subjects: none`).
    Nobody,
}

impl Field {
    /// Its name (also its column's).
    pub fn name(&self) -> &FieldName {
        &self.name
    }

    /// What it holds, if described.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The value type.
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// Whether every record must have a value.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The data category.
    pub fn category(&self) -> &'static Category {
        self.category
    }

    /// The identifier kind values are validated as, if any.
    pub fn identifier(&self) -> Option<IdentifierKind> {
        self.identifier
    }

    /// The effective classification: the field's own if declared, else the collection's.
    pub fn classification(&self) -> Classification {
        self.classification
    }

    /// The classification declared on the field itself, if any.
    pub fn declared_classification(&self) -> Option<Classification> {
        self.declared_classification
    }

    /// Whether values are stored encrypted (effective).
    pub fn is_encrypted(&self) -> bool {
        self.encryption.encrypted
    }

    /// Whether and why values are encrypted.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// Whether the field has a blind index for exact-match search (only encrypted fields do).
    pub fn is_searchable(&self) -> bool {
        self.searchable
    }

    /// The length of the field's blind index in bytes, for searchable fields: as declared
    /// (`blind_index_length`), else [`DEFAULT_BLIND_INDEX_LENGTH`]; `None` for the others.
    pub fn blind_index_length(&self) -> Option<usize> {
        self.blind_index_length.map(usize::from)
    }

    /// The padding bucket of the field's encrypted values in bytes (values are padded to the
    /// next multiple inside the encryption), or `None` for no padding: as declared
    /// (`padding`), else [`DEFAULT_PADDING`] for encrypted names and contact details
    /// (`user.name.*`, `user.contact.*`), else none. Always `None` for plaintext fields.
    pub fn padding(&self) -> Option<usize> {
        self.padding.map(usize::from)
    }

    /// Whether no two records of a tenant may hold the same value (`unique: true`; only
    /// searchable fields can be, as uniqueness is enforced through the blind index).
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// The purposes allowed to read the field: its own list, else the collection's.
    pub fn purposes(&self) -> &[PurposeId] {
        &self.purposes
    }

    /// Whether the field declared its own `purposes` (rather than inheriting the collection's).
    pub fn declares_purposes(&self) -> bool {
        self.purposes_declared
    }

    /// Whether `purpose` may read the field.
    pub fn readable_for(&self, purpose: &str) -> bool {
        self.purposes.iter().any(|p| p == purpose)
    }

    /// Which data subject the value belongs to.
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    /// The field's own public-access exemption, if any (the collection's applies as well).
    pub fn public_access(&self) -> Option<&PublicAccessExemption> {
        self.public_access.as_ref()
    }

    /// Where the value comes from, if different from the collection's source.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The name the field had in the previous catalog version (`renamed_from`), if it was
    /// renamed: a catalog migration carries the old field's values over to this one, and
    /// while this catalog is in force the records API accepts the old name as an alias.
    pub fn renamed_from(&self) -> Option<&FieldName> {
        self.renamed_from.as_ref()
    }

    /// Whether the field holds national ids (identifier `fnr`/`duf` or a national-id category).
    pub fn is_national_id(&self) -> bool {
        self.identifier.is_some_and(IdentifierKind::is_national_id)
            || self.category.is_national_id()
    }

    /// Whether the field holds a special category of personal data (Art. 9).
    pub fn is_special_category(&self) -> bool {
        self.category.is_special()
    }

    /// Whether the field holds criminal data (Art. 10).
    pub fn is_criminal(&self) -> bool {
        self.category.is_criminal()
    }

    /// Whether the field holds personal data.
    pub fn is_personal(&self) -> bool {
        self.category.is_personal()
    }

    /// What the field holds, for residency checks. A field with an `fnr` identifier counts as
    /// a national id even under a broader category.
    pub fn data_class(&self) -> DataClass {
        let category = match self.identifier {
            Some(kind) if kind.is_national_id() && !self.category.is_national_id() => {
                crate::taxonomy::category_for_identifier(kind)
            }
            _ => self.category,
        };
        DataClass {
            classification: self.classification,
            category,
        }
    }
}

impl FieldType {
    /// Every type.
    pub const ALL: [FieldType; 8] = [
        FieldType::String,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Timestamp,
        FieldType::Json,
    ];

    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Json => "json",
        }
    }

    /// Whether values are points in time (usable as a retention start).
    pub fn is_temporal(self) -> bool {
        matches!(self, FieldType::Date | FieldType::Timestamp)
    }
}

catalog_words!(FieldType);
