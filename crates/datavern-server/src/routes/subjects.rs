//! `/v1/subjects/{id}/…`: the data subject's consents, and what restricts processing of them.
//!
//! Who may call:
//! - `POST /v1/subjects/{id}/consents` records a grant or withdrawal for the purpose the
//!   `Datavern-Purpose` header names, which must be the body's `purpose`, rest on consent and
//!   be allowed for the caller: the service that collects a consent is the one that processes
//!   for it (the self-service portal for `nyhetsbrev`), and no other can fabricate one. Where
//!   the catalog names a `consent.recorder_role` for the purpose, a grant also needs that role
//!   (`consent_recorder_required`, audited); withdrawals do not (Art. 7(3)).
//! - `GET /v1/subjects/{id}/consents`: with the role `auditor` (the data protection officer)
//!   every purpose; otherwise the purpose the `Datavern-Purpose` header names (a consent
//!   purpose the caller may use), and only its events.
//! - `GET /v1/subjects/{id}/controls` (consents, restrictions, objections): `auditor` only,
//!   as it reveals data subject requests.
//!
//! Every call is audited (`consent_read`, `controls_read`; recording is audited by the
//! store as `consent_grant` / `consent_withdraw`), refusals too. Restrictions and objections
//! arrive through data subject requests, which call `datavern_governance::controls::Controls`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datavern_core::access::{ConsentState, Principal};
use datavern_core::catalog::PurposeId;
use datavern_core::consent::{
    self, ConsentAction, ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion,
};
use datavern_governance::controls::{
    ConsentRegister, CurrentConsent, Objection, Restriction, StoredConsent,
};
use datavern_sql::At;
use datavern_store::audit::AuditAction;
use datavern_store::{RequestMeta, SubjectId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audited;
use crate::auth::Authenticated;
use crate::error::{ApiError, Code, Problem, consent_detail};
use crate::extract::{ApiJson, Auditor, Holding, PurposeHeader};
use crate::routes::AUDITOR_ROLE;
use crate::routes::records::Meta;
use crate::state::AppState;

/// How far in the future an `occurred_at` may lie (clock skew between systems): 5 minutes.
const MAX_FUTURE_MICROS: i64 = 5 * 60 * 1_000_000;

/// A grant or withdrawal to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentRequest {
    /// The purpose (one whose lawful basis is consent), e.g. `nyhetsbrev`; must be the
    /// `Datavern-Purpose` header's.
    pub purpose: String,
    /// `grant` or `withdraw`.
    pub action: String,
    /// The version of the privacy notice the person was shown (required for a grant).
    #[serde(default)]
    pub notice_version: Option<String>,
    /// How it was given: `web`, `app`, `paper`, `phone`, `in_person`, `email` or `api`.
    pub channel: String,
    /// When the person gave or withdrew it (RFC 3339); now if absent.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// Where the evidence is kept: the id of the signed form or message (1 to 128 ASCII
    /// letters, digits, `.`, `-`, `_`, `:`, `/`, `#`; never personal data), e.g.
    /// `skjema:2026/4711`.
    #[serde(default)]
    pub evidence_ref: Option<String>,
}

/// One recorded consent event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ConsentEventJson {
    /// The event's id.
    pub id: Uuid,
    /// The purpose.
    pub purpose: String,
    /// `grant` or `withdraw`.
    pub action: String,
    /// The privacy notice version shown (always on a grant).
    pub notice_version: Option<String>,
    /// How it was given or withdrawn.
    pub channel: String,
    /// When the person gave or withdrew it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// Who recorded it (a principal id).
    pub recorded_by: String,
    /// Where the evidence is kept (the id of the signed form or message), if recorded.
    pub evidence_ref: Option<String>,
    /// When datavern stored it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: OffsetDateTime,
}

/// The current consent to one purpose: what the next request is checked against.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct CurrentConsentJson {
    /// The purpose.
    pub purpose: String,
    /// `granted` or `not_granted`.
    pub state: String,
    /// Since when (the deciding event's time).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    /// The deciding event.
    pub event_id: Uuid,
}

/// A subject's consents: the current state per purpose and the full history, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ConsentsJson {
    /// The data subject.
    pub subject: Uuid,
    /// The current state per purpose with at least one event.
    pub current: Vec<CurrentConsentJson>,
    /// Every grant and withdrawal, in the order recorded (never edited).
    pub history: Vec<ConsentEventJson>,
}

/// A restriction of processing (GDPR Art. 18).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct RestrictionJson {
    /// Its id.
    pub id: Uuid,
    /// The reason code, e.g. `accuracy_contested`.
    pub reason: String,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    /// The data subject request that asked for it.
    pub request_id: Option<String>,
    /// When it was lifted; absent while active.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lifted_at: Option<OffsetDateTime>,
}

