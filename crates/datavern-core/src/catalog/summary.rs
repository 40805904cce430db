//! A plain-data overview of a validated catalog, for `datavern catalog check` and reports.

use serde::Serialize;

use crate::classification::Classification;
use crate::residency::Location;

use super::field::{Attribution, EncryptionReason, Field, FieldType};
use super::legal::{LawfulBasis, RestrictionGround, SpecialCategoryCondition};
use super::model::{
    Catalog, Collection, DataSubjects, Purpose, StorageKind, StorageTarget, Tenant,
};
use super::retention::ErasurePolicy;

/// What a catalog declares, flattened for display and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The format version.
    pub version: u32,
    /// The deployment.
    pub deployment: DeploymentSummary,
    /// The purposes.
    pub purposes: Vec<PurposeSummary>,
    /// The collections.
    pub collections: Vec<CollectionSummary>,
}

/// The deployment, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentSummary {
    /// Its name, if given.
    pub name: Option<String>,
    /// The highest classification it is accredited for.
    pub accreditation: Classification,
    /// The tenants.
    pub tenants: Vec<Tenant>,
    /// The storage targets.
    pub storage: Vec<StorageSummary>,
    /// Every residency rule in force, in words.
    pub residency: Vec<String>,
    /// Whether the installation holds a masked copy (synthetic personal data); left out
    /// when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

/// A storage target, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct StorageSummary {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: StorageKind,
    /// Its location.
    pub location: Location,
    /// The collections it is limited to; `None` means all.
    pub collections: Option<Vec<String>>,
}

/// A purpose, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct PurposeSummary {
    /// Its id.
    pub id: String,
    /// Its description.
    pub description: String,
    /// The Art. 6(1) basis.
    pub lawful_basis: LawfulBasis,
    /// The legal reference, if any.
    pub legal_reference: Option<String>,
    /// The Art. 9(2) condition, if any.
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// The Art. 10 basis, if any.
    pub criminal_data_basis: Option<String>,
    /// Whether it needs secure identification (pol. § 12).
    pub secure_identification: bool,
    /// Whether reads are checked against consents.
    pub requires_consent: bool,
    /// The recipients.
    pub recipients: Vec<String>,
    /// Why it may use restricted data, if it may.
    pub allowed_under_restriction: Option<RestrictionGround>,
}

/// A collection, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionSummary {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The records' classification.
    pub classification: Classification,
    /// The highest classification of the record or any field.
    pub max_classification: Classification,
    /// The hjemmel of its public-access exemption, if exempt.
    pub unntatt_offentlighet: Option<String>,
    /// `self`, `references` or `none`.
    pub subjects: &'static str,
    /// The subject references, for `references`.
    pub subject_references: Vec<SubjectSummary>,
    /// The purposes it serves.
    pub purposes: Vec<String>,
    /// The retention rule in words, e.g. `P5Y from created, then delete`.
    pub retention: Option<String>,
    /// The erasure policy.
    pub erasure: ErasurePolicy,
    /// The archive duty's legal reason, if under archive duty.
    pub archive: Option<String>,
    /// The fields.
    pub fields: Vec<FieldSummary>,
}

/// A subject reference, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectSummary {
    /// The reference's name.
    pub name: String,
    /// The person's role.
    pub role: String,
    /// The field holding the person's record id.
    pub field: String,
    /// The person collection.
    pub collection: String,
    /// Whether this is the primary subject.
    pub primary: bool,
}

/// A field, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct FieldSummary {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether it is required.
    pub required: bool,
    /// Its category id.
    pub category: &'static str,
    /// The identifier kind validated, if any.
    pub identifier: Option<crate::id::IdentifierKind>,
    /// Its effective classification.
    pub classification: Classification,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// Why it is or is not encrypted.
    pub encryption_reason: EncryptionReason,
    /// Whether it has a blind index.
    pub searchable: bool,
    /// The purposes that may read it.
    pub purposes: Vec<String>,
    /// The subject reference it is attributed to, if any.
    pub subject: Option<String>,
    /// Its own public-access exemption's hjemmel, if any.
    pub unntatt_offentlighet: Option<String>,
}

