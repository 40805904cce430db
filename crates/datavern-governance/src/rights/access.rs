//! The right of access (Art. 15): every record of the subject, decrypted, with the
//! processing context the catalog gives for it.

use std::fmt;

use datavern_core::catalog::{Attribution, Catalog, Collection};
use datavern_sql::{At, Tx, TxMode};
use futures_util::future::try_join_all;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use super::clearance::{Reach, Shortfall, cap};
use super::value::to_json;
use super::{Actor, Rights, RightsError, subject_filter, uuids};
use crate::error::Result;
use datavern_store::SubjectId;
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome};
use datavern_store::records::Records;
use datavern_store::records::raw::RawRow;
use datavern_store::table::{KeyOwner, Table};

/// What the data subject receives for an access request: per collection, the Art. 15(1)
/// context and every record of theirs with its fields.
///
/// `Debug` shows collections and record counts, never values.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct AccessReport {
    /// The tenant.
    pub tenant: String,
    /// The subject ids the report covers.
    pub subjects: Vec<SubjectId>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Every collection holding records of the subjects, in catalog order.
    pub collections: Vec<CollectionAccess>,
}

/// One collection's part of an access report.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct CollectionAccess {
    /// The collection's name.
    pub collection: String,
    /// What it holds, as the catalog describes it.
    pub description: String,
    /// Why and how it is processed (Art. 15(1)(a)–(h)).
    pub context: ProcessingContext,
    /// The subjects' records in it.
    pub records: Vec<AccessRecord>,
}

/// The processing context of a collection, from the catalog.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ProcessingContext {
    /// The purposes, each with its legal basis (Art. 15(1)(a)).
    pub purposes: Vec<PurposeContext>,
    /// The recipients of the data across those purposes (Art. 15(1)(c)).
    pub recipients: Vec<String>,
    /// How long it is kept (Art. 15(1)(d)).
    pub retention: Option<RetentionContext>,
    /// Where the data came from when not from the subject (Art. 15(1)(g)); `None` when
    /// the subject or the municipality's own case handling provided it.
    pub source: Option<String>,
    /// The security classification of the collection.
    pub classification: String,
    /// The provision exempting the records from public access (offentleglova), if any.
    pub public_access_exemption: Option<String>,
    /// How an erasure request is carried out (`crypto_shred`, `delete`, `anonymize`).
    pub erasure: &'static str,
    /// The archive duty that answers an erasure request with restriction, if any.
    pub archive_duty: Option<String>,
}

/// One purpose of a collection.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PurposeContext {
    /// The purpose id.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// The lawful basis, as its article (`6(1)(e)`).
    pub lawful_basis: &'static str,
    /// The lawful basis in words.
    pub lawful_basis_name: &'static str,
    /// The national provision it rests on.
    pub legal_reference: Option<String>,
    /// The Art. 9(2) condition for special categories, as its article.
    pub special_category_condition: Option<&'static str>,
    /// The recipients of this purpose.
    pub recipients: Vec<String>,
}

/// A collection's retention rule.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RetentionContext {
    /// The period (ISO 8601, `P2Y`).
    pub period: String,
    /// Counted from (`created`, `last_activity`, `field soknadsdato`).
    pub from: String,
    /// What happens then (`delete`, `anonymize`, `archive`).
    pub then: &'static str,
}

/// How the subject appears in a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubjectRole {
    /// The record is the person (`subjects: self`).
    #[serde(rename = "self")]
    Itself,
    /// The record's primary subject, through reference `reference` (`barn`).
    Primary {
        /// The reference's name.
        reference: String,
    },
    /// A secondary party, through reference `reference` (`foresatt1`): the report holds the
    /// reference and the fields attributed to them only.
    Secondary {
        /// The reference's name.
        reference: String,
    },
}

