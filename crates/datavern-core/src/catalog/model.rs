//! The validated catalog: typed, with effective values resolved and lookups by name.
//!
//! Values of these types exist only after [`Catalog::from_yaml`](super::Catalog::from_yaml)
//! accepted a catalog, so code that holds a [`Catalog`] can rely on every rule in
//! `docs/catalog.md`: names are unique, references resolve, encryption is on where the law
//! needs it, and so on.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::classification::Classification;
use crate::id::IdentifierKind;
use crate::residency::{DataClass, Location, ResidencyPolicy};
use crate::taxonomy::Category;

use super::legal::{
    ArchiveDuty, LawfulBasis, PublicAccessExemption, RestrictionGround, SpecialCategoryCondition,
};
use super::names::{
    CollectionName, FieldName, Kommunenummer, PurposeId, StorageName, SubjectName, SubjectRole,
};

/// A validated catalog: what a deployment governs.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(super) version: u32,
    pub(super) deployment: Deployment,
    pub(super) purposes: Vec<Purpose>,
    pub(super) collections: Vec<Collection>,
}

/// The deployment: tenants, accreditation, storage targets and residency rules.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub(super) name: Option<String>,
    pub(super) tenants: Vec<Tenant>,
    pub(super) accreditation: Classification,
    pub(super) storage: Vec<StorageTarget>,
    pub(super) residency: ResidencyPolicy,
}

/// A tenant: one municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub(super) kommunenummer: Kommunenummer,
    pub(super) name: String,
}

/// Where data is kept: a database, cache, backup target, event sink or key store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageTarget {
    pub(super) name: StorageName,
    pub(super) kind: StorageKind,
    pub(super) location: Location,
    pub(super) collections: Option<Vec<CollectionName>>,
    pub(super) description: Option<String>,
}

/// The kinds of storage target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// The primary database (or a replica).
    Database,
    /// A cache (in-process or Redis).
    Cache,
    /// A backup target.
    Backup,
    /// An event sink (NATS JetStream, Kafka).
    EventSink,
    /// The key store holding wrapped data keys.
    KeyStore,
}

/// A purpose of processing (GDPR Art. 5(1)(b)) with its lawful basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    pub(super) id: PurposeId,
    pub(super) description: String,
    pub(super) lawful_basis: LawfulBasis,
    pub(super) legal_reference: Option<String>,
    pub(super) special_category_condition: Option<SpecialCategoryCondition>,
    pub(super) criminal_data_basis: Option<String>,
    pub(super) secure_identification: bool,
    pub(super) recipients: Vec<String>,
    pub(super) allowed_under_restriction: Option<RestrictionGround>,
}

/// A collection: one kind of record, stored in its own table.
#[derive(Debug, Clone)]
pub struct Collection {
    pub(super) name: CollectionName,
    pub(super) description: String,
    pub(super) classification: Classification,
    pub(super) public_access: Option<PublicAccessExemption>,
    pub(super) subjects: DataSubjects,
    pub(super) purposes: Vec<PurposeId>,
    pub(super) retention: Option<Retention>,
    pub(super) erasure: ErasurePolicy,
    pub(super) archive: Option<ArchiveDuty>,
    pub(super) source: Option<String>,
    pub(super) fields: Vec<Field>,
}

/// How a collection's records relate to data subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSubjects {
    /// `self`: each record is a person, who is its only data subject.
    Record,
    /// Each record concerns the persons its reference fields point to; exactly one is primary.
    References(Vec<SubjectReference>),
    /// `none`: records concern no one (no personal data).
    None,
}

/// One data subject of a record: a field holding the id of a record in a person collection,
/// and the role that person plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectReference {
    pub(super) name: SubjectName,
    pub(super) role: SubjectRole,
    pub(super) field: FieldName,
    pub(super) collection: CollectionName,
    pub(super) primary: bool,
}

/// How long records are kept, from when, and what happens then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub(super) period: RetentionPeriod,
    pub(super) from: RetentionStart,
    pub(super) then: RetentionAction,
}