impl Catalog {
    /// An overview of the catalog.
    pub fn summary(&self) -> Summary {
        Summary {
            version: self.version,
            deployment: DeploymentSummary {
                name: self.deployment.name.clone(),
                accreditation: self.deployment.accreditation,
                tenants: self.deployment.tenants.clone(),
                storage: self.deployment.storage.iter().map(storage).collect(),
                residency: self
                    .deployment
                    .residency
                    .rules()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                masked: self.deployment.masked,
            },
            purposes: self.purposes.iter().map(purpose).collect(),
            collections: self.collections.iter().map(collection).collect(),
        }
    }
}

impl Collection {
    /// An overview of the collection, as in [`Catalog::summary`].
    pub fn summary(&self) -> CollectionSummary {
        collection(self)
    }
}

fn storage(target: &StorageTarget) -> StorageSummary {
    StorageSummary {
        name: target.name.to_string(),
        kind: target.kind,
        location: target.location,
        collections: target
            .collections
            .as_ref()
            .map(|c| c.iter().map(ToString::to_string).collect()),
    }
}

fn purpose(purpose: &Purpose) -> PurposeSummary {
    PurposeSummary {
        id: purpose.id.to_string(),
        description: purpose.description.clone(),
        lawful_basis: purpose.lawful_basis,
        legal_reference: purpose.legal_reference.clone(),
        special_category_condition: purpose.special_category_condition,
        criminal_data_basis: purpose.criminal_data_basis.clone(),
        secure_identification: purpose.secure_identification,
        requires_consent: purpose.requires_consent(),
        recipients: purpose.recipients.clone(),
        allowed_under_restriction: purpose.allowed_under_restriction,
    }
}

fn collection(collection: &Collection) -> CollectionSummary {
    let (subjects, subject_references) = match &collection.subjects {
        DataSubjects::Record => ("self", Vec::new()),
        DataSubjects::None => ("none", Vec::new()),
        DataSubjects::References(refs) => (
            "references",
            refs.iter()
                .map(|r| SubjectSummary {
                    name: r.name.to_string(),
                    role: r.role.to_string(),
                    field: r.field.to_string(),
                    collection: r.collection.to_string(),
                    primary: r.primary,
                })
                .collect(),
        ),
    };
    CollectionSummary {
        name: collection.name.to_string(),
        description: collection.description.clone(),
        classification: collection.classification,
        max_classification: collection.max_classification(),
        unntatt_offentlighet: collection
            .public_access
            .as_ref()
            .map(|e| e.hjemmel().to_owned()),
        subjects,
        subject_references,
        purposes: collection
            .purposes
            .iter()
            .map(ToString::to_string)
            .collect(),
        retention: collection
            .retention
            .as_ref()
            .map(|r| format!("{} from {}, then {}", r.period, r.from, r.then)),
        erasure: collection.erasure,
        archive: collection
            .archive
            .as_ref()
            .map(|a| a.legal_reason().to_owned()),
        fields: collection.fields.iter().map(field).collect(),
    }
}

fn field(field: &Field) -> FieldSummary {
    FieldSummary {
        name: field.name.to_string(),
        field_type: field.field_type,
        required: field.required,
        category: field.category.as_str(),
        identifier: field.identifier,
        classification: field.classification,
        encrypted: field.encryption.encrypted,
        encryption_reason: field.encryption.reason,
        searchable: field.searchable,
        purposes: field.purposes.iter().map(ToString::to_string).collect(),
        subject: match &field.attribution {
            Attribution::Subject(name) => Some(name.to_string()),
            Attribution::Record | Attribution::Nobody => None,
        },
        unntatt_offentlighet: field.public_access.as_ref().map(|e| e.hjemmel().to_owned()),
    }
}
