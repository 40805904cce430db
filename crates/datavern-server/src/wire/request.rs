//! `/v1/requests`: data subject requests on the wire.

use datavern_governance::requests::{DsrRequest, RequestEvent};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v1/requests`: a data subject request received. Name the subject by exactly one of
/// `fodselsnummer` and `subject_id`.
// `Debug` is written by hand below: it never shows the fødselsnummer.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "access", "fodselsnummer": "15108695088"}))]
pub struct NewRequestJson {
    /// `access`, `portability`, `rectification`, `erasure`, `restriction` or `objection`.
    #[serde(rename = "type")]
    pub request_type: String,
    /// The subject's fødselsnummer (or D-, H-, FH- or synthetic number). Resolved to subject
    /// ids when the request is received; the number itself is not stored.
    #[serde(default)]
    pub fodselsnummer: Option<String>,
    /// The subject's id, instead of a fødselsnummer.
    #[serde(default)]
    pub subject_id: Option<String>,
    /// The scope: `{"fields": [...], "purposes": [...]}` (names only; purposes for an
    /// objection or a restriction). A rectification's corrected values are not sent here.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
}

impl std::fmt::Debug for NewRequestJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRequestJson")
            .field("request_type", &self.request_type)
            .field(
                "fodselsnummer",
                &self.fodselsnummer.as_ref().map(|_| "<redacted>"),
            )
            .field("subject_id", &self.subject_id)
            .field("parameters", &self.parameters)
            .finish()
    }
}

/// `POST /v1/requests/{id}/verify`: how the requester's identity was verified. The
/// verifier is the caller; for erasure and rectification (the four-eyes rule) another
/// principal runs the request.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "id_porten", "evidence": "idporten:0b9e4f1c"}))]
pub struct VerifyJson {
    /// `id_porten`, `in_person`, `bankid`, `letter` or `other` (required).
    #[serde(default)]
    pub method: Option<String>,
    /// Where the evidence is kept: a case or document number, an ID-porten transaction id
    /// (at most 128 letters, digits, space and `-_./:#`). Never personal data: a value
    /// holding a national identity number is refused.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// `POST /v1/requests/{id}/extend`: extend the deadline (Art. 12(3)).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendJson {
    /// 1 or 2 (at most two further months in total).
    pub months: i64,
    /// Why: the subject must be told the reasons.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/requests/{id}/reject`: refuse the request (Art. 12(4)).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectJson {
    /// Why: the subject must be told the reasons.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A data subject request: its state, deadline and (from `GET /v1/requests/{id}`) history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestJson {
    /// The request's id.
    pub id: Uuid,
    /// The right exercised.
    #[serde(rename = "type")]
    pub request_type: String,
    /// The GDPR article, e.g. `Art. 15`.
    pub article: String,
    /// The kind of identifier given: `fodselsnummer`, `d_nummer`, `h_nummer`, `synthetic`,
    /// `fh_nummer` or `subject_id`.
    pub identified_by: String,
    /// The data subjects it concerns.
    pub subjects: Vec<Uuid>,
    /// The scope (field and purpose names).
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// `received`, `verified`, `in_progress`, `completed`, `partially_completed` or
    /// `rejected`.
    pub state: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// Who recorded it.
    pub received_by: String,
    /// The original due date (Norway): one calendar month after receipt.
    #[schema(value_type = String, format = Date)]
    pub due_on: String,
    /// The extended due date, if extended.
    #[schema(value_type = Option<String>, format = Date)]
    pub extended_due_on: Option<String>,
    /// The due date that counts.
    #[schema(value_type = String, format = Date)]
    pub effective_due_on: String,
    /// Months of extension (0 to 2).
    pub extension_months: u8,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// Days to the effective due date today (negative once overdue); absent once ended.
    pub days_left: Option<i64>,
    /// Whether it is open and past its effective due date today.
    pub overdue: bool,
    /// When the requester's identity was verified.
    pub verified_at: Option<String>,
    /// Who verified it.
    pub verified_by: Option<String>,
    /// How it was verified: `id_porten`, `in_person`, `bankid`, `letter` or `other`.
    pub verification: Option<String>,
    /// Where the evidence of the verification is kept.
    #[serde(default)]
    pub verification_evidence: Option<String>,
    /// When it was started.
    pub started_at: Option<String>,
    /// When it ended.
    pub completed_at: Option<String>,
    /// The executor's summary (ids, counts, field names).
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<Value>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Every step, oldest first (only from `GET /v1/requests/{id}` and the steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RequestEventJson>,
}

