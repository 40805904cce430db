//! The record of processing activities (protokoll over behandlingsaktiviteter, GDPR Art. 30(1))
//! derived from the catalog.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{Catalog, Collection, DataSubjects, StorageKind, Tenant};
use crate::classification::Classification;
use crate::residency::Location;

/// The Art. 30(1) record: one document per deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ropa {
    /// (a) The controller: the deployment and its tenants (each municipality is controller
    /// for its own data).
    pub controller: Controller,
    /// (b) The purposes, each with its lawful basis and the collections serving it.
    pub purposes: Vec<PurposeEntry>,
    /// (c) The categories of data subjects, per collection.
    pub data_subjects: Vec<DataSubjectEntry>,
    /// (c) The categories of personal data, per collection.
    pub personal_data: Vec<PersonalDataEntry>,
    /// (d) Every recipient named by a purpose, sorted.
    pub recipients: Vec<String>,
    /// (e) Where data is stored, and transfers to third countries.
    pub storage: Vec<StorageEntry>,
    /// (e) Storage targets in third countries (Art. 44–49 transfers); empty when none.
    pub third_country_transfers: Vec<StorageEntry>,
    /// (f) The time limits for erasure, per collection.
    pub retention: Vec<RetentionEntry>,
    /// (g) The technical and organisational security measures, per collection.
    pub security: Vec<SecurityEntry>,
}

/// The controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Controller {
    /// The deployment's name, if the catalog gives one.
    pub name: Option<String>,
    /// The tenants (municipalities).
    pub tenants: Vec<Tenant>,
}

/// A purpose of processing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeEntry {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// The Art. 6(1) basis, e.g. `6(1)(e)`.
    pub lawful_basis: String,
    /// The basis in words.
    pub lawful_basis_name: String,
    /// The legal reference (supplementary basis in law), if any.
    pub legal_reference: Option<String>,
    /// The Art. 9(2) condition for special categories, if any.
    pub special_category_condition: Option<String>,
    /// The Art. 10 basis for criminal-offence data, if any.
    pub criminal_data_basis: Option<String>,
    /// The recipients.
    pub recipients: Vec<String>,
    /// The collections that serve it.
    pub collections: Vec<String>,
}

/// The data subjects of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSubjectEntry {
    /// The collection.
    pub collection: String,
    /// The roles of the persons its records concern (`registered person` for `subjects:
    /// self`).
    pub roles: Vec<String>,
}

/// The personal data of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonalDataEntry {
    /// The collection.
    pub collection: String,
    /// Its personal-data categories, by taxonomy id.
    pub categories: Vec<CategoryEntry>,
}

/// One taxonomy category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CategoryEntry {
    /// The taxonomy id, e.g. `user.contact.address`.
    pub id: String,
    /// The English name.
    pub name: String,
    /// Whether it is a special category (Art. 9).
    pub special: bool,
    /// Whether it is criminal-offence data (Art. 10).
    pub criminal: bool,
}

/// A storage target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageEntry {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: StorageKind,
    /// Where it is.
    pub location: Location,
    /// The collections it holds; `None` means all.
    pub collections: Option<Vec<String>>,
}

/// The retention of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionEntry {
    /// The collection.
    pub collection: String,
    /// The rule in words, e.g. `P3Y from field soknadsdato, then delete`; `None` when it
    /// holds no personal data and declares none.
    pub rule: Option<String>,
    /// How an erasure request is carried out.
    pub erasure: String,
    /// The archive duty's legal reason, if the records are preserved.
    pub archive_duty: Option<String>,
}

/// The security measures of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityEntry {
    /// The collection.
    pub collection: String,
    /// The highest classification of the records or any field.
    pub classification: Classification,
    /// The fields encrypted under the subject's data key.
    pub encrypted_fields: Vec<String>,
    /// The fields with a blind index (searchable without decrypting).
    pub blind_indexed_fields: Vec<String>,
    /// The measures in words.
    pub measures: Vec<String>,
}

/// The measures every collection has, whatever the catalog says.
const COMMON_MEASURES: [&str; 4] = [
    "access decided per request by tenant, purpose and clearance",
    "every read and write audited in a hash-chained log with signed checkpoints",
    "data keys wrapped by a key-encryption key and kept in a separate key database",
    "tenant isolation (row-level security on PostgreSQL)",
];

