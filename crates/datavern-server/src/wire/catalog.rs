//! `GET /v1/catalog`: what the deployment governs, as JSON.
//!
//! These are the wire types: the API's contract, kept apart from the core's
//! [`Summary`] so that a change inside the core does not silently change the API. Enumerated
//! values (classifications, lawful bases, types) are sent as their catalog spelling.

use datavern_core::catalog::{
    CollectionSummary, FieldSummary, PurposeSummary, StorageSummary, SubjectSummary, Summary,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The catalog: deployment, purposes of processing and collections.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CatalogView {
    /// The catalog format version.
    pub version: u32,
    /// The deployment: tenants, accreditation, storage locations, residency rules.
    pub deployment: DeploymentView,
    /// The purposes of processing, with their lawful basis.
    pub purposes: Vec<PurposeView>,
    /// The collections of records.
    pub collections: Vec<CollectionView>,
}

/// The deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    /// Its name, if given.
    pub name: Option<String>,
    /// The highest classification it is accredited for, e.g. `BEGRENSET`.
    #[schema(example = "BEGRENSET")]
    pub accreditation: String,
    /// The tenants (municipalities) it serves.
    pub tenants: Vec<TenantView>,
    /// Where data is stored, cached, backed up and sent.
    pub storage: Vec<StorageView>,
    /// The residency rules in force, in words.
    pub residency: Vec<String>,
}

/// A tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    /// The kommunenummer, four digits.
    #[schema(example = "4601")]
    pub kommunenummer: String,
    /// The municipality's name.
    pub name: String,
}

/// A storage target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StorageView {
    /// Its name.
    pub name: String,
    /// `database`, `cache`, `backup`, `event_sink` or `key_store`.
    pub kind: String,
    /// `no`, `eea`, `adequate` or `third`.
    pub location: String,
    /// The collections it is limited to; absent means all.
    pub collections: Option<Vec<String>>,
}

/// A purpose of processing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PurposeView {
    /// Its id, as sent in the `Datavern-Purpose` header.
    #[schema(example = "innbyggerregister")]
    pub id: String,
    /// What the processing is for.
    pub description: String,
    /// The GDPR Art. 6(1) basis, e.g. `6(1)(e)`.
    pub lawful_basis: String,
    /// The provision in law, if any.
    pub legal_reference: Option<String>,
    /// The Art. 9(2) condition for special categories, if any.
    pub special_category_condition: Option<String>,
    /// The Art. 10 basis for criminal data, if any.
    pub criminal_data_basis: Option<String>,
    /// Whether it needs secure identification (personopplysningsloven § 12), so may use
    /// national ids.
    pub secure_identification: bool,
    /// Whether its basis is consent, so reads are checked against the subject's consent.
    pub requires_consent: bool,
    /// Who receives the data.
    pub recipients: Vec<String>,
    /// Why it may use restricted data (GDPR Art. 18(2)), if it may.
    pub allowed_under_restriction: Option<String>,
}

/// A collection of records.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CollectionView {
    /// Its name, as used in `/v1/collections/{collection}/records`.
    #[schema(example = "innbyggere")]
    pub name: String,
    /// What the records are.
    pub description: String,
    /// The records' classification.
    pub classification: String,
    /// The highest classification of the record or any field.
    pub max_classification: String,
    /// The hjemmel of its exemption from public access (offentleglova), if exempt.
    pub unntatt_offentlighet: Option<String>,
    /// Who the records are about: `self`, `references` or `none`.
    pub subjects: String,
    /// The subject references, for `references`.
    pub subject_references: Vec<SubjectView>,
    /// The purposes it serves.
    pub purposes: Vec<String>,
    /// The retention rule in words, e.g. `P5Y from created, then delete`.
    pub retention: Option<String>,
    /// What erasure does: `crypto_shred`, `delete` or `anonymize`.
    pub erasure: String,
    /// The archive duty's legal reason, if under archive duty.
    pub archive: Option<String>,
    /// The fields.
    pub fields: Vec<FieldView>,
}