/// An objection (GDPR Art. 21).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ObjectionJson {
    /// Its id.
    pub id: Uuid,
    /// The purpose objected to; absent: every purpose based on 6(1)(e) or 6(1)(f).
    pub purpose: Option<String>,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
    /// The data subject request that asked for it.
    pub request_id: Option<String>,
    /// When it was lifted; absent while active.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lifted_at: Option<OffsetDateTime>,
}

/// Everything that governs processing of one subject beyond the catalog.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct ControlsJson {
    /// The data subject.
    pub subject: Uuid,
    /// Whether processing is restricted now.
    pub restricted: bool,
    /// Consents.
    pub consents: ConsentsJson,
    /// Restrictions, active and lifted, oldest first.
    pub restrictions: Vec<RestrictionJson>,
    /// Objections, active and lifted, oldest first.
    pub objections: Vec<ObjectionJson>,
}

/// The subject's consents: the current state per purpose and every grant and withdrawal.
/// With the role `auditor` every purpose; otherwise only the consent purpose named in
/// `Datavern-Purpose`.
#[utoipa::path(
    get,
    path = "/v1/subjects/{id}/consents",
    tag = "subjects",
    security(("api_key" = [])),
    params(
        ("id" = Uuid, Path, description = "The data subject (the person's record id)"),
        ("Datavern-Purpose" = Option<String>, Header,
            description = "A consent purpose (not needed with the role `auditor`)"),
    ),
    responses(
        (status = 200, description = "The consents", body = ConsentsJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn consents(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> Result<Json<ConsentsJson>, ApiError> {
    const ACTION: AuditAction = AuditAction::ConsentRead;
    let subject = subject_id(&id)?;
    let only = if principal.has_role(AUDITOR_ROLE) {
        None
    } else {
        match consent_purpose_header(&state, &principal, purpose.as_deref()) {
            Ok(purpose) => Some(purpose),
            Err(err) => return Err(refuse(&state, &principal, &meta, ACTION, None, err).await),
        }
    };
    let controls = state.governance().controls();
    let register = match controls
        .consents(&principal, subject, only.as_ref(), &meta)
        .await
    {
        Ok(register) => register,
        Err(err) => {
            let err = ApiError::from(err);
            return Err(refuse(&state, &principal, &meta, ACTION, only.as_ref(), err).await);
        }
    };
    Ok(Json(consents_json(subject, register, only.as_ref())))
}

/// Records a grant or withdrawal of the subject's consent to the purpose (its lawful basis
/// must be consent). The `Datavern-Purpose` header must name the same purpose. The event is
/// appended to the history, never edited; the next request for the purpose sees it.
#[utoipa::path(
    post,
    path = "/v1/subjects/{id}/consents",
    tag = "subjects",
    security(("api_key" = [])),
    params(
        ("id" = Uuid, Path, description = "The data subject (the person's record id)"),
        ("Datavern-Purpose" = String, Header, description = "The consent purpose"),
    ),
    request_body(content = ConsentRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = ConsentEventJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn record_consent(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    Path(id): Path<String>,
    body: Result<ApiJson<ConsentRequest>, ApiError>,
) -> Result<(StatusCode, Json<ConsentEventJson>), ApiError> {
    // Every failure is a refused consent write and is audited, whatever refused it.
    let action = body
        .as_ref()
        .map_or(AuditAction::ConsentGrant, |ApiJson(body)| {
            action_name(&body.action)
        });
    match write_consent(&state, &principal, purpose.as_deref(), &meta, &id, body).await {
        Ok(stored) => Ok((StatusCode::CREATED, Json(event_json(&stored)))),
        Err((err, purpose)) => {
            Err(refuse(&state, &principal, &meta, action, purpose.as_ref(), err).await)
        }
    }
}

/// Records the consent event the body describes, or why not (with the purpose, once the
/// header named one the caller may use).
async fn write_consent(
    state: &AppState,
    principal: &Principal,
    purpose: Option<&str>,
    meta: &RequestMeta,
    id: &str,
    body: Result<ApiJson<ConsentRequest>, ApiError>,
) -> Result<StoredConsent, (ApiError, Option<PurposeId>)> {
    let subject = subject_id(id).map_err(|err| (err, None))?;
    let header = consent_purpose_header(state, principal, purpose).map_err(|err| (err, None))?;
    let refused = |err: ApiError| (err, Some(header.clone()));
    let ApiJson(body) = body.map_err(refused)?;
    if body.purpose.trim() != header.as_str() {
        return Err(refused(ApiError::new(
            Code::BadRequest,
            format!(
                "the body's purpose must be the Datavern-Purpose header's (`{header}`): a consent \
                 is recorded by the service that processes for its purpose"
            ),
        )));
    }
    // Who may record comes before what is recorded: anything but a withdrawal is held to
    // the grant's rule, so a caller without the role learns nothing from validation.
    let action = match body.action.trim() {
        "withdraw" => ConsentAction::Withdraw,
        _ => ConsentAction::Grant,
    };
    check_recorder(state, principal, &header, action).map_err(refused)?;
    let event = consent_event(principal, &header, &body, state.store().now()).map_err(refused)?;
    let controls = state.governance().controls();
    controls
        .record_consent(principal, subject, &event, meta)
        .await
        .map_err(|err| refused(ApiError::from(err)))
}

/// Everything that governs processing of the subject beyond the catalog: consents,
/// restrictions and objections. Needs the role `auditor`.
#[utoipa::path(
    get,
    path = "/v1/subjects/{id}/controls",
    tag = "subjects",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The data subject (the person's record id)")),
    responses(
        (status = 200, description = "The subject's controls", body = ControlsJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn controls(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Auditor>,
    Path(id): Path<String>,
) -> Result<Json<ControlsJson>, ApiError> {
    const ACTION: AuditAction = AuditAction::ControlsRead;
    let subject = subject_id(&id)?;
    let controls = state.governance().controls();
    let view = match controls.subject(&principal, subject, &meta).await {
        Ok(view) => view,
        Err(err) => {
            let err = ApiError::from(err);
            return Err(refuse(&state, &principal, &meta, ACTION, None, err).await);
        }
    };
    let restricted = view.is_restricted();
    Ok(Json(ControlsJson {
        subject: subject.as_uuid(),
        restricted,
        consents: consents_json(subject, view.consents, None),
        restrictions: view.restrictions.iter().map(restriction_json).collect(),
        objections: view.objections.iter().map(objection_json).collect(),
    }))
}

/// The consent purpose the `Datavern-Purpose` header names, if the caller may use it.
fn consent_purpose_header(
    state: &AppState,
    principal: &Principal,
    header: Option<&str>,
) -> Result<PurposeId, ApiError> {
    let Some(given) = header.map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(ApiError::new(
            Code::PurposeMissing,
            "name the consent purpose in the Datavern-Purpose header (or hold the role \
             `auditor` to read every purpose)",
        ));
    };
    let purpose = consent::consent_purpose(state.catalog(), given).map_err(|err| match err {
        consent::ConsentError::UnknownPurpose(_) => ApiError::new(
            Code::PurposeUnknown,
            "the Datavern-Purpose header names no declared purpose; GET /v1/catalog lists them",
        ),
        other => ApiError::new(Code::ConsentInvalid, consent_detail(&other)),
    })?;
    if !principal.may_use(purpose.id().as_str()) {
        return Err(ApiError::new(
            Code::PurposeNotAllowed,
            format!(
                "your credentials do not allow purpose `{}`; consents are recorded and read by \
                 the services that process for the purpose",
                purpose.id()
            ),
        ));
    }
    Ok(purpose.id().clone())
}

/// Whether `principal` may record `action` for the consent purpose `purpose`: a grant needs
/// the purpose's `consent.recorder_role` if the catalog names one
/// ([`consent::check_recorder`]); `consent_recorder_required` otherwise.
pub(crate) fn check_recorder(
    state: &AppState,
    principal: &Principal,
    purpose: &PurposeId,
    action: ConsentAction,
) -> Result<(), ApiError> {
    let Some(declared) = state.catalog().purpose(purpose.as_str()) else {
        return Ok(());
    };
    consent::check_recorder(declared, action, principal)
        .map_err(|err| ApiError::new(Code::ConsentRecorderRequired, err.to_string()))
}

/// The event the body describes, recorded by the caller.
fn consent_event(
    principal: &Principal,
    purpose: &PurposeId,
    body: &ConsentRequest,
    now: At,
) -> Result<ConsentEvent, ApiError> {
    let invalid = |detail: String| ApiError::new(Code::ConsentInvalid, detail);
    let action: ConsentAction = body
        .action
        .trim()
        .parse()
        .map_err(|err: consent::ConsentError| invalid(consent_detail(&err)))?;
    let channel: ConsentChannel = body
        .channel
        .trim()
        .parse()
        .map_err(|err: consent::ConsentError| invalid(consent_detail(&err)))?;
    let notice_version = body
        .notice_version
        .as_deref()
        .map(|v| NoticeVersion::parse(v.trim()))
        .transpose()
        .map_err(|err| invalid(consent_detail(&err)))?;
    let now = now.as_micros();
    let at = match body.occurred_at.as_deref() {
        None => consent::time_from_micros(now),
        Some(text) => consent::parse_time(text),
    }
    .map_err(|_| {
        invalid("occurred_at must be an RFC 3339 time, e.g. 2026-03-01T10:00:00Z".into())
    })?;
    if at.as_microsecond() > now + MAX_FUTURE_MICROS {
        return Err(invalid(
            "occurred_at lies in the future: give the time the person consented or withdrew".into(),
        ));
    }
    let evidence = body
        .evidence_ref
        .as_deref()
        .map(EvidenceRef::parse)
        .transpose()
        .map_err(|err| invalid(err.to_string()))?;
    let event = ConsentEvent::new(
        purpose.clone(),
        action,
        notice_version,
        channel,
        at,
        principal.id().as_str(),
    )
    .map_err(|err| invalid(consent_detail(&err)))?;
    Ok(match evidence {
        Some(evidence) => event.with_evidence(evidence),
        None => event,
    })
}

fn action_name(action: &str) -> AuditAction {
    match action.trim() {
        "withdraw" => AuditAction::ConsentWithdraw,
        _ => AuditAction::ConsentGrant,
    }
}

fn subject_id(text: &str) -> Result<SubjectId, ApiError> {
    SubjectId::parse(text).map_err(|_| {
        ApiError::new(
            Code::InvalidRecordId,
            "subject ids are the person's record id, a UUID such as \
             0190b5d2-7c1e-7000-8000-000000000001",
        )
    })
}

/// Audits a refusal of `action` and returns `err`; if the audit log cannot be written, that
/// failure is the answer.
pub(crate) async fn refuse(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    action: AuditAction,
    purpose: Option<&PurposeId>,
    err: ApiError,
) -> ApiError {
    let code = err.code();
    match audit(state, principal, meta, action, None, purpose, Some(code)).await {
        Ok(()) => err,
        Err(audit_err) => audit_err,
    }
}

/// Records `action` by `principal` (granted, or denied with `denial`) in the audit log.
async fn audit(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    action: AuditAction,
    subject: Option<SubjectId>,
    purpose: Option<&PurposeId>,
    denial: Option<Code>,
) -> Result<(), ApiError> {
    audited::record(state, principal, meta, action, denial, |mut entry| {
        entry.purpose = purpose.map(|p| p.as_str().to_owned());
        match subject {
            Some(subject) => entry.with_subject(subject.as_uuid()),
            None => entry,
        }
    })
    .await
}

fn consents_json(
    subject: SubjectId,
    register: ConsentRegister,
    only: Option<&PurposeId>,
) -> ConsentsJson {
    let keep = |purpose: &PurposeId| only.is_none_or(|o| o == purpose);
    ConsentsJson {
        subject: subject.as_uuid(),
        current: register
            .current
            .iter()
            .filter(|c| keep(&c.purpose))
            .map(current_json)
            .collect(),
        history: register
            .history
            .iter()
            .filter(|s| keep(s.event.purpose()))
            .map(event_json)
            .collect(),
    }
}

fn current_json(current: &CurrentConsent) -> CurrentConsentJson {
    CurrentConsentJson {
        purpose: current.purpose.to_string(),
        state: match current.state {
            ConsentState::Granted => "granted",
            _ => "not_granted",
        }
        .to_owned(),
        since: current.since,
        event_id: current.event_id,
    }
}

fn event_json(stored: &StoredConsent) -> ConsentEventJson {
    let event = &stored.event;
    ConsentEventJson {
        id: stored.id,
        purpose: event.purpose().to_string(),
        action: event.action().as_str().to_owned(),
        notice_version: event.notice_version().map(|v| v.as_str().to_owned()),
        channel: event.channel().as_str().to_owned(),
        occurred_at: At::from(event.at()).into(),
        recorded_by: event.recorded_by().to_owned(),
        evidence_ref: event.evidence().map(|e| e.as_str().to_owned()),
        recorded_at: stored.recorded_at,
    }
}

fn restriction_json(r: &Restriction) -> RestrictionJson {
    RestrictionJson {
        id: r.id,
        reason: r.reason.as_str().to_owned(),
        since: r.since,
        request_id: r.request_id.clone(),
        lifted_at: r.lifted_at,
    }
}

fn objection_json(o: &Objection) -> ObjectionJson {
    ObjectionJson {
        id: o.id,
        purpose: o.purpose.as_ref().map(|p| p.to_string()),
        since: o.since,
        request_id: o.request_id.clone(),
        lifted_at: o.lifted_at,
    }
}
