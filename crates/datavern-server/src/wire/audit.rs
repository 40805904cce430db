//! `GET /v1/audit`: audit log entries on the wire.

use datavern_store::audit::AuditRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// One audit entry: who did what to which record, for which purpose, with what outcome.
/// Holds ids and field names, never values.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryJson {
    /// The position in the hash chain, once sealed (entries are sealed within moments).
    pub sequence: Option<u64>,
    /// The chain hash after this entry (hex), once sealed.
    pub entry_hash: Option<String>,
    /// When it was sealed.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sealed_at: Option<OffsetDateTime>,
    /// When it happened (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// Who: the principal's id.
    pub principal: String,
    /// The purpose given, if any.
    pub purpose: Option<String>,
    /// What: `create`, `read`, `update`, `delete`, `list`, `lookup`, `audit_read`, …
    pub action: String,
    /// The collection, if any.
    pub collection: Option<String>,
    /// The record, if one.
    pub record_id: Option<Uuid>,
    /// The primary data subject, if known.
    pub subject_id: Option<Uuid>,
    /// Other data subjects the entry concerns.
    pub subjects: Vec<Uuid>,
    /// The fields touched.
    pub fields: Vec<String>,
    /// `granted` or `denied`.
    pub outcome: String,
    /// For a denial, its code.
    pub reason: Option<String>,
    /// The request id, to find the request in the logs.
    pub request_id: Option<String>,
}

/// A page of audit entries, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditEntryJson>,
    /// Pass it as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<AuditRecord> for AuditEntryJson {
    fn from(record: AuditRecord) -> Self {
        let entry = record.entry;
        AuditEntryJson {
            sequence: record.sequence,
            entry_hash: record.entry_hash.map(|h| h.to_string()),
            sealed_at: record.sealed_at,
            occurred_at: entry.occurred_at.into(),
            principal: entry.principal,
            purpose: entry.purpose,
            action: entry.action.as_str().to_owned(),
            collection: entry.collection,
            record_id: entry.record_id,
            subject_id: entry.subject_id,
            subjects: entry.subjects,
            fields: entry.fields,
            outcome: entry.outcome.as_str().to_owned(),
            reason: entry.reason,
            request_id: entry.request_id,
        }
    }
}
