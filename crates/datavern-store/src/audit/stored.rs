//! The `dv_audit` row as stored: column names, the insert statement, the row type every
//! backend decodes, and the canonical bytes recomputed from the columns.

use datavern_sql::{At, Backend, Json, Text};
use sea_query::{Alias, InsertStatement, Query, SimpleExpr};
use uuid::Uuid;

use super::entry::{AuditEntry, CanonicalFields, FORMAT_V1, encode_v1};
use super::error::AuditLogError;

/// The audit table.
pub(crate) const AUDIT: &str = "dv_audit";
/// The chain's head (one row).
pub(crate) const HEAD: &str = "dv_audit_head";
/// Signed checkpoints.
pub(crate) const CHECKPOINTS: &str = "dv_audit_checkpoints";

/// The content columns of `dv_audit`, in insert order (sequence, hash and sealing time stay
/// NULL until sealed).
pub(crate) const CONTENT_COLUMNS: [&str; 14] = [
    "format",
    "occurred_at",
    "tenant",
    "principal",
    "purpose",
    "action",
    "collection",
    "record_id",
    "subject_id",
    "subjects",
    "fields",
    "outcome",
    "reason",
    "request_id",
];

/// The row id and the columns sealing fills, which [`AuditRow`] reads before the content
/// columns.
const SEAL_COLUMNS: [&str; 4] = ["id", "sequence", "entry_hash", "sealed_at"];

/// Every column of `dv_audit`, in [`AuditRow`] order: the seal columns, then the content
/// columns.
pub(crate) const ALL_COLUMNS: [&str; 18] = {
    let mut all = [""; SEAL_COLUMNS.len() + CONTENT_COLUMNS.len()];
    let mut i = 0;
    while i < SEAL_COLUMNS.len() {
        all[i] = SEAL_COLUMNS[i];
        i += 1;
    }
    while i < all.len() {
        all[i] = CONTENT_COLUMNS[i - SEAL_COLUMNS.len()];
        i += 1;
    }
    all
};

pub(crate) fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

/// `INSERT INTO dv_audit (...) VALUES (...), (...)` for `entries`, unsealed.
pub(crate) fn insert(
    backend: Backend,
    entries: &[&AuditEntry],
) -> Result<InsertStatement, AuditLogError> {
    let mut insert = Query::insert();
    insert
        .into_table(col(AUDIT))
        .columns(CONTENT_COLUMNS.iter().map(|c| col(c)));
    for entry in entries {
        entry.check()?;
        let subjects: Vec<String> = entry.subjects.iter().map(Uuid::to_string).collect();
        let values: Vec<SimpleExpr> = vec![
            i32::from(FORMAT_V1).into(),
            entry.occurred_at.value(backend).into(),
            entry.tenant.as_ref().map(|t| t.as_str().to_owned()).into(),
            entry.principal.clone().into(),
            entry.purpose.clone().into(),
            entry.action.as_str().into(),
            entry.collection.clone().into(),
            entry.record_id.into(),
            entry.subject_id.into(),
            serde_json::json!(subjects).into(),
            serde_json::json!(entry.fields).into(),
            entry.outcome.as_str().into(),
            entry.reason.clone().into(),
            entry.request_id.clone().into(),
        ];
        insert
            .values(values)
            .map_err(|err| AuditLogError::InvalidEntry(err.to_string()))?;
    }
    Ok(insert)
}

/// A `dv_audit` row, decoded the same way on every backend.
#[derive(datavern_sql::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) id: i64,
    pub(crate) sequence: Option<i64>,
    pub(crate) entry_hash: Option<Vec<u8>>,
    pub(crate) sealed_at: Option<At>,
    pub(crate) format: i16,
    pub(crate) occurred_at: At,
    pub(crate) tenant: Option<Text>,
    pub(crate) principal: Text,
    pub(crate) purpose: Option<Text>,
    pub(crate) action: Text,
    pub(crate) collection: Option<Text>,
    pub(crate) record_id: Option<Uuid>,
    pub(crate) subject_id: Option<Uuid>,
    pub(crate) subjects: Json<Vec<String>>,
    pub(crate) fields: Json<Vec<String>>,
    pub(crate) outcome: Text,
    pub(crate) reason: Option<Text>,
    pub(crate) request_id: Option<Text>,
}

impl AuditRow {
    /// The canonical bytes of the entry as stored, or why they cannot be computed (an entry
    /// format this version does not know).
    pub(crate) fn canonical_bytes(&self) -> Result<Vec<u8>, String> {
        if self.format != FORMAT_V1 {
            return Err(format!("unknown entry format {}", self.format));
        }
        let record = self.record_id.map(Uuid::into_bytes);
        let subject = self.subject_id.map(Uuid::into_bytes);
        Ok(encode_v1(&CanonicalFields {
            occurred_at_us: self.occurred_at.as_micros(),
            tenant: self.tenant.as_ref().map(|t| t.0.as_str()),
            principal: &self.principal.0,
            purpose: self.purpose.as_ref().map(|t| t.0.as_str()),
            action: &self.action.0,
            collection: self.collection.as_ref().map(|t| t.0.as_str()),
            record_id: record.as_ref().map(|b| b.as_slice()),
            subject_id: subject.as_ref().map(|b| b.as_slice()),
            subjects: self.subjects.0.iter().map(String::as_str).collect(),
            fields: self.fields.0.iter().map(String::as_str).collect(),
            outcome: &self.outcome.0,
            reason: self.reason.as_ref().map(|t| t.0.as_str()),
            request_id: self.request_id.as_ref().map(|t| t.0.as_str()),
        }))
    }
}

/// A `dv_audit_head` row: size and head hash (NULL for the empty log).
pub(crate) type HeadRow = (i64, Option<Vec<u8>>);

/// A `dv_audit_checkpoints` row: size, head hash, note, signed at.
pub(crate) type CheckpointRow = (i64, Vec<u8>, Text, At);