/// One record of the subject.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct AccessRecord {
    /// The record id.
    pub id: Uuid,
    /// Which of the request's subject ids it concerns.
    pub subject: SubjectId,
    /// How.
    pub role: SubjectRole,
    /// Whether processing is restricted (Art. 18).
    pub restricted: bool,
    /// Its version.
    pub version: i64,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The fields about the subject, decrypted, in catalog order.
    pub fields: Vec<AccessField>,
}

/// One field of a record in an access report.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct AccessField {
    /// The field's name.
    pub name: String,
    /// Its value (`null` when it has none).
    pub value: Value,
    /// Its data category (`user.contact.email`).
    pub category: String,
    /// Where the value came from, when the catalog says so for the field.
    pub source: Option<String>,
}

impl fmt::Debug for AccessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let collections: Vec<(&str, usize)> = self
            .collections
            .iter()
            .map(|c| (c.collection.as_str(), c.records.len()))
            .collect();
        f.debug_struct("AccessReport")
            .field("tenant", &self.tenant)
            .field("subjects", &self.subjects)
            .field("collections", &collections)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CollectionAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectionAccess")
            .field("collection", &self.collection)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        f.debug_struct("AccessRecord")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("role", &self.role)
            .field("restricted", &self.restricted)
            .field("fields", &fields)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessField")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AccessReport {
    /// The number of records in the report, in every collection.
    pub fn record_count(&self) -> u64 {
        self.collections
            .iter()
            .map(|c| c.records.len() as u64)
            .sum()
    }

    /// The part of collection `name`, if the subject has records there.
    pub fn collection(&self, name: &str) -> Option<&CollectionAccess> {
        self.collections.iter().find(|c| c.collection == name)
    }
}