/// A subject reference: a field holding the record id of a person in another collection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubjectView {
    /// The reference's name.
    pub name: String,
    /// The person's role, e.g. `barn`.
    pub role: String,
    /// The field holding the person's record id.
    pub field: String,
    /// The person collection.
    pub collection: String,
    /// Whether this is the primary subject (whose key encrypts the record).
    pub primary: bool,
}

/// A field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldView {
    /// Its name.
    pub name: String,
    /// Its type, e.g. `string`, `date`, `integer`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// Whether a record must have it.
    pub required: bool,
    /// Its personal-data category, e.g. `user.government_id.national_id`.
    pub category: String,
    /// The identifier validated on write, e.g. `fnr`, if any.
    pub identifier: Option<String>,
    /// Its effective classification.
    pub classification: String,
    /// Whether it is stored encrypted.
    pub encrypted: bool,
    /// Why it is or is not encrypted.
    pub encryption_reason: String,
    /// Whether it can be looked up by exact value.
    pub searchable: bool,
    /// The purposes that may read it.
    pub purposes: Vec<String>,
    /// The subject reference it is attributed to, if any.
    pub subject: Option<String>,
    /// Its own public-access exemption's hjemmel, if any.
    pub unntatt_offentlighet: Option<String>,
}

impl From<Summary> for CatalogView {
    fn from(summary: Summary) -> Self {
        CatalogView {
            version: summary.version,
            deployment: DeploymentView {
                name: summary.deployment.name,
                accreditation: summary.deployment.accreditation.to_string(),
                tenants: summary
                    .deployment
                    .tenants
                    .iter()
                    .map(|t| TenantView {
                        kommunenummer: t.kommunenummer().to_string(),
                        name: t.name().to_owned(),
                    })
                    .collect(),
                storage: summary
                    .deployment
                    .storage
                    .into_iter()
                    .map(storage)
                    .collect(),
                residency: summary.deployment.residency,
            },
            purposes: summary.purposes.into_iter().map(purpose).collect(),
            collections: summary.collections.into_iter().map(collection).collect(),
        }
    }
}

fn storage(s: StorageSummary) -> StorageView {
    StorageView {
        name: s.name,
        kind: text(&s.kind),
        location: text(&s.location),
        collections: s.collections,
    }
}

fn purpose(p: PurposeSummary) -> PurposeView {
    PurposeView {
        id: p.id,
        description: p.description,
        lawful_basis: text(&p.lawful_basis),
        legal_reference: p.legal_reference,
        special_category_condition: p.special_category_condition.map(|c| text(&c)),
        criminal_data_basis: p.criminal_data_basis,
        secure_identification: p.secure_identification,
        requires_consent: p.requires_consent,
        recipients: p.recipients,
        allowed_under_restriction: p.allowed_under_restriction.map(|r| text(&r)),
    }
}

fn collection(c: CollectionSummary) -> CollectionView {
    CollectionView {
        name: c.name,
        description: c.description,
        classification: c.classification.to_string(),
        max_classification: c.max_classification.to_string(),
        unntatt_offentlighet: c.unntatt_offentlighet,
        subjects: c.subjects.to_owned(),
        subject_references: c.subject_references.into_iter().map(subject).collect(),
        purposes: c.purposes,
        retention: c.retention,
        erasure: text(&c.erasure),
        archive: c.archive,
        fields: c.fields.into_iter().map(field).collect(),
    }
}

fn subject(s: SubjectSummary) -> SubjectView {
    SubjectView {
        name: s.name,
        role: s.role,
        field: s.field,
        collection: s.collection,
        primary: s.primary,
    }
}

fn field(f: FieldSummary) -> FieldView {
    FieldView {
        name: f.name,
        field_type: text(&f.field_type),
        required: f.required,
        category: f.category.to_owned(),
        identifier: f.identifier.map(|i| text(&i)),
        classification: f.classification.to_string(),
        encrypted: f.encrypted,
        encryption_reason: text(&f.encryption_reason),
        searchable: f.searchable,
        purposes: f.purposes,
        subject: f.subject,
        unntatt_offentlighet: f.unntatt_offentlighet,
    }
}

/// The catalog spelling of an enumerated value: its serde form, which the core keeps equal to
/// what catalogs say.
fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
