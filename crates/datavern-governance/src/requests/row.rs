//! The `dv_requests` and `dv_request_events` rows: columns, decoding, conversions.

use datavern_core::catalog::Kommunenummer;
use datavern_core::dsr::{Deadline, IdentifiedBy, Parameters, Reason, RequestState, RequestType};
use datavern_sql::{At, Json, Text};
use jiff::civil::Date;
use sea_query::Alias;
use serde_json::Value;
use uuid::Uuid;

use super::error::RequestError;
use super::{DsrRequest, RequestEvent};
use datavern_store::SubjectId;

/// The requests table.
pub(super) const REQUESTS: &str = "dv_requests";
/// The history table.
pub(super) const EVENTS: &str = "dv_request_events";

/// The columns of `dv_requests`, in [`RequestRow`] order.
pub(super) const REQUEST_COLUMNS: [&str; 23] = [
    "id",
    "tenant",
    "request_type",
    "identified_by",
    "subjects",
    "parameters",
    "state",
    "received_at",
    "received_by",
    "due_on",
    "extension_months",
    "extended_due_on",
    "effective_due_on",
    "extension_reason",
    "verified_at",
    "verified_by",
    "verification",
    "verification_evidence",
    "started_at",
    "completed_at",
    "outcome",
    "rejection_reason",
    "updated_at",
];

/// The columns of `dv_request_events` a reader needs, in [`EventRow`] order.
pub(super) const EVENT_COLUMNS: [&str; 8] = [
    "occurred_at",
    "actor",
    "event",
    "from_state",
    "to_state",
    "note",
    "method",
    "evidence",
];

pub(super) fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// A `dv_requests` row, decoded the same way on every backend.
#[derive(datavern_sql::FromRow)]
pub(super) struct RequestRow {
    id: Uuid,
    tenant: Text,
    request_type: Text,
    identified_by: Text,
    subjects: Json<Vec<String>>,
    parameters: Json<Value>,
    state: Text,
    received_at: At,
    received_by: Text,
    due_on: Text,
    extension_months: i16,
    extended_due_on: Option<Text>,
    effective_due_on: Text,
    extension_reason: Option<Text>,
    verified_at: Option<At>,
    verified_by: Option<Text>,
    verification: Option<Text>,
    verification_evidence: Option<Text>,
    started_at: Option<At>,
    completed_at: Option<At>,
    outcome: Option<Json<Value>>,
    rejection_reason: Option<Text>,
    updated_at: At,
}

/// A `dv_request_events` row.
#[derive(datavern_sql::FromRow)]
pub(super) struct EventRow {
    occurred_at: At,
    actor: Text,
    event: Text,
    from_state: Option<Text>,
    to_state: Text,
    note: Option<Text>,
    method: Option<Text>,
    evidence: Option<Text>,
}

impl RequestRow {
    /// The request this row stores (without its history).
    pub(super) fn into_request(self) -> Result<DsrRequest, RequestError> {
        let id = self.id;
        let corrupt = |column: &str| RequestError::Corrupt {
            id,
            problem: format!("column {column} holds an unknown value"),
        };
        let request_type: RequestType = self
            .request_type
            .0
            .parse()
            .map_err(|_| corrupt("request_type"))?;
        let subjects = self
            .subjects
            .0
            .iter()
            .map(|s| SubjectId::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| corrupt("subjects"))?;
        let time = |at: At, column: &str| at.to_timestamp().map_err(|_| corrupt(column));
        let optional_time =
            |at: Option<At>, column: &str| at.map(|at| time(at, column)).transpose();
        let received_at = time(self.received_at, "received_at")?;
        let received_on = datavern_core::dsr::today_in_oslo(received_at);
        let deadline = Deadline::new(
            received_on,
            u8::try_from(self.extension_months).map_err(|_| corrupt("extension_months"))?,
        );
        // The stored dates are what the deadline computes; a mismatch is a changed rule or a
        // changed row, and is reported rather than silently recomputed.
        if date(&self.due_on.0) != Some(deadline.due_on())
            || self.effective_due_on.0 != deadline.effective_due_on().to_string()
            || self.extended_due_on.as_ref().map(|t| t.0.clone())
                != deadline.extended_due_on().map(|d| d.to_string())
        {
            return Err(corrupt("due_on"));
        }
        Ok(DsrRequest {
            id,
            tenant: Kommunenummer::parse(&self.tenant.0).map_err(|_| corrupt("tenant"))?,
            request_type,
            identified_by: IdentifiedBy::parse(&self.identified_by.0)
                .ok_or_else(|| corrupt("identified_by"))?,
            subjects,
            parameters: Parameters::from_json(request_type, &self.parameters.0)
                .map_err(|_| corrupt("parameters"))?,
            state: self.state.0.parse().map_err(|_| corrupt("state"))?,
            received_at,
            received_by: self.received_by.0,
            deadline,
            extension_reason: reason(self.extension_reason)
                .map_err(|_| corrupt("extension_reason"))?,
            verified_at: optional_time(self.verified_at, "verified_at")?,
            verified_by: self.verified_by.map(|t| t.0),
            verification: self.verification.map(|t| t.0),
            verification_evidence: self.verification_evidence.map(|t| t.0),
            started_at: optional_time(self.started_at, "started_at")?,
            completed_at: optional_time(self.completed_at, "completed_at")?,
            outcome: self.outcome.map(|j| j.0),
            rejection_reason: reason(self.rejection_reason)
                .map_err(|_| corrupt("rejection_reason"))?,
            updated_at: time(self.updated_at, "updated_at")?,
            history: Vec::new(),
        })
    }
}

impl EventRow {
    pub(super) fn into_event(self, id: Uuid) -> Result<RequestEvent, RequestError> {
        let corrupt = |column: &str| RequestError::Corrupt {
            id,
            problem: format!("event column {column} holds an unknown value"),
        };
        let state = |text: &Text| text.0.parse::<RequestState>();
        Ok(RequestEvent {
            at: self
                .occurred_at
                .to_timestamp()
                .map_err(|_| corrupt("occurred_at"))?,
            actor: self.actor.0,
            event: self.event.0,
            from: self
                .from_state
                .as_ref()
                .map(state)
                .transpose()
                .map_err(|_| corrupt("from_state"))?,
            to: state(&self.to_state).map_err(|_| corrupt("to_state"))?,
            note: reason(self.note).map_err(|_| corrupt("note"))?,
            method: self.method.map(|t| t.0),
            evidence: self.evidence.map(|t| t.0),
        })
    }
}

fn reason(text: Option<Text>) -> Result<Option<Reason>, ()> {
    text.map(|t| Reason::parse(&t.0).map_err(|_| ()))
        .transpose()
}

fn date(text: &str) -> Option<Date> {
    text.parse().ok()
}