impl Ropa {
    /// The record of processing of `catalog`.
    pub fn from_catalog(catalog: &Catalog) -> Ropa {
        let deployment = catalog.deployment();
        let storage: Vec<StorageEntry> = deployment
            .storage()
            .iter()
            .map(|target| StorageEntry {
                name: target.name().to_string(),
                kind: target.kind(),
                location: target.location(),
                collections: target
                    .collections()
                    .map(|c| c.iter().map(ToString::to_string).collect()),
            })
            .collect();
        let recipients: BTreeSet<String> = catalog
            .purposes()
            .iter()
            .flat_map(|p| p.recipients().iter().cloned())
            .collect();
        let personal: Vec<&Collection> = catalog
            .collections()
            .iter()
            .filter(|c| c.has_data_subjects() || c.fields().iter().any(|f| f.is_personal()))
            .collect();
        Ropa {
            controller: Controller {
                name: deployment.name().map(str::to_owned),
                tenants: deployment.tenants().to_vec(),
            },
            purposes: catalog
                .purposes()
                .iter()
                .map(|p| PurposeEntry {
                    id: p.id().to_string(),
                    description: p.description().to_owned(),
                    lawful_basis: p.lawful_basis().article().to_owned(),
                    lawful_basis_name: p.lawful_basis().name().to_owned(),
                    legal_reference: p.legal_reference().map(str::to_owned),
                    special_category_condition: p
                        .special_category_condition()
                        .map(|c| format!("{} ({})", c.article(), c.name())),
                    criminal_data_basis: p.criminal_data_basis().map(str::to_owned),
                    recipients: p.recipients().to_vec(),
                    collections: catalog
                        .collections()
                        .iter()
                        .filter(|c| c.serves(p.id().as_str()))
                        .map(|c| c.name().to_string())
                        .collect(),
                })
                .collect(),
            data_subjects: personal
                .iter()
                .filter(|c| c.has_data_subjects())
                .map(|c| DataSubjectEntry {
                    collection: c.name().to_string(),
                    roles: match c.subjects() {
                        DataSubjects::Record => vec!["registered person".to_owned()],
                        DataSubjects::References(refs) => {
                            let mut roles: Vec<String> = Vec::new();
                            for role in refs.iter().map(|r| r.role().to_string()) {
                                if !roles.contains(&role) {
                                    roles.push(role);
                                }
                            }
                            roles
                        }
                        DataSubjects::None => Vec::new(),
                    },
                })
                .collect(),
            personal_data: personal
                .iter()
                .map(|c| PersonalDataEntry {
                    collection: c.name().to_string(),
                    categories: c
                        .fields()
                        .iter()
                        .filter(|f| f.is_personal())
                        .map(|f| CategoryEntry {
                            id: f.category().as_str().to_owned(),
                            name: f.category().name().to_owned(),
                            special: f.is_special_category(),
                            criminal: f.is_criminal(),
                        })
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                })
                .collect(),
            recipients: recipients.into_iter().collect(),
            third_country_transfers: storage
                .iter()
                .filter(|s| s.location == Location::Third || s.location == Location::Adequate)
                .cloned()
                .collect(),
            storage,
            retention: catalog
                .collections()
                .iter()
                .map(|c| RetentionEntry {
                    collection: c.name().to_string(),
                    rule: c
                        .retention()
                        .map(|r| format!("{} from {}, then {}", r.period(), r.from(), r.then())),
                    erasure: c.erasure().as_str().to_owned(),
                    archive_duty: c.archive().map(|a| a.legal_reason().to_owned()),
                })
                .collect(),
            security: catalog.collections().iter().map(security).collect(),
        }
    }