/// A positive ISO 8601 duration, e.g. `P5Y` or `P18M`.
#[derive(Clone)]
pub struct RetentionPeriod {
    pub(super) span: jiff::Span,
    pub(super) text: String,
}

/// The event a retention period is counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionStart {
    /// When the record was created.
    Created,
    /// When the record was last changed.
    Updated,
    /// The data subject's last activity (any write concerning them).
    LastActivity,
    /// A date or timestamp field of the record (e.g. `vedtaksdato`).
    Field(FieldName),
}

/// What happens to a record when its retention period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    /// Delete it (crypto-shredding as per the erasure policy).
    Delete,
    /// Remove what identifies the subjects, keep the rest.
    Anonymize,
    /// Transfer it to the archive (deponering), then remove it here.
    Archive,
}

/// How a data subject's erasure request (Art. 17) is carried out for a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasurePolicy {
    /// Destroy the subject's data key, then delete rows and blind indexes: reaches backups.
    CryptoShred,
    /// Delete the rows and blind indexes.
    Delete,
    /// Remove or generalise identifying fields, keep the record for statistics.
    Anonymize,
}

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
    pub(super) purposes: Vec<PurposeId>,
    pub(super) purposes_declared: bool,
    pub(super) attribution: Attribution,
    pub(super) public_access: Option<PublicAccessExemption>,
    pub(super) source: Option<String>,
}

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

impl Catalog {
    /// The format version (currently always 1).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Every purpose, in catalog order.
    pub fn purposes(&self) -> &[Purpose] {
        &self.purposes
    }

    /// The purpose with this id.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }

    /// Every collection, in catalog order.
    pub fn collections(&self) -> &[Collection] {
        &self.collections
    }

    /// The collection with this name.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// The purposes `collection` serves, resolved.
    pub fn purposes_of<'a>(
        &'a self,
        collection: &'a Collection,
    ) -> impl Iterator<Item = &'a Purpose> {
        collection
            .purposes
            .iter()
            .filter_map(|id| self.purpose(id.as_str()))
    }
}

impl Deployment {
    /// The deployment's name, if given.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The tenants (at least one).
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// The tenant with this kommunenummer.
    pub fn tenant(&self, kommunenummer: &Kommunenummer) -> Option<&Tenant> {
        self.tenants
            .iter()
            .find(|t| &t.kommunenummer == kommunenummer)
    }

    /// The highest classification the deployment is accredited for; data above it is refused.
    pub fn accreditation(&self) -> Classification {
        self.accreditation
    }

    /// Every storage target.
    pub fn storage(&self) -> &[StorageTarget] {
        &self.storage
    }

    /// The residency rules in force (built-in plus the catalog's).
    pub fn residency(&self) -> &ResidencyPolicy {
        &self.residency
    }
}

impl Tenant {
    /// The municipality's number.
    pub fn kommunenummer(&self) -> Kommunenummer {
        self.kommunenummer
    }

    /// The municipality's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl StorageTarget {
    /// Its name.
    pub fn name(&self) -> &StorageName {
        &self.name
    }

    /// What kind of target it is.
    pub fn kind(&self) -> StorageKind {
        self.kind
    }

    /// Where it is.
    pub fn location(&self) -> Location {
        self.location
    }

    /// Whether it holds data of `collection` (targets without a `collections` list hold all).
    pub fn holds(&self, collection: &str) -> bool {
        self.collections
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == collection))
    }

    /// The collections it is limited to, if limited.
    pub fn collections(&self) -> Option<&[CollectionName]> {
        self.collections.as_deref()
    }

    /// Its description, if given.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

impl StorageKind {
    /// Every kind.
    pub const ALL: [StorageKind; 5] = [
        StorageKind::Database,
        StorageKind::Cache,
        StorageKind::Backup,
        StorageKind::EventSink,
        StorageKind::KeyStore,
    ];

    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Database => "database",
            StorageKind::Cache => "cache",
            StorageKind::Backup => "backup",
            StorageKind::EventSink => "event_sink",
            StorageKind::KeyStore => "key_store",
        }
    }
}

impl Purpose {
    /// Its id.
    pub fn id(&self) -> &PurposeId {
        &self.id
    }

