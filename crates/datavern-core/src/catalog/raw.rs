//! The raw catalog: the YAML document's shape, with strings where the validated model has
//! types. Every item remembers its path so validation can place its problems.

use serde_norway::Value;

use super::error::ErrorCode;
use super::path::Path;
use super::read::{Item, Obj, Problems, Slot, describe, object};

pub(crate) const CATALOG_KEYS: &[&str] = &["version", "deployment", "purposes", "collections"];
pub(crate) const DEPLOYMENT_KEYS: &[&str] = &[
    "name",
    "tenants",
    "accreditation",
    "storage",
    "residency",
    "masked",
];
pub(crate) const TENANT_KEYS: &[&str] = &["kommunenummer", "name"];
pub(crate) const STORAGE_KEYS: &[&str] =
    &["name", "kind", "location", "collections", "description"];
pub(crate) const RESIDENCY_KEYS: &[&str] = &["classification", "category", "within"];
pub(crate) const PURPOSE_KEYS: &[&str] = &[
    "id",
    "description",
    "lawful_basis",
    "legal_reference",
    "special_category_condition",
    "criminal_data_basis",
    "secure_identification",
    "recipients",
    "allowed_under_restriction",
    "consent",
];
pub(crate) const CONSENT_KEYS: &[&str] = &["recorder_role"];
pub(crate) const COLLECTION_KEYS: &[&str] = &[
    "name",
    "description",
    "classification",
    "unntatt_offentlighet",
    "subjects",
    "purposes",
    "retention",
    "erasure",
    "archive",
    "source",
    "fields",
];
pub(crate) const EXEMPTION_KEYS: &[&str] = &["hjemmel"];
pub(crate) const SUBJECT_KEYS: &[&str] = &["name", "role", "field", "collection", "primary"];
pub(crate) const RETENTION_KEYS: &[&str] = &["period", "from", "then"];
pub(crate) const RETENTION_FROM_KEYS: &[&str] = &["field"];
pub(crate) const ARCHIVE_KEYS: &[&str] = &["legal_reason"];
pub(crate) const FIELD_KEYS: &[&str] = &[
    "name",
    "description",
    "type",
    "required",
    "category",
    "identifier",
    "classification",
    "encrypted",
    "searchable",
    "blind_index_length",
    "padding",
    "unique",
    "purposes",
    "subject",
    "unntatt_offentlighet",
    "source",
    "renamed_from",
];

pub(crate) struct RawCatalog {
    pub(crate) path: Path,
    pub(crate) version: Slot<String>,
    pub(crate) deployment: Slot<RawDeployment>,
    pub(crate) purposes: Slot<Vec<RawPurpose>>,
    pub(crate) collections: Slot<Vec<RawCollection>>,
}

pub(crate) struct RawDeployment {
    pub(crate) path: Path,
    pub(crate) name: Slot<String>,
    pub(crate) tenants: Slot<Vec<RawTenant>>,
    pub(crate) accreditation: Slot<String>,
    pub(crate) storage: Slot<Vec<RawStorage>>,
    pub(crate) residency: Slot<Vec<RawResidencyRule>>,
    pub(crate) masked: Slot<bool>,
}

pub(crate) struct RawTenant {
    pub(crate) path: Path,
    pub(crate) kommunenummer: Slot<String>,
    pub(crate) name: Slot<String>,
}

pub(crate) struct RawStorage {
    pub(crate) path: Path,
    pub(crate) name: Slot<String>,
    pub(crate) kind: Slot<String>,
    pub(crate) location: Slot<String>,
    pub(crate) collections: Slot<Vec<Item<String>>>,
    pub(crate) description: Slot<String>,
}

pub(crate) struct RawResidencyRule {
    pub(crate) path: Path,
    pub(crate) classification: Slot<String>,
    pub(crate) category: Slot<String>,
    pub(crate) within: Slot<String>,
}

pub(crate) struct RawPurpose {
    pub(crate) path: Path,
    pub(crate) id: Slot<String>,
    pub(crate) description: Slot<String>,
    pub(crate) lawful_basis: Slot<String>,
    pub(crate) legal_reference: Slot<String>,
    pub(crate) special_category_condition: Slot<String>,
    pub(crate) criminal_data_basis: Slot<String>,
    pub(crate) secure_identification: Slot<bool>,
    pub(crate) recipients: Slot<Vec<Item<String>>>,
    pub(crate) allowed_under_restriction: Slot<String>,
    pub(crate) consent: Slot<RawConsentRules>,
}

/// A consent purpose's rules for recording consent (`consent: { recorder_role: … }`).
pub(crate) struct RawConsentRules {
    pub(crate) path: Path,
    pub(crate) recorder_role: Slot<String>,
}

pub(crate) struct RawCollection {
    pub(crate) path: Path,
    pub(crate) name: Slot<String>,
    pub(crate) description: Slot<String>,
    pub(crate) classification: Slot<String>,
    pub(crate) unntatt_offentlighet: Slot<RawExemption>,
    pub(crate) subjects: Slot<RawSubjects>,
    pub(crate) purposes: Slot<Vec<Item<String>>>,
    pub(crate) retention: Slot<RawRetention>,
    pub(crate) erasure: Slot<String>,
    pub(crate) archive: Slot<RawArchive>,
    pub(crate) source: Slot<String>,
    pub(crate) fields: Slot<Vec<RawField>>,
}