    /// The record as a Markdown document.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let name = self.controller.name.as_deref().unwrap_or("datavern");
        // Writing to a String cannot fail.
        let _ = writeln!(md, "# Record of processing activities: {name}\n");
        let _ = writeln!(md, "GDPR Art. 30(1), generated from the catalog.\n");
        let _ = writeln!(md, "## Controller\n");
        for tenant in &self.controller.tenants {
            let _ = writeln!(md, "- {} ({})", tenant.name(), tenant.kommunenummer());
        }
        let _ = writeln!(md, "\n## Purposes and lawful basis\n");
        let _ = writeln!(
            md,
            "| Purpose | Description | Lawful basis | Legal reference | Art. 9/10 | Recipients | Collections |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for p in &self.purposes {
            let special = [
                p.special_category_condition.clone(),
                p.criminal_data_basis
                    .as_ref()
                    .map(|b| format!("Art. 10: {b}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
            let _ = writeln!(
                md,
                "| {} | {} | {} ({}) | {} | {} | {} | {} |",
                p.id,
                cell(&p.description),
                p.lawful_basis,
                p.lawful_basis_name,
                cell(p.legal_reference.as_deref().unwrap_or("")),
                cell(&special),
                cell(&p.recipients.join(", ")),
                p.collections.join(", ")
            );
        }
        let _ = writeln!(md, "\n## Categories of data subjects\n");
        for s in &self.data_subjects {
            let _ = writeln!(md, "- **{}**: {}", s.collection, s.roles.join(", "));
        }
        let _ = writeln!(md, "\n## Categories of personal data\n");
        for p in &self.personal_data {
            let categories: Vec<String> = p
                .categories
                .iter()
                .map(|c| {
                    let mark = match (c.special, c.criminal) {
                        (true, _) => " (Art. 9)",
                        (_, true) => " (Art. 10)",
                        _ => "",
                    };
                    format!("`{}`{mark}", c.id)
                })
                .collect();
            let _ = writeln!(md, "- **{}**: {}", p.collection, categories.join(", "));
        }
        let _ = writeln!(md, "\n## Recipients\n");
        if self.recipients.is_empty() {
            let _ = writeln!(md, "None named.");
        }
        for r in &self.recipients {
            let _ = writeln!(md, "- {}", cell(r));
        }
        let _ = writeln!(md, "\n## Storage and transfers\n");
        let _ = writeln!(md, "| Storage | Kind | Location | Collections |");
        let _ = writeln!(md, "|---|---|---|---|");
        for s in &self.storage {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                s.name,
                s.kind.as_str(),
                s.location,
                s.collections
                    .as_ref()
                    .map_or_else(|| "all".to_owned(), |c| c.join(", "))
            );
        }
        let _ = writeln!(md);
        if self.third_country_transfers.is_empty() {
            let _ = writeln!(md, "No transfers to third countries.");
        } else {
            for s in &self.third_country_transfers {
                let _ = writeln!(
                    md,
                    "- Transfer to a third country: {} ({})",
                    s.name, s.location
                );
            }
        }
        let _ = writeln!(md, "\n## Retention\n");
        let _ = writeln!(md, "| Collection | Retention | Erasure | Archive duty |");
        let _ = writeln!(md, "|---|---|---|---|");
        for r in &self.retention {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.collection,
                r.rule.as_deref().unwrap_or("none (no personal data)"),
                r.erasure,
                cell(r.archive_duty.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(md, "\n## Security measures\n");
        for s in &self.security {
            let _ = writeln!(md, "### {} ({})\n", s.collection, s.classification.as_str());
            for m in &s.measures {
                let _ = writeln!(md, "- {m}");
            }
            let _ = writeln!(md);
        }
        md
    }
}

fn security(collection: &Collection) -> SecurityEntry {
    let encrypted: Vec<String> = collection
        .encrypted_fields()
        .map(|f| f.name().to_string())
        .collect();
    let indexed: Vec<String> = collection
        .searchable_fields()
        .map(|f| f.name().to_string())
        .collect();
    let mut measures = vec![format!(
        "classified {} (NSM); readers need that clearance",
        collection.max_classification().as_str()
    )];
    if !encrypted.is_empty() {
        measures.push(format!(
            "field encryption (AES-256-GCM, per-subject data key) of {}",
            encrypted.join(", ")
        ));
    }
    if !indexed.is_empty() {
        measures.push(format!(
            "blind indexes (keyed HMAC) for lookup of {}",
            indexed.join(", ")
        ));
    }
    measures.extend(COMMON_MEASURES.iter().map(|m| (*m).to_owned()));
    SecurityEntry {
        collection: collection.name().to_string(),
        classification: collection.max_classification(),
        encrypted_fields: encrypted,
        blind_indexed_fields: indexed,
        measures,
    }
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KOMMUNE: &str = include_str!("../../../../examples/kommune.yaml");

    #[test]
    fn ropa_of_the_example_catalog() {
        let catalog = Catalog::from_yaml(KOMMUNE).unwrap();
        let ropa = Ropa::from_catalog(&catalog);
        assert!(ropa.third_country_transfers.is_empty());
        assert!(ropa.recipients.iter().any(|r| r == "Bergen byarkiv"));
        insta::assert_json_snapshot!("ropa_kommune_json", ropa);
        insta::assert_snapshot!("ropa_kommune_markdown", ropa.to_markdown());
    }
}