    /// What the processing is for.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The lawful basis (Art. 6(1)).
    pub fn lawful_basis(&self) -> LawfulBasis {
        self.lawful_basis
    }

    /// The legal reference, e.g. `barnehageloven § 17`.
    pub fn legal_reference(&self) -> Option<&str> {
        self.legal_reference.as_deref()
    }

    /// The Art. 9(2) condition for special categories, if the purpose processes them.
    pub fn special_category_condition(&self) -> Option<SpecialCategoryCondition> {
        self.special_category_condition
    }

    /// The legal basis for criminal data (Art. 10), if the purpose processes it.
    pub fn criminal_data_basis(&self) -> Option<&str> {
        self.criminal_data_basis.as_deref()
    }

    /// Whether the purpose needs secure identification, so may use national ids
    /// (personopplysningsloven § 12).
    pub fn needs_secure_identification(&self) -> bool {
        self.secure_identification
    }

    /// Who receives the data (for Art. 13–15 and Art. 30).
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// Why the purpose may still use restricted data (Art. 18(2)); `None` means it may not.
    pub fn allowed_under_restriction(&self) -> Option<RestrictionGround> {
        self.allowed_under_restriction
    }

    /// Whether reads for this purpose must be checked against the subject's consents: the
    /// basis is consent (6(1)(a)) or the Art. 9(2) condition is explicit consent.
    pub fn requires_consent(&self) -> bool {
        self.lawful_basis.is_consent()
            || self
                .special_category_condition
                .is_some_and(SpecialCategoryCondition::is_consent)
    }
}

impl Collection {
    /// Its name (also its table's).
    pub fn name(&self) -> &CollectionName {
        &self.name
    }

    /// What its records are.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The records' classification. Fields may be classified higher.
    pub fn classification(&self) -> Classification {
        self.classification
    }

    /// The highest effective classification of the record or any field: the clearance needed
    /// to read a whole record.
    pub fn max_classification(&self) -> Classification {
        self.fields
            .iter()
            .map(|f| f.classification)
            .fold(self.classification, Ord::max)
    }

    /// The public-access exemption of the records (unntatt offentlighet), if any.
    pub fn public_access(&self) -> Option<&PublicAccessExemption> {
        self.public_access.as_ref()
    }

    /// How records relate to data subjects.
    pub fn subjects(&self) -> &DataSubjects {
        &self.subjects
    }

    /// The primary subject reference, for collections whose records reference persons.
    pub fn primary_subject(&self) -> Option<&SubjectReference> {
        match &self.subjects {
            DataSubjects::References(refs) => refs.iter().find(|r| r.primary),
            DataSubjects::Record | DataSubjects::None => None,
        }
    }

    /// The subject reference with this name.
    pub fn subject(&self, name: &str) -> Option<&SubjectReference> {
        match &self.subjects {
            DataSubjects::References(refs) => refs.iter().find(|r| r.name == name),
            DataSubjects::Record | DataSubjects::None => None,
        }
    }

    /// The fields attributed to the subject reference `name`: what that person's access
    /// request returns and what erasing them alone removes.
    pub fn fields_of_subject<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Field> {
        self.fields
            .iter()
            .filter(move |f| matches!(&f.attribution, Attribution::Subject(s) if s == name))
    }

    /// Whether records hold personal data (they have data subjects).
    pub fn has_data_subjects(&self) -> bool {
        !matches!(self.subjects, DataSubjects::None)
    }

    /// The purposes the collection serves.
    pub fn purposes(&self) -> &[PurposeId] {
        &self.purposes
    }

    /// Whether the collection serves `purpose`.
    pub fn serves(&self, purpose: &str) -> bool {
        self.purposes.iter().any(|p| p == purpose)
    }

    /// The retention rule (always present for collections with data subjects).
    pub fn retention(&self) -> Option<&Retention> {
        self.retention.as_ref()
    }

    /// How erasure requests are carried out.
    pub fn erasure(&self) -> ErasurePolicy {
        self.erasure
    }

