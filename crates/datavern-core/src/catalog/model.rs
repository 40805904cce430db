//! The validated catalog: typed, with effective values resolved and lookups by name.
//!
//! Values of these types exist only after [`Catalog::from_yaml`](super::Catalog::from_yaml)
//! accepted a catalog, so code that holds a [`Catalog`] can rely on every rule in
//! `docs/catalog.md`: names are unique, references resolve, encryption is on where the law
//! needs it, and so on.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::access::Role;
use crate::classification::Classification;
use crate::residency::{Location, ResidencyPolicy};

use super::field::{Attribution, Field};
use super::legal::{
    ArchiveDuty, LawfulBasis, PublicAccessExemption, RestrictionGround, SpecialCategoryCondition,
};
use super::names::{
    CollectionName, FieldName, Kommunenummer, PurposeId, StorageName, SubjectName, SubjectRole,
};
use super::retention::{ErasurePolicy, Retention};

/// A validated catalog: what a deployment governs.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(super) version: u32,
    pub(super) deployment: Deployment,
    pub(super) purposes: Vec<Purpose>,
    pub(super) collections: Vec<Collection>,
    /// The text it was parsed from, byte for byte: what a catalog version records and its
    /// checksum is taken of.
    pub(super) source: std::sync::Arc<str>,
}

/// The deployment: tenants, accreditation, storage targets and residency rules.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub(super) name: Option<String>,
    pub(super) tenants: Vec<Tenant>,
    pub(super) accreditation: Classification,
    pub(super) storage: Vec<StorageTarget>,
    pub(super) residency: ResidencyPolicy,
    pub(super) masked: bool,
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
    pub(super) consent_recorder_role: Option<Role>,
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

impl Catalog {
    /// The text the catalog was parsed from, byte for byte.
    pub fn source(&self) -> &str {
        &self.source
    }

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

    /// Why the collections in `holding` may not be copied to `location` (a backup
    /// repository, an export target): one line per collection whose records or fields a
    /// residency rule keeps nearer, naming the rule. Empty when all may go there.
    pub fn residency_refusals<'a>(
        &self,
        location: Location,
        holding: impl IntoIterator<Item = &'a Collection>,
    ) -> Vec<String> {
        holding
            .into_iter()
            .filter_map(|collection| {
                let (within, rule, what) =
                    super::validate::strictest_limit(&self.deployment.residency, collection)?;
                (!location.is_within(within)).then(|| {
                    format!(
                        "collection `{}` must stay within `{within}`: {what} (rule: {rule}), \
                         and the target is in `{location}`",
                        collection.name
                    )
                })
            })
            .collect()
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

    /// Whether the installation holds a masked copy (`masked: true`, written by `datavern
    /// migrate copy --mask`): every personal value in it is synthetic, for a test
    /// environment.
    pub fn is_masked(&self) -> bool {
        self.masked
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

    /// The role a principal needs to record a grant of consent to this purpose
    /// (`consent: { recorder_role: … }`), if the catalog requires one.
    pub fn consent_recorder_role(&self) -> Option<&Role> {
        self.consent_recorder_role.as_ref()
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

    /// The field `name` stands for in the records API: the field of that name, else the
    /// field renamed from it (`renamed_from`), whose old name is served as an alias while
    /// the catalog declares the rename.
    pub fn resolve_field(&self, name: &str) -> Option<&Field> {
        self.field(name).or_else(|| {
            self.fields
                .iter()
                .find(|f| f.renamed_from.as_ref().is_some_and(|old| old == name))
        })
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

/// `Display` and `FromStr` for the catalog's enum words, by `as_str` and `ALL`.
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

pub(super) use catalog_words;

catalog_words!(StorageKind);
