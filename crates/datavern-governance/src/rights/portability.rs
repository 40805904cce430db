//! The right to data portability (Art. 20): the data the subject provided, as JSON and as
//! a zip of one CSV per collection.
//!
//! What counts as provided by the subject (Art. 20(1)): records of collections processed
//! for at least one purpose based on consent (6(1)(a)) or contract (6(1)(b)), and which
//! have no external `source` (data from a register such as Folkeregisteret is not provided
//! by the subject). Within such a collection, fields with an external `source` of their own
//! are left out too. Everything else is listed as excluded, with the reason; it remains
//! available through the right of access.

use std::fmt;
use std::io::{Cursor, Write};

use datavern_core::catalog::{Catalog, Collection};
use futures_util::future::try_join_all;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tracing::instrument;
use zip::write::SimpleFileOptions;

use super::access::{AccessRecord, collect};
use super::clearance::Reach;
use super::value::to_cell;
use super::{Actor, Rights, RightsError, uuids};
use crate::error::Result;
use datavern_store::SubjectId;
use datavern_store::audit::{AuditAction, AuditOutcome};

/// The name of the JSON document, in the zip and as [`Portability::json`].
pub const PORTABILITY_JSON: &str = "datavern-portability.json";

/// A portability export: the JSON document and a zip holding it and one CSV per collection.
///
/// `Debug` shows the collections and sizes, never values.
#[derive(Clone)]
#[non_exhaustive]
pub struct Portability {
    /// The JSON document: format, tenant, subjects, time, per collection the records (id,
    /// role, fields), and the excluded collections with their reasons.
    pub json: Value,
    /// A zip archive: [`PORTABILITY_JSON`] and `<collection>.csv` for every included
    /// collection (header `id,role,<fields…>`, one row per record, RFC 4180).
    pub zip: Vec<u8>,
    /// The collections exported.
    pub included: Vec<String>,
    /// The collections left out, with why.
    pub excluded: Vec<ExcludedCollection>,
}

/// A collection left out of a portability export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExcludedCollection {
    /// The collection.
    pub collection: String,
    /// Why its data does not count as provided by the subject.
    pub reason: String,
}

impl fmt::Debug for Portability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portability")
            .field("included", &self.included)
            .field("excluded", &self.excluded)
            .field("zip_bytes", &self.zip.len())
            .finish_non_exhaustive()
    }
}

/// Why `collection`'s data is not provided by the subject, or `None` if it is.
pub(super) fn exclusion(catalog: &Catalog, collection: &Collection) -> Option<String> {
    if let Some(source) = collection.source() {
        return Some(format!(
            "obtained from {source}, not provided by the data subject (Art. 20(1))"
        ));
    }
    let provided = collection
        .purposes()
        .iter()
        .filter_map(|id| catalog.purpose(id.as_str()))
        .any(|p| {
            matches!(
                p.lawful_basis(),
                datavern_core::catalog::LawfulBasis::Consent
                    | datavern_core::catalog::LawfulBasis::Contract
            )
        });
    if provided {
        return None;
    }
    Some(
        "processed for purposes based on neither consent nor contract (Art. 20(1)(a)); \
         available through the right of access"
            .to_owned(),
    )
}

impl Rights {
    /// The data `subjects` provided, machine-readable: see the module docs for what counts
    /// as provided. Reads like [`access`](Self::access) (one query per collection), and
    /// audits every record exported (`dsr.portability`). A field it would export above the
    /// actor's clearance refuses it, like access.
    #[instrument(skip_all, fields(tenant = %actor.tenant, subjects = subjects.len()))]
    pub async fn portability(&self, actor: &Actor, subjects: &[SubjectId]) -> Result<Portability> {
        let ids = uuids(subjects);
        if ids.is_empty() {
            return Err(RightsError::NoSubjects.into());
        }
        let catalog = self.records.catalog().clone();
        let now = self.records.store().now();
        let mut excluded = Vec::new();
        for collection in catalog.collections() {
            if !collection.has_data_subjects() {
                continue;
            }
            if let Some(reason) = exclusion(&catalog, collection) {
                excluded.push(ExcludedCollection {
                    collection: collection.name().to_string(),
                    reason,
                });
            }
        }
        let collected = collect(&self.records, actor, &ids, Reach::Portability).await?;

        let mut included = Vec::new();
        let mut documents = Map::new();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut entries = Vec::new();
        for (table, items) in collected {
            let Some(collection) = catalog.collection(table.name()) else {
                continue;
            };
            if excluded.iter().any(|e| e.collection == table.name()) {
                continue;
            }
            // Fields of the collection the subject provided: not from an external source.
            let columns: Vec<&str> = collection
                .fields()
                .iter()
                .filter(|f| f.source().is_none())
                .map(|f| f.name().as_str())
                .filter(|name| items.iter().any(|item| item.get(name).is_some()))
                .collect();
            let mut rows = Vec::with_capacity(items.len());
            let mut csv = csv::Writer::from_writer(Vec::new());
            let mut header = vec!["id", "role"];
            header.extend(columns.iter().copied());
            csv.write_record(&header).map_err(export_error)?;
            for item in &items {
                let role = role_name(item);
                let mut fields = Map::new();
                let mut record = vec![item.id.to_string(), role.clone()];
                for column in &columns {
                    let value = item.get(column).cloned().unwrap_or(Value::Null);
                    record.push(to_cell(&value));
                    fields.insert((*column).to_owned(), value);
                }
                csv.write_record(&record).map_err(export_error)?;
                rows.push(json!({ "id": item.id, "role": role, "fields": fields }));
                let mut entry = actor
                    .entry(now, AuditAction::DsrPortability, AuditOutcome::Granted)
                    .with_record(item.id)
                    .with_subject(item.subject.as_uuid())
                    .with_fields(columns.iter().map(|c| (*c).to_owned()));
                entry.collection = Some(table.name().to_owned());
                entries.push(entry);
            }
            let bytes = csv.into_inner().map_err(|e| export_error(e.error()))?;
            files.push((format!("{}.csv", table.name()), bytes));
            documents.insert(table.name().to_owned(), Value::Array(rows));
            included.push(table.name().to_owned());
        }

        let json = json!({
            "format": "datavern-portability",
            "version": 1,
            "tenant": actor.tenant.to_string(),
            "subjects": ids,
            "generated_at": OffsetDateTime::from(now)
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| RightsError::Export(e.to_string()))?,
            "collections": documents,
            "excluded": excluded,
        });
        let zip = write_zip(&json, &files)?;
        let log = self.records.store().audit();
        try_join_all(entries.into_iter().map(|entry| log.record(entry))).await?;
        Ok(Portability {
            json,
            zip,
            included,
            excluded,
        })
    }
}

/// The role's name in exports: `self`, or the reference's name.
fn role_name(item: &AccessRecord) -> String {
    match &item.role {
        super::SubjectRole::Itself => "self".to_owned(),
        super::SubjectRole::Primary { reference } | super::SubjectRole::Secondary { reference } => {
            reference.clone()
        }
    }
}

fn export_error(err: impl fmt::Display) -> RightsError {
    RightsError::Export(err.to_string())
}

/// The zip: the JSON document, then each CSV.
fn write_zip(json: &Value, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let document = serde_json::to_vec_pretty(json).map_err(export_error)?;
    zip.start_file(PORTABILITY_JSON, options)
        .map_err(export_error)?;
    zip.write_all(&document).map_err(export_error)?;
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options)
            .map_err(export_error)?;
        zip.write_all(bytes).map_err(export_error)?;
    }
    let cursor = zip.finish().map_err(export_error)?;
    Ok(cursor.into_inner())
}