pub(crate) struct RawExemption {
    pub(crate) path: Path,
    pub(crate) hjemmel: Slot<String>,
}

pub(crate) enum RawSubjects {
    /// `self`, `none`, or some other word (reported by validation).
    Keyword(String),
    References(Vec<RawSubjectRef>),
}

pub(crate) struct RawSubjectRef {
    pub(crate) path: Path,
    pub(crate) name: Slot<String>,
    pub(crate) role: Slot<String>,
    pub(crate) field: Slot<String>,
    pub(crate) collection: Slot<String>,
    pub(crate) primary: Slot<bool>,
}

pub(crate) struct RawRetention {
    pub(crate) path: Path,
    pub(crate) period: Slot<String>,
    pub(crate) from: Slot<RawRetentionFrom>,
    pub(crate) then: Slot<String>,
}

pub(crate) enum RawRetentionFrom {
    /// `created`, `updated`, `last_activity`, or some other word (reported by validation).
    Event(String),
    /// `{ field: name }`.
    Field(Slot<String>),
}

pub(crate) struct RawArchive {
    pub(crate) path: Path,
    pub(crate) legal_reason: Slot<String>,
}

pub(crate) struct RawField {
    pub(crate) path: Path,
    pub(crate) name: Slot<String>,
    pub(crate) description: Slot<String>,
    pub(crate) field_type: Slot<String>,
    pub(crate) required: Slot<bool>,
    pub(crate) category: Slot<String>,
    pub(crate) identifier: Slot<String>,
    pub(crate) classification: Slot<String>,
    pub(crate) encrypted: Slot<bool>,
    pub(crate) searchable: Slot<bool>,
    /// A number or text; parsed by validation.
    pub(crate) blind_index_length: Slot<String>,
    /// A number or `none`; parsed by validation.
    pub(crate) padding: Slot<String>,
    pub(crate) unique: Slot<bool>,
    pub(crate) purposes: Slot<Vec<Item<String>>>,
    pub(crate) subject: Slot<String>,
    pub(crate) unntatt_offentlighet: Slot<RawExemption>,
    pub(crate) source: Slot<String>,
    /// The field's name in the previous catalog version.
    pub(crate) renamed_from: Slot<String>,
}

/// Reads the document. `None` when the root is not a mapping (reported).
pub(crate) fn read_catalog(problems: &mut Problems, value: &Value) -> Option<RawCatalog> {
    let root = Path::root();
    let obj = object(problems, value, &root, "the catalog", CATALOG_KEYS)?;
    Some(RawCatalog {
        path: root,
        version: obj.string(problems, "version"),
        deployment: obj.nested(problems, "deployment", read_deployment),
        purposes: obj.list(problems, "purposes", read_purpose),
        collections: obj.list(problems, "collections", read_collection),
    })
}

fn read_deployment(problems: &mut Problems, value: &Value, path: Path) -> Option<RawDeployment> {
    let obj = object(problems, value, &path, "the deployment", DEPLOYMENT_KEYS)?;
    Some(RawDeployment {
        name: obj.string(problems, "name"),
        masked: obj.boolean(problems, "masked"),
        tenants: obj.list(problems, "tenants", |problems, value, path| {
            let obj = object(problems, value, &path, "a tenant", TENANT_KEYS)?;
            Some(RawTenant {
                kommunenummer: obj.string(problems, "kommunenummer"),
                name: obj.string(problems, "name"),
                path,
            })
        }),
        accreditation: obj.string(problems, "accreditation"),
        storage: obj.list(problems, "storage", |problems, value, path| {
            let obj = object(problems, value, &path, "a storage target", STORAGE_KEYS)?;
            Some(RawStorage {
                name: obj.string(problems, "name"),
                kind: obj.string(problems, "kind"),
                location: obj.string(problems, "location"),
                collections: obj.strings(problems, "collections"),
                description: obj.string(problems, "description"),
                path,
            })
        }),
        residency: obj.list(problems, "residency", |problems, value, path| {
            let obj = object(problems, value, &path, "a residency rule", RESIDENCY_KEYS)?;
            Some(RawResidencyRule {
                classification: obj.string(problems, "classification"),
                category: obj.string(problems, "category"),
                within: obj.string(problems, "within"),
                path,
            })
        }),
        path,
    })
}

fn read_purpose(problems: &mut Problems, value: &Value, path: Path) -> Option<RawPurpose> {
    let obj = object(problems, value, &path, "a purpose", PURPOSE_KEYS)?;
    Some(RawPurpose {
        id: obj.string(problems, "id"),
        description: obj.string(problems, "description"),
        lawful_basis: obj.string(problems, "lawful_basis"),
        legal_reference: obj.string(problems, "legal_reference"),
        special_category_condition: obj.string(problems, "special_category_condition"),
        criminal_data_basis: obj.string(problems, "criminal_data_basis"),
        secure_identification: obj.boolean(problems, "secure_identification"),
        recipients: obj.strings(problems, "recipients"),
        allowed_under_restriction: obj.string(problems, "allowed_under_restriction"),
        consent: obj.nested(problems, "consent", |problems, value, path| {
            let what = "the consent rules";
            let obj = object(problems, value, &path, what, CONSENT_KEYS)?;
            Some(RawConsentRules {
                recorder_role: obj.string(problems, "recorder_role"),
                path,
            })
        }),
        path,
    })
}

