//! `/v1/requests`: data subject requests (GDPR Art. 15–22), for principals with the role
//! `dpo`.
//!
//! Create, list and show requests; verify the requester's identity, extend the deadline,
//! reject, and run. Every step is one transaction with its history row and audit entry
//! (`datavern_governance::requests`); a principal without the role is refused, and the refusal is
//! audited. Days left and the overdue flag are computed on the state's clock.
//!
//! Running a request is [`run_request`], the one function both this route and
//! `datavern request run` call: `Rights::run` carries out access, portability,
//! rectification, erasure, restriction and objection; any other type is refused with
//! `request_type_not_executable` naming the type.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use datavern_core::access::Principal;
use datavern_core::dsr::{
    EvidenceRef, Parameters, Reason, RequestEvent, RequestType, SubjectIdentifier, Verification,
    VerificationMethod,
};
use datavern_governance::requests::{
    Actor, NewRequest, RequestError, RequestFilter, Requests, ResolveError,
};
use datavern_governance::rights::{Correction, Delivery, Executed, Rights, RunError, RunInput};
use datavern_store::audit::AuditAction;
use datavern_store::records::Cursor;
use datavern_store::{RequestMeta, Store};
use uuid::Uuid;

use crate::error::{ApiError, Code, FieldError, Problem};
use crate::extract::{ApiJson, Dpo, Holding};
use crate::state::AppState;
use crate::wire::request::{
    ExtendJson, NewRequestJson, PortabilityJson, RejectJson, RequestJson, RequestPage, RunJson,
    RunResultJson, VerifyJson,
};

/// The role that handles data subject requests (the data protection officer and their
/// staff).
pub const DPO_ROLE: &str = "dpo";
/// The audit action of a refused call to these routes.
const REFUSED: AuditAction = AuditAction::Request(RequestEvent::Refused);
/// The audit action of a list of requests (its subjects are every listed request's).
const LISTED: AuditAction = AuditAction::RequestListed;
/// The audit action of one request shown.
const READ: AuditAction = AuditAction::RequestRead;

/// Runs request `id` on behalf of `principal`: the one entry point of
/// `POST /v1/requests/{id}/run` and `datavern request run`. Only a verified request (or one
/// left in progress) runs: `Rights::run` checks the state, the four-eyes rule (or its
/// override) and the runner's clearance, starts the request, carries out its right and
/// finishes it.
///
/// Its error is judged once, here, for both front ends: [`ApiError::from`] says what it
/// answers, a 4xx for a refusal (exit 1 on the command line), a 5xx for a failure such as
/// the database being unavailable (exit 2).
pub async fn run_request(
    rights: &Rights,
    requests: &Requests,
    principal: &Principal,
    id: Uuid,
    input: RunInput,
) -> Result<Executed, RunError> {
    rights.run(requests, principal, id, input).await
}