/// One step in a request's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestEventJson {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// `received`, `verified`, `extended`, `started`, `completed`, `partially_completed`,
    /// `rejected`, `refused` (a run refused: four eyes, clearance; the state is unchanged),
    /// `four_eyes_overridden` (CLI only).
    pub event: String,
    /// The state before.
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// The reason given (extension, rejection, refusal, override).
    pub note: Option<String>,
    /// For `verified`: the verification method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// For `verified`: where the evidence is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// A page of requests, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestPage {
    /// The requests (without history).
    pub items: Vec<RequestJson>,
    /// Pass it as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl RequestJson {
    /// The request as seen on `today` (a date in Norway), for `days_left` and `overdue`.
    pub fn new(request: DsrRequest, today: Date) -> Self {
        let deadline = request.deadline;
        RequestJson {
            id: request.id,
            request_type: request.request_type.as_str().to_owned(),
            article: request.request_type.article().to_owned(),
            identified_by: request.identified_by.as_str().to_owned(),
            subjects: request.subjects.iter().map(|s| s.as_uuid()).collect(),
            parameters: serde_json::to_value(&request.parameters).unwrap_or_default(),
            state: request.state.as_str().to_owned(),
            received_at: request.received_at.to_string(),
            received_by: request.received_by.clone(),
            due_on: deadline.due_on().to_string(),
            extended_due_on: deadline.extended_due_on().map(|d| d.to_string()),
            effective_due_on: deadline.effective_due_on().to_string(),
            extension_months: deadline.extension_months(),
            extension_reason: request
                .extension_reason
                .as_ref()
                .map(|r| r.as_str().to_owned()),
            days_left: request.days_left(today),
            overdue: request.is_overdue(today),
            verified_at: request.verified_at.map(|t| t.to_string()),
            verified_by: request.verified_by.clone(),
            verification: request.verification.clone(),
            verification_evidence: request.verification_evidence.clone(),
            started_at: request.started_at.map(|t| t.to_string()),
            completed_at: request.completed_at.map(|t| t.to_string()),
            outcome: request.outcome.clone(),
            rejection_reason: request
                .rejection_reason
                .as_ref()
                .map(|r| r.as_str().to_owned()),
            history: request
                .history
                .into_iter()
                .map(RequestEventJson::from)
                .collect(),
        }
    }
}

impl From<RequestEvent> for RequestEventJson {
    fn from(event: RequestEvent) -> Self {
        RequestEventJson {
            at: event.at.to_string(),
            actor: event.actor,
            event: event.event,
            from: event.from.map(|s| s.as_str().to_owned()),
            to: event.to.as_str().to_owned(),
            note: event.note.map(|n| n.as_str().to_owned()),
            method: event.method,
            evidence: event.evidence,
        }
    }
}

/// `POST /v1/requests/{id}/run`: what a run needs besides the stored request. Only a
/// rectification takes a body: its corrected values, which are personal data and so are
/// given here, applied, and not stored with the request.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunJson {
    /// For a rectification: each record to correct, with the corrected fields.
    #[serde(default)]
    pub corrections: Vec<CorrectionJson>,
}

/// One record's corrections.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionJson {
    /// The collection.
    pub collection: String,
    /// The record's id.
    pub record: Uuid,
    /// The corrected fields and their new values.
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for RunJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field names only: the values are personal data.
        f.debug_struct("RunJson")
            .field("corrections", &self.corrections.len())
            .finish()
    }
}

/// The answer to a run: the request as it now is and what the data subject is to receive
/// (the access report, or the portability export), given once and not stored.
#[derive(Clone, Serialize, ToSchema)]
pub struct RunResultJson {
    /// The request, `completed` or `partially_completed`; `outcome` says what was done.
    pub request: RequestJson,
    /// For an access request: every record with its Art. 15 context.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub access: Option<Value>,
    /// For a portability request: the export as JSON, and as a zip of one CSV per
    /// collection (base64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portability: Option<PortabilityJson>,
}

/// The portability export.
#[derive(Clone, Serialize, ToSchema)]
pub struct PortabilityJson {
    /// The data as JSON.
    #[schema(value_type = Object)]
    pub json: Value,
    /// The same as a zip archive (JSON plus one CSV per collection), base64.
    pub zip_base64: String,
    /// The collections included.
    pub included: Vec<String>,
}