fn read_collection(problems: &mut Problems, value: &Value, path: Path) -> Option<RawCollection> {
    let obj = object(problems, value, &path, "a collection", COLLECTION_KEYS)?;
    Some(RawCollection {
        name: obj.string(problems, "name"),
        description: obj.string(problems, "description"),
        classification: obj.string(problems, "classification"),
        unntatt_offentlighet: obj.nested(problems, "unntatt_offentlighet", read_exemption),
        subjects: obj.nested(problems, "subjects", read_subjects),
        purposes: obj.strings(problems, "purposes"),
        retention: obj.nested(problems, "retention", read_retention),
        erasure: obj.string(problems, "erasure"),
        archive: obj.nested(problems, "archive", |problems, value, path| {
            let obj = object(problems, value, &path, "an archive duty", ARCHIVE_KEYS)?;
            Some(RawArchive {
                legal_reason: obj.string(problems, "legal_reason"),
                path,
            })
        }),
        source: obj.string(problems, "source"),
        fields: obj.list(problems, "fields", read_field),
        path,
    })
}

fn read_exemption(problems: &mut Problems, value: &Value, path: Path) -> Option<RawExemption> {
    let what = "a public-access exemption";
    let obj = object(problems, value, &path, what, EXEMPTION_KEYS)?;
    Some(RawExemption {
        hjemmel: obj.string(problems, "hjemmel"),
        path,
    })
}

fn read_subjects(problems: &mut Problems, value: &Value, path: Path) -> Option<RawSubjects> {
    match value {
        Value::String(word) => Some(RawSubjects::Keyword(word.clone())),
        Value::Sequence(items) => {
            let refs: Vec<RawSubjectRef> = items
                .iter()
                .enumerate()
                .filter_map(|(i, value)| {
                    let path = path.index(i);
                    let obj: Obj<'_> =
                        object(problems, value, &path, "a subject reference", SUBJECT_KEYS)?;
                    Some(RawSubjectRef {
                        name: obj.string(problems, "name"),
                        role: obj.string(problems, "role"),
                        field: obj.string(problems, "field"),
                        collection: obj.string(problems, "collection"),
                        primary: obj.boolean(problems, "primary"),
                        path,
                    })
                })
                .collect();
            // With a reference missing, fields could be attributed to the wrong person.
            (refs.len() == items.len()).then_some(RawSubjects::References(refs))
        }
        other => {
            problems.push(
                &path,
                ErrorCode::WrongType,
                format!(
                    "expected `self`, `none` or a list of subject references, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

fn read_retention(problems: &mut Problems, value: &Value, path: Path) -> Option<RawRetention> {
    let obj = object(problems, value, &path, "a retention", RETENTION_KEYS)?;
    Some(RawRetention {
        period: obj.string(problems, "period"),
        from: obj.nested(problems, "from", |problems, value, path| match value {
            Value::String(word) => Some(RawRetentionFrom::Event(word.clone())),
            Value::Mapping(_) => {
                let what = "a retention start";
                let obj = object(problems, value, &path, what, RETENTION_FROM_KEYS)?;
                Some(RawRetentionFrom::Field(obj.string(problems, "field")))
            }
            other => {
                problems.push(
                    &path,
                    ErrorCode::WrongType,
                    format!(
                        "expected created, updated, last_activity or {{ field: NAME }}, found {}",
                        describe(other)
                    ),
                );
                None
            }
        }),
        then: obj.string(problems, "then"),
        path,
    })
}

fn read_field(problems: &mut Problems, value: &Value, path: Path) -> Option<RawField> {
    let obj = object(problems, value, &path, "a field", FIELD_KEYS)?;
    Some(RawField {
        name: obj.string(problems, "name"),
        description: obj.string(problems, "description"),
        field_type: obj.string(problems, "type"),
        required: obj.boolean(problems, "required"),
        category: obj.string(problems, "category"),
        identifier: obj.string(problems, "identifier"),
        classification: obj.string(problems, "classification"),
        encrypted: obj.boolean(problems, "encrypted"),
        searchable: obj.boolean(problems, "searchable"),
        blind_index_length: obj.string(problems, "blind_index_length"),
        padding: obj.string(problems, "padding"),
        unique: obj.boolean(problems, "unique"),
        purposes: obj.strings(problems, "purposes"),
        subject: obj.string(problems, "subject"),
        unntatt_offentlighet: obj.nested(problems, "unntatt_offentlighet", read_exemption),
        source: obj.string(problems, "source"),
        renamed_from: obj.string(problems, "renamed_from"),
        path,
    })
}