    /// The archive duty, if records must be preserved (erasure is then answered by
    /// restriction).
    pub fn archive(&self) -> Option<&ArchiveDuty> {
        self.archive.as_ref()
    }

    /// Where the data comes from (Art. 14(2)(f), 15(1)(g)); `None` means the data subject.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Every field, in catalog order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The fields stored encrypted.
    pub fn encrypted_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.encryption.encrypted)
    }

    /// The fields with a blind index for exact-match search.
    pub fn searchable_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.searchable)
    }
}

impl SubjectReference {
    /// The reference's name, which fields are attributed to.
    pub fn name(&self) -> &SubjectName {
        &self.name
    }

    /// The role the person plays (child, guardian, …).
    pub fn role(&self) -> &SubjectRole {
        &self.role
    }

    /// The field holding the referenced record's id.
    pub fn field(&self) -> &FieldName {
        &self.field
    }

    /// The person collection referenced.
    pub fn collection(&self) -> &CollectionName {
        &self.collection
    }

    /// Whether this is the primary subject (whose key encrypts the record).
    pub fn is_primary(&self) -> bool {
        self.primary
    }
}

impl Retention {
    /// How long.
    pub fn period(&self) -> &RetentionPeriod {
        &self.period
    }

    /// Counted from.
    pub fn from(&self) -> &RetentionStart {
        &self.from
    }

    /// Then what.
    pub fn then(&self) -> RetentionAction {
        self.then
    }
}

impl RetentionPeriod {
    /// Parses a positive ISO 8601 duration (`P5Y`, `P18M`, `P1Y6M`, `P30D`).
    pub fn parse(text: &str) -> Result<Self, String> {
        static PARSER: jiff::fmt::temporal::SpanParser = jiff::fmt::temporal::SpanParser::new();
        let span = PARSER.parse_span(text.trim()).map_err(|err| {
            format!("\"{text}\" is not an ISO 8601 duration ({err}); write e.g. P5Y, P18M or P30D")
        })?;
        if span.is_negative() || span.is_zero() {
            return Err(format!(
                "\"{text}\" is not a positive duration; write e.g. P5Y"
            ));
        }
        Ok(RetentionPeriod {
            span,
            text: text.trim().to_uppercase(),
        })
    }

    /// The period as a calendar span, to add to the start date.
    pub fn span(&self) -> jiff::Span {
        self.span
    }

    /// The ISO 8601 text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for RetentionPeriod {
    fn eq(&self, other: &Self) -> bool {
        self.span.fieldwise() == other.span.fieldwise()
    }
}

impl Eq for RetentionPeriod {}

impl fmt::Debug for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RetentionPeriod({})", self.text)
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for RetentionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionStart::Created => f.write_str("created"),
            RetentionStart::Updated => f.write_str("updated"),
            RetentionStart::LastActivity => f.write_str("last_activity"),
            RetentionStart::Field(name) => write!(f, "field {name}"),
        }
    }
}

impl RetentionAction {
    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionAction::Delete => "delete",
            RetentionAction::Anonymize => "anonymize",
            RetentionAction::Archive => "archive",
        }
    }
}

impl ErasurePolicy {
    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErasurePolicy::CryptoShred => "crypto_shred",
            ErasurePolicy::Delete => "delete",
            ErasurePolicy::Anonymize => "anonymize",
        }
    }
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

macro_rules! catalog_words {
    ($($ty:ident),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ();

            fn from_str(s: &str) -> Result<Self, ()> {
                $ty::ALL.into_iter().find(|v| v.as_str() == s.trim()).ok_or(())
            }
        }
    )*};
}

catalog_words!(FieldType, StorageKind);

impl RetentionAction {
    /// Every action.
    pub const ALL: [RetentionAction; 3] = [
        RetentionAction::Delete,
        RetentionAction::Anonymize,
        RetentionAction::Archive,
    ];
}

impl ErasurePolicy {
    /// Every policy.
    pub const ALL: [ErasurePolicy; 3] = [
        ErasurePolicy::CryptoShred,
        ErasurePolicy::Delete,
        ErasurePolicy::Anonymize,
    ];
}

catalog_words!(RetentionAction, ErasurePolicy);