impl AccessRecord {
    /// The value of field `name`, if the record shows it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}

/// A subject's appearance in one row: the subject, the role and the reference's position.
pub(super) struct Appearance {
    pub(super) subject: Uuid,
    pub(super) role: SubjectRole,
    /// The position of the reference in [`Table::references`], `None` for `self`.
    pub(super) reference: Option<usize>,
}

/// Every way the subjects appear in `row`: as the record itself, or through each reference
/// holding one of their ids.
pub(super) fn appearances(table: &Table, row: &RawRow, subjects: &[Uuid]) -> Vec<Appearance> {
    match table.key_owner() {
        KeyOwner::Record if subjects.contains(&row.id) => vec![Appearance {
            subject: row.id,
            role: SubjectRole::Itself,
            reference: None,
        }],
        KeyOwner::Record | KeyOwner::OwnKey => Vec::new(),
        KeyOwner::PrimaryReference => table
            .references
            .iter()
            .zip(&row.references)
            .enumerate()
            .filter_map(|(position, (reference, id))| {
                let id = (*id).filter(|id| subjects.contains(id))?;
                let role = if reference.primary {
                    SubjectRole::Primary {
                        reference: reference.name.clone(),
                    }
                } else {
                    SubjectRole::Secondary {
                        reference: reference.name.clone(),
                    }
                };
                Some(Appearance {
                    subject: id,
                    role,
                    reference: Some(position),
                })
            })
            .collect(),
    }
}

/// Whether field `field` of `collection` is about the subject in `appearance`: for the
/// record itself or the primary subject every field not attributed to another reference;
/// for a secondary party their reference field and the fields attributed to them.
pub(super) fn field_concerns(
    collection: &Collection,
    table: &Table,
    appearance: &Appearance,
    field: &str,
) -> bool {
    let Some(catalog_field) = collection.field(field) else {
        return false;
    };
    match (&appearance.role, appearance.reference) {
        (SubjectRole::Itself, _) => true,
        (SubjectRole::Primary { reference }, _) => match catalog_field.attribution() {
            Attribution::Subject(name) => name.as_str() == reference,
            Attribution::Record | Attribution::Nobody => {
                // Another party's reference field is theirs, not the primary's.
                !table
                    .references
                    .iter()
                    .any(|r| !r.primary && r.field == field)
            }
        },
        (SubjectRole::Secondary { reference }, Some(position)) => {
            table.references[position].field == field
                || matches!(catalog_field.attribution(),
                    Attribution::Subject(name) if name.as_str() == reference)
        }
        (SubjectRole::Secondary { .. }, None) => false,
    }
}

/// The processing context of `collection` from the catalog.
pub(super) fn context(catalog: &Catalog, collection: &Collection) -> ProcessingContext {
    let purposes: Vec<PurposeContext> = collection
        .purposes()
        .iter()
        .filter_map(|id| catalog.purpose(id.as_str()))
        .map(|p| PurposeContext {
            id: p.id().to_string(),
            description: p.description().to_owned(),
            lawful_basis: p.lawful_basis().article(),
            lawful_basis_name: p.lawful_basis().name(),
            legal_reference: p.legal_reference().map(str::to_owned),
            special_category_condition: p.special_category_condition().map(|c| c.article()),
            recipients: p.recipients().to_vec(),
        })
        .collect();
    let mut recipients: Vec<String> = purposes
        .iter()
        .flat_map(|p| p.recipients.iter().cloned())
        .collect();
    recipients.sort();
    recipients.dedup();
    ProcessingContext {
        purposes,
        recipients,
        retention: collection.retention().map(|r| RetentionContext {
            period: r.period().to_string(),
            from: r.from().to_string(),
            then: r.then().as_str(),
        }),
        source: collection.source().map(str::to_owned),
        classification: collection.classification().as_str().to_owned(),
        public_access_exemption: collection.public_access().map(|e| e.hjemmel().to_owned()),
        erasure: collection.erasure().as_str(),
        archive_duty: collection.archive().map(|a| a.legal_reason().to_owned()),
    }
}

/// The subjects' rows of every collection, as a right reads them: per collection (catalog
/// order) with at least one row, in one read transaction, one query per collection.
pub(super) async fn rows_of<'r>(
    records: &'r Records,
    actor: &Actor,
    subjects: &[Uuid],
) -> Result<Vec<(&'r Table, Vec<RawRow>)>> {
    let tenant = actor.tenant;
    let mut tx = Tx::begin(records.store().data(), tenant, TxMode::Read).await?;
    let mut fetched = Vec::new();
    for table in records.tables() {
        let Some(filter) = subject_filter(table, subjects) else {
            continue;
        };
        let rows = records
            .raw_rows(&mut tx.conn(), tenant, table.name(), filter, false)
            .await?;
        if !rows.is_empty() {
            fetched.push((table, rows));
        }
    }
    tx.commit().await?;
    Ok(fetched)
}

/// Refuses (`clearance_insufficient`) when `reach` would take a field of `fetched` above
/// the actor's cap.
pub(super) fn check_cap(
    catalog: &Catalog,
    actor: &Actor,
    reach: Reach,
    fetched: &[(&Table, Vec<RawRow>)],
    subjects: &[Uuid],
) -> Result<()> {
    let mut shortfall = Shortfall::new(cap(catalog, actor));
    for (table, rows) in fetched {
        let Some(collection) = catalog.collection(table.name()) else {
            continue;
        };
        for row in rows {
            shortfall.row(reach, (catalog, collection, table), row, subjects);
        }
    }
    Ok(shortfall.into_result()?)
}