/// Records a data subject request, received now; it is due one calendar month from today.
/// Name the subject by `fodselsnummer` or `subject_id`; the number is resolved to subject
/// ids and not stored. Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/requests",
    tag = "requests",
    security(("api_key" = [])),
    request_body = NewRequestJson,
    responses(
        (status = 201, description = "Received; `Location` names it", body = RequestJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    body: Result<ApiJson<NewRequestJson>, ApiError>,
) -> Result<Response, ApiError> {
    let created = create_request(&state, &principal, &meta, body).await;
    audited(&state, &principal, &meta, None, created).await
}

async fn create_request(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    body: Result<ApiJson<NewRequestJson>, ApiError>,
) -> Result<Response, ApiError> {
    let ApiJson(body) = body?;
    let (request_type, identifier, parameters) = validate(state, &body)?;
    let tenant = principal.tenant();
    let subjects = state
        .subject_resolver()
        .resolve(tenant, &identifier)
        .await
        .map_err(|err| match err {
            ResolveError::Unsupported(_) => {
                ApiError::new(Code::SubjectNotResolvable, err.to_string())
            }
            ResolveError::Store(err) => ApiError::from(err),
            _ => ApiError::internal(err),
        })?;
    let new = NewRequest {
        tenant,
        request_type,
        identified_by: identifier.identified_by(),
        subjects,
        parameters,
    };
    let request = state
        .requests()
        .create(new, &actor(principal, meta))
        .await?;
    let location = format!("/v1/requests/{}", request.id);
    let mut response = (
        StatusCode::CREATED,
        Json(RequestJson::new(request, state.requests().today())),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The tenant's requests, oldest first, a page at a time; filter by state, type, overdue and
/// due date. Needs the role `dpo`.
#[utoipa::path(
    get,
    path = "/v1/requests",
    tag = "requests",
    security(("api_key" = [])),
    params(
        ("state" = Option<String>, Query, description = "Only requests in this state (repeatable)"),
        ("type" = Option<String>, Query, description = "Only requests of this type"),
        ("overdue" = Option<bool>, Query, description = "`true`: only open requests past their due date today"),
        ("due_before" = Option<String>, Query, description = "Only requests due before this date (YYYY-MM-DD)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Requests per page: default 50, at most 500"),
    ),
    responses(
        (status = 200, description = "A page of requests", body = RequestPage),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<RequestPage>, ApiError> {
    let listed = list_requests(&state, &principal, query).await;
    let page = audited(&state, &principal, &meta, None, listed).await?;
    // The page shows subject ids: who saw which requests is recorded.
    let subjects = page
        .items
        .iter()
        .flat_map(|r| r.subjects.iter().copied())
        .collect::<Vec<_>>();
    let mut entry = crate::audited::entry(state.store().now(), &principal, &meta, LISTED, None)
        .with_subjects(subjects);
    entry.reason = Some(format!("requests={}", page.items.len()));
    state.store().audit().record(entry).await?;
    Ok(Json(page))
}

async fn list_requests(
    state: &AppState,
    principal: &Principal,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<RequestPage, ApiError> {
    let Query(params) = query.map_err(|_| invalid_query("the query string is malformed"))?;
    let today = state.requests().today();
    let mut filter = RequestFilter::new(principal.tenant());
    for (position, (name, value)) in params.into_iter().enumerate() {
        filter = match name.as_str() {
            "state" => filter.state(
                value
                    .parse()
                    .map_err(|e| invalid_query(&format!("state: {e}")))?,
            ),
            "type" => filter.request_type(
                value
                    .parse()
                    .map_err(|e| invalid_query(&format!("type: {e}")))?,
            ),
            "overdue" => match value.as_str() {
                "true" => filter.overdue_on(today),
                "false" => filter,
                _ => return Err(invalid_query("overdue must be `true` or `false`")),
            },
            "due_before" => filter.due_before(
                value
                    .parse()
                    .map_err(|_| invalid_query("due_before must be a date, e.g. 2026-12-31"))?,
            ),
            "cursor" => filter.after(Cursor::parse(&value).map_err(|_| {
                invalid_query("cursor: pass the `next_cursor` of the previous page")
            })?),
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=datavern_governance::requests::MAX_PAGE_SIZE).contains(&n) => {
                    filter.limit(n)
                }
                _ => {
                    return Err(invalid_query(&format!(
                        "limit must be a whole number from 1 to {}",
                        datavern_governance::requests::MAX_PAGE_SIZE
                    )));
                }
            },
            _ => {
                // Named by position, never echoed: a query string is caller input.
                return Err(invalid_query(&format!(
                    "query parameter {} is not known: filter by state, type, overdue and \
                     due_before",
                    position + 1
                )));
            }
        };
    }
    let page = state.requests().list(&filter).await?;
    Ok(RequestPage {
        items: page
            .items
            .into_iter()
            .map(|r| RequestJson::new(r, today))
            .collect(),
        next_cursor: page.next.map(|c| c.to_string()),
    })
}

/// One request with its history, due dates, days left and overdue flag. Needs the role
/// `dpo`.
#[utoipa::path(
    get,
    path = "/v1/requests/{id}",
    tag = "requests",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request", body = RequestJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
) -> Result<Json<RequestJson>, ApiError> {
    let id = request_id(&id);
    let record = id.as_ref().ok().copied();
    let found = match id {
        Ok(id) => state
            .requests()
            .get(principal.tenant(), id)
            .await
            .map_err(ApiError::from),
        Err(err) => Err(err),
    };
    let request = audited(&state, &principal, &meta, record, found).await?;
    let shown = crate::audited::entry(state.store().now(), &principal, &meta, READ, None)
        .with_record(request.id)
        .with_subjects(request.subjects.iter().map(|s| s.as_uuid()))
        .with_fields(request.parameters.fields.iter().cloned());
    state.store().audit().record(shown).await?;
    Ok(Json(RequestJson::new(request, state.requests().today())))
}

/// received → verified: the requester's identity is established (Art. 12(6)). Needs the role
/// `dpo`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/verify",
    tag = "requests",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The request's id")),
    request_body = VerifyJson,
    responses(
        (status = 200, description = "Verified", body = RequestJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
    body: Result<ApiJson<VerifyJson>, ApiError>,
) -> Result<Json<RequestJson>, ApiError> {
    let id = request_id(&id);
    let record = id.as_ref().ok().copied();
    let verified = async {
        let id = id?;
        let ApiJson(body) = body?;
        let verification = verification(&body)?;
        Ok(state
            .requests()
            .verify(
                principal.tenant(),
                id,
                verification,
                &actor(&principal, &meta),
            )
            .await?)
    }
    .await;
    let request = audited(&state, &principal, &meta, record, verified).await?;
    Ok(Json(RequestJson::new(request, state.requests().today())))
}

/// The verification a body gives: a method, and optionally where the evidence is kept.
fn verification(body: &VerifyJson) -> Result<Verification, ApiError> {
    let mut errors = Vec::new();
    let method = match body.method.as_deref().map(str::parse::<VerificationMethod>) {
        Some(Ok(method)) => Some(method),
        Some(Err(err)) => {
            errors.push(field_error("/method", &err.to_string()));
            None
        }
        None => {
            errors.push(field_error(
                "/method",
                "say how the identity was verified: id_porten, in_person, bankid, letter or \
                 other",
            ));
            None
        }
    };
    let evidence = match body.evidence.as_deref().map(EvidenceRef::parse) {
        Some(Ok(evidence)) => Some(evidence),
        Some(Err(err)) => {
            errors.push(field_error("/evidence", &err.to_string()));
            None
        }
        None => None,
    };
    match method {
        Some(method) if errors.is_empty() => {
            let verification = Verification::new(method);
            Ok(match evidence {
                Some(evidence) => verification.with_evidence(evidence),
                None => verification,
            })
        }
        _ => Err(invalid_request(errors)),
    }
}

/// Extends the deadline by 1 or 2 months (at most two in total) with a reason, before the
/// original due date (Art. 12(3)). Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/extend",
    tag = "requests",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The request's id")),
    request_body = ExtendJson,
    responses(
        (status = 200, description = "Extended", body = RequestJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn extend(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
    body: Result<ApiJson<ExtendJson>, ApiError>,
) -> Result<Json<RequestJson>, ApiError> {
    let id = request_id(&id);
    let record = id.as_ref().ok().copied();
    let extended = async {
        let id = id?;
        let ApiJson(body) = body?;
        let mut errors = Vec::new();
        let months = match u8::try_from(body.months) {
            Ok(months @ 1..=2) => Some(months),
            _ => {
                errors.push(field_error("/months", "months is 1 or 2"));
                None
            }
        };
        let reason = reason(body.reason.as_deref(), &mut errors);
        let (Some(months), Some(reason)) = (months, reason) else {
            return Err(invalid_request(errors));
        };
        Ok(state
            .requests()
            .extend(
                principal.tenant(),
                id,
                months,
                reason,
                &actor(&principal, &meta),
            )
            .await?)
    }
    .await;
    let request = audited(&state, &principal, &meta, record, extended).await?;
    Ok(Json(RequestJson::new(request, state.requests().today())))
}

/// Rejects the request with a reason (Art. 12(4)). Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/reject",
    tag = "requests",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The request's id")),
    request_body = RejectJson,
    responses(
        (status = 200, description = "Rejected", body = RequestJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn reject(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
    body: Result<ApiJson<RejectJson>, ApiError>,
) -> Result<Json<RequestJson>, ApiError> {
    let id = request_id(&id);
    let record = id.as_ref().ok().copied();
    let rejected = async {
        let id = id?;
        let ApiJson(body) = body?;
        let mut errors = Vec::new();
        let Some(reason) = reason(body.reason.as_deref(), &mut errors) else {
            return Err(invalid_request(errors));
        };
        Ok(state
            .requests()
            .reject(principal.tenant(), id, reason, &actor(&principal, &meta))
            .await?)
    }
    .await;
    let request = audited(&state, &principal, &meta, record, rejected).await?;
    Ok(Json(RequestJson::new(request, state.requests().today())))
}

/// Runs a verified request (see [`run_request`]). Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/requests/{id}/run",
    tag = "requests",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The request's id")),
    request_body(content = Option<RunJson>, description = "Only for a rectification: the \
        corrected values"),
    responses(
        (status = 200, description = "Run; the request's state and outcome say how it ended, \
            `access` / `portability` carry what the subject receives", body = RunResultJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
        (status = 501, description = "No executor for this type is installed", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn run(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<RunResultJson>, ApiError> {
    let id = request_id(&id);
    let record = id.as_ref().ok().copied();
    let ran = match id {
        Ok(id) => run_body(&state, &principal, id, &body).await,
        Err(err) => Err(err),
    };
    audited(&state, &principal, &meta, record, ran).await
}

async fn run_body(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    body: &[u8],
) -> Result<Json<RunResultJson>, ApiError> {
    // The body is optional: only a rectification carries one. No body and JSON `null` (the
    // documented `Option<RunJson>`) both mean none.
    let body: RunJson = if body.iter().all(u8::is_ascii_whitespace) {
        RunJson::default()
    } else {
        serde_json::from_slice::<Option<RunJson>>(body)
            .map(Option::unwrap_or_default)
            .map_err(|err| {
            ApiError::new(
                Code::MalformedJson,
                // serde's message may quote a value: only the position is given back.
                format!(
                    "the run body is not valid at line {}, column {}: expected \
                     {{\"corrections\": [{{\"collection\": …, \"record\": …, \"fields\": {{…}}}}]}} \
                     for a rectification, or no body",
                    err.line(),
                    err.column()
                ),
            )
        })?
    };
    let input = RunInput {
        corrections: body
            .corrections
            .into_iter()
            .map(|c| Correction::new(c.collection, c.record, c.fields))
            .collect(),
        // The API has no override: the four-eyes rule holds for every principal.
        four_eyes_override: None,
    };
    let executed = run_request(state.rights(), state.requests(), principal, id, input).await?;
    Ok(Json(run_result(executed, state.requests().today())?))
}

/// The run's answer on the wire.
pub fn run_result(executed: Executed, today: jiff::civil::Date) -> Result<RunResultJson, ApiError> {
    let (access, portability) = match executed.delivery {
        Delivery::Access(report) => (
            Some(serde_json::to_value(&*report).map_err(ApiError::internal)?),
            None,
        ),
        Delivery::Portability(export) => (
            None,
            Some(PortabilityJson {
                json: export.json.clone(),
                zip_base64: base64::engine::general_purpose::STANDARD.encode(&export.zip),
                included: export.included.clone(),
            }),
        ),
        _ => (None, None),
    };
    Ok(RunResultJson {
        request: RequestJson::new(executed.request, today),
        access,
        portability,
    })
}

impl From<RunError> for ApiError {
    fn from(err: RunError) -> Self {
        match err {
            RunError::Request(err) => err.into(),
            RunError::Store(err) => err.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        // The register's messages hold ids, states and dates, never reasons or values.
        let detail = err.to_string();
        match err {
            RequestError::NotFound(_) => ApiError::new(Code::RequestNotFound, detail),
            RequestError::IllegalTransition(_) | RequestError::Concurrent => {
                ApiError::new(Code::IllegalTransition, detail)
            }
            RequestError::Extension(_) | RequestError::Ended { .. } => {
                ApiError::new(Code::ExtensionRefused, detail)
            }
            RequestError::MissingReason => invalid_request(vec![field_error("/reason", &detail)]),
            RequestError::UnknownSubject => ApiError::new(
                Code::SubjectUnknown,
                "no data subject with this identifier is known in this tenant; check the \
                 number or identify the subject by subject id",
            ),
            RequestError::Store(err) => err.into(),
            err => ApiError::internal(err),
        }
    }
}

/// Every problem with a new request's body, or its parts.
fn validate(
    state: &AppState,
    body: &NewRequestJson,
) -> Result<(RequestType, SubjectIdentifier, Parameters), ApiError> {
    let mut errors = Vec::new();
    let request_type = body
        .request_type
        .parse::<RequestType>()
        .map_err(|e| errors.push(field_error("/type", &e.to_string())))
        .ok();
    let identifier = match (&body.fodselsnummer, &body.subject_id) {
        (Some(fnr), None) => SubjectIdentifier::national_id(fnr)
            .map_err(|e| errors.push(field_error("/fodselsnummer", &e.to_string())))
            .ok(),
        (None, Some(id)) => SubjectIdentifier::subject_id(id)
            .map_err(|e| errors.push(field_error("/subject_id", &e.to_string())))
            .ok(),
        _ => {
            errors.push(field_error(
                "",
                "name the subject by exactly one of `fodselsnummer` and `subject_id`",
            ));
            None
        }
    };
    let parameters = match (request_type, &body.parameters) {
        (Some(request_type), Some(value)) => match Parameters::from_json(request_type, value) {
            Ok(params) => {
                for (i, purpose) in params.purposes.iter().enumerate() {
                    let known = state
                        .catalog()
                        .purposes()
                        .iter()
                        .any(|p| p.id().as_str() == purpose);
                    if !known {
                        errors.push(field_error(
                            &format!("/parameters/purposes/{i}"),
                            "not a purpose of the catalog; GET /v1/catalog lists them",
                        ));
                    }
                }
                Some(params)
            }
            Err(err) => {
                errors.push(field_error(
                    &format!("/parameters{}", err.pointer),
                    &err.problem,
                ));
                None
            }
        },
        (_, None) => Some(Parameters::default()),
        (None, Some(_)) => None,
    };
    match (request_type, identifier, parameters) {
        (Some(t), Some(i), Some(p)) if errors.is_empty() => Ok((t, i, p)),
        _ => Err(invalid_request(errors)),
    }
}

fn reason(text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Reason> {
    Reason::parse(text.unwrap_or_default())
        .map_err(|e| errors.push(field_error("/reason", &e.to_string())))
        .ok()
}

fn actor(principal: &Principal, meta: &RequestMeta) -> Actor {
    Actor {
        principal: principal.id().as_str().to_owned(),
        request_id: meta.request_id.clone(),
    }
}

fn request_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::new(
            Code::InvalidRequestId,
            "the request id in the path must be a UUID, as `POST /v1/requests` returned it",
        )
    })
}

fn field_error(pointer: &str, detail: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: Code::InvalidSubjectRequest.as_str().to_owned(),
        detail: detail.to_owned(),
    }
}

fn invalid_request(errors: Vec<FieldError>) -> ApiError {
    let detail = match errors.len() {
        1 => "the request has 1 problem; see `errors`".to_owned(),
        n => format!("the request has {n} problems; see `errors`"),
    };
    ApiError::new(Code::InvalidSubjectRequest, detail).with_errors(errors)
}

fn invalid_query(detail: &str) -> ApiError {
    ApiError::new(Code::InvalidQuery, detail)
}

/// `result`, with its refusal recorded in the audit log first ([`audit_refusal`]).
async fn audited<T>(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    record: Option<Uuid>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let Err(err) = &result {
        audit_refusal(
            state.store(),
            state.requests(),
            principal,
            meta,
            record,
            err,
        )
        .await?;
    }
    result
}

/// Records the refusal `err` of a step on request `record` (none for a create or a list) in
/// the audit log: action `request.refused`, outcome `denied`, the code as reason, the request
/// as the record when it names one. The one place these routes and `datavern request` audit
/// a refusal. Every answer that is not a success is a refusal (a probe for an unknown subject
/// or request included) except a 5xx, which is a failure and logged, and a run's
/// `four_eyes_required` or `clearance_insufficient`, which the register records itself
/// (history and audit) for the API and the CLI alike: for those nothing is recorded here.
pub async fn audit_refusal(
    store: &Store,
    requests: &Requests,
    principal: &Principal,
    meta: &RequestMeta,
    record: Option<Uuid>,
    err: &ApiError,
) -> Result<(), ApiError> {
    let code = err.code();
    if code.status().is_server_error()
        || matches!(code, Code::FourEyesRequired | Code::ClearanceInsufficient)
    {
        return Ok(());
    }
    let mut refusal = crate::audited::entry(store.now(), principal, meta, REFUSED, Some(code));
    if let Some(id) = record {
        refusal = refusal.with_record(id);
        // A refusal about an existing request names its subjects, so that the subject's
        // audit trail shows it; a probe for an unknown id names none.
        if let Ok(request) = requests.get(principal.tenant(), id).await {
            refusal = refusal.with_subjects(request.subjects.iter().map(|s| s.as_uuid()));
        }
    }
    store.audit().record(refusal).await?;
    Ok(())
}