/// The subjects' rows of every collection with their decrypted fields, as access and
/// portability (`reach`) need them: per collection (catalog order), the rows with one entry
/// per appearance of a subject. One query per collection, in one read transaction. Refused
/// before anything is decrypted when a field it would return is above the actor's cap.
pub(super) async fn collect<'r>(
    records: &'r Records,
    actor: &Actor,
    subjects: &[Uuid],
    reach: Reach,
) -> Result<Vec<(&'r Table, Vec<AccessRecord>)>> {
    let catalog = records.catalog().clone();
    let tenant = actor.tenant;
    let fetched = rows_of(records, actor, subjects).await?;
    check_cap(&catalog, actor, reach, &fetched, subjects)?;

    let owners: Vec<Uuid> = fetched
        .iter()
        .flat_map(|(table, rows)| rows.iter().filter_map(|row| row.key_owner(table)))
        .collect();
    records.preload_keys(tenant, &owners).await?;

    let mut out = Vec::with_capacity(fetched.len());
    for (table, rows) in fetched {
        let Some(collection) = catalog.collection(table.name()) else {
            continue;
        };
        // What portability leaves out is not decrypted at all.
        if reach == Reach::Portability
            && super::portability::exclusion(&catalog, collection).is_some()
        {
            continue;
        }
        let mut items = Vec::new();
        for row in &rows {
            for appearance in appearances(table, row, subjects) {
                let wanted = |position: usize| {
                    field_concerns(collection, table, &appearance, &table.fields[position].name)
                };
                let values = records.decrypt(tenant, table.name(), row, wanted).await?;
                let fields = values
                    .iter()
                    .filter_map(|(name, value)| {
                        let field = collection.field(name)?;
                        Some(AccessField {
                            name: name.clone(),
                            value: to_json(value),
                            category: field.category().to_string(),
                            source: field.source().map(str::to_owned),
                        })
                    })
                    .collect();
                items.push(AccessRecord {
                    id: row.id,
                    subject: SubjectId::from_uuid(appearance.subject),
                    role: appearance.role,
                    restricted: row.restricted,
                    version: row.version,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    fields,
                });
            }
        }
        out.push((table, items));
    }
    Ok(out)
}

impl Rights {
    /// Every record of `subjects` (the ids [`resolve`](Self::resolve) gave) in the actor's
    /// tenant, across all collections: decrypted, each with the subject's role, its
    /// restriction flag, times and the collection's processing context from the catalog.
    ///
    /// For a secondary party (a guardian on a child's application) only their reference
    /// and the fields attributed to them are shown; for the primary subject every field but
    /// those attributed to another party. One query per collection; every record shown is
    /// audited (`dsr.access`, with the request id) before the report is returned. A field
    /// about the subject classified above the actor's clearance (or the accreditation)
    /// refuses the whole report ([`RightsError::ClearanceInsufficient`]) before anything is
    /// decrypted.
    #[instrument(skip_all, fields(tenant = %actor.tenant, subjects = subjects.len()))]
    pub async fn access(&self, actor: &Actor, subjects: &[SubjectId]) -> Result<AccessReport> {
        let ids = uuids(subjects);
        if ids.is_empty() {
            return Err(RightsError::NoSubjects.into());
        }
        let catalog = self.records.catalog().clone();
        let now = self.records.store().now();
        let collected = collect(&self.records, actor, &ids, Reach::Access).await?;
        let mut entries = Vec::new();
        let mut collections = Vec::with_capacity(collected.len());
        for (table, items) in collected {
            let Some(collection) = catalog.collection(table.name()) else {
                continue;
            };
            for item in &items {
                entries.push(access_entry(now, actor, table.name(), item));
            }
            collections.push(CollectionAccess {
                collection: table.name().to_owned(),
                description: collection.description().to_owned(),
                context: context(&catalog, collection),
                records: items,
            });
        }
        let log = self.records.store().audit();
        try_join_all(entries.into_iter().map(|entry| log.record(entry))).await?;
        Ok(AccessReport {
            tenant: actor.tenant.to_string(),
            subjects: ids.into_iter().map(SubjectId::from_uuid).collect(),
            generated_at: now.into(),
            collections,
        })
    }
}

/// The audit entry of one record shown to the subject.
fn access_entry(at: At, actor: &Actor, collection: &str, item: &AccessRecord) -> AuditEntry {
    let mut entry = actor
        .entry(at, AuditAction::DsrAccess, AuditOutcome::Granted)
        .with_record(item.id)
        .with_subject(item.subject.as_uuid())
        .with_fields(item.fields.iter().map(|f| f.name.clone()));
    entry.collection = Some(collection.to_owned());
    entry
}
