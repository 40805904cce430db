//! `/v1/collections/{collection}/records`: governed create, read, update, delete, list and
//! lookup.
//!
//! Each handler: authenticate ([`Authenticated`]), decide with the core's access rules (a
//! denial is audited before it is answered), validate the body with the core's record rules,
//! then call the store's [`Records`](datavern_store::Records), which encrypts, audits and
//! writes the outbox event in one transaction. The principal's own tenant is the target
//! tenant: the store scopes every query to it, so another tenant's record is answered
//! exactly like a missing one (`404 record_not_found`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datavern_core::access::{
    self, AccessRequest, AuditFacts, ConsentState, Denial, Grant, Outcome, Principal,
};
use datavern_core::catalog::Collection;
use datavern_core::consent::{
    self, ConsentAction, ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion,
};
use datavern_core::record::{self, Mode, normalize_lookup};
use datavern_sql::At;
use datavern_store::audit::AuditAction;
use datavern_store::records::{Cursor, DEFAULT_PAGE_LIMIT, page_limit};
use datavern_store::{RecordError, RecordView, RequestMeta, StoreError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::error::{ApiError, Code, Problem, consent_detail};
use crate::extract::{ApiJson, PurposeHeader};
use crate::middleware::REQUEST_ID_HEADER;
use crate::routes::subjects;
use crate::state::AppState;
use crate::wire::record::{RecordJson, RecordPage};

/// The query parameters of a list that are not lookups.
const CURSOR_PARAM: &str = "cursor";
const LIMIT_PARAM: &str = "limit";
/// The privacy notice version of a consent given with a create.
const CONSENT_NOTICE_HEADER: &str = "datavern-consent-notice";
/// The channel of a consent given with a create.
const CONSENT_CHANNEL_HEADER: &str = "datavern-consent-channel";
/// Where the evidence of a consent given with a create is kept (the signed form's id).
const CONSENT_EVIDENCE_HEADER: &str = "datavern-consent-evidence";

/// The request id, for the audit entries of the request.
pub(crate) struct Meta(pub(crate) RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let meta = match parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            Some(id) => RequestMeta::new().with_request_id(id),
            None => RequestMeta::new(),
        };
        Ok(Meta(meta))
    }
}

/// Creates a record. The body is an object of field names and values; `GET /v1/catalog`
/// lists each collection's fields, their types and which purposes may write them.
#[utoipa::path(
    post,
    path = "/v1/collections/{collection}/records",
    tag = "records",
    security(("api_key" = [])),
    params(
        ("collection" = String, Path, description = "The collection, e.g. `innbyggere`"),
        ("Datavern-Purpose" = String, Header, description = "The purpose of processing"),
        ("Datavern-Consent-Notice" = Option<String>, Header,
            description = "For a person created for a purpose that rests on consent: the \
            privacy notice version the person consented under; the consent is recorded with \
            the record"),
        ("Datavern-Consent-Channel" = Option<String>, Header,
            description = "How that consent was given (`web`, `app`, `paper`, `phone`, \
            `in_person`, `email`, `api`; default `api`)"),
        ("Datavern-Consent-Evidence" = Option<String>, Header,
            description = "Where the evidence of that consent is kept: the id of the signed \
            form or message (1 to 128 ASCII letters, digits, `.-_:/#`; never personal data). \
            Where the catalog names a `consent.recorder_role` for the purpose, consent given \
            with a create needs that role too"),
    ),
    request_body(
        content = Object,
        content_type = "application/json",
        description = "Field names and values, e.g. `{\"fodselsnummer\": \"15108695088\", \"fornavn\": \"Kari\"}`"
    ),
    responses(
        (status = 201, description = "Created; `Location` names it, `ETag` is its version",
            body = RecordJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: Result<ApiJson<Map<String, Value>>, ApiError>,
) -> Result<Response, ApiError> {
    let request = AccessRequest::create(&collection, principal.tenant())
        .with_purpose(purpose.as_deref())
        .with_consent(ConsentState::Deferred);
    let (grant, collection) = decide(&state, &principal, &request, &meta).await?;
    let record = match body
        .and_then(|ApiJson(body)| Ok(record::validate(collection, &body, Mode::Create)?))
    {
        Ok(record) => record,
        Err(err) => return Err(refused(&state, &grant, &meta, err).await),
    };
    check_write(&state, &principal, &request, &grant, &record, &meta).await?;
    let view = match consent_with_create(&headers, &grant, state.store().now())? {
        Some(event) => {
            // The same rule as POST /v1/subjects/{id}/consents: a person created with a
            // consent records a grant.
            let purpose = grant.purpose();
            if let Err(err) =
                subjects::check_recorder(&state, &principal, purpose, ConsentAction::Grant)
            {
                let action = AuditAction::ConsentGrant;
                return Err(subjects::refuse(
                    &state,
                    &principal,
                    &meta,
                    action,
                    Some(purpose),
                    err,
                )
                .await);
            }
            state
                .records()
                .create_with_consent(&grant, record, &event, &meta)
                .await
        }
        None => state.records().create(&grant, record, &meta).await,
    };
    let view = audit_refused(&state, &grant, &meta, view).await?;
    let location = format!("/v1/collections/{}/records/{}", view.collection, view.id);
    let mut response = record_response(StatusCode::CREATED, view);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Reads a record: the fields the purpose may read, and the names of those withheld.
#[utoipa::path(
    get,
    path = "/v1/collections/{collection}/records/{id}",
    tag = "records",
    security(("api_key" = [])),
    params(
        ("collection" = String, Path, description = "The collection"),
        ("id" = Uuid, Path, description = "The record id"),
        ("Datavern-Purpose" = String, Header, description = "The purpose of processing"),
    ),
    responses(
        (status = 200, description = "The record; `ETag` is its version", body = RecordJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = record_id(&id)?;
    let request = AccessRequest::read(&collection, principal.tenant())
        .with_purpose(purpose.as_deref())
        .with_consent(ConsentState::Deferred);
    let (grant, _) = decide(&state, &principal, &request, &meta).await?;
    let view = state.records().get(&grant, id, &meta).await;
    let view = audit_refused(&state, &grant, &meta, view).await?;
    Ok(record_response(StatusCode::OK, view))
}

/// Changes the fields the body gives (`null` clears one) and leaves the others. With
/// `If-Match: "<version>"` the change applies only to that version.
#[utoipa::path(
    patch,
    path = "/v1/collections/{collection}/records/{id}",
    tag = "records",
    security(("api_key" = [])),
    params(
        ("collection" = String, Path, description = "The collection"),
        ("id" = Uuid, Path, description = "The record id"),
        ("Datavern-Purpose" = String, Header, description = "The purpose of processing"),
        ("If-Match" = Option<String>, Header,
            description = "The version the change is for, as the `ETag` gave it (`\"3\"`)"),
    ),
    request_body(
        content = Object,
        content_type = "application/json",
        description = "The fields to change"
    ),
    responses(
        (status = 200, description = "The record as it now is", body = RecordJson),
        (status = 412, description = "`version_conflict`: the record changed since that version",
            body = Problem, content_type = "application/problem+json"),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
    body: Result<ApiJson<Map<String, Value>>, ApiError>,
) -> Result<Response, ApiError> {
    let id = record_id(&id)?;
    let expected_version = if_match(&headers)?;
    let request = AccessRequest::update(&collection, principal.tenant())
        .with_purpose(purpose.as_deref())
        .with_consent(ConsentState::Deferred);
    let (grant, collection) = decide(&state, &principal, &request, &meta).await?;
    let patch = match body
        .and_then(|ApiJson(body)| Ok(record::validate(collection, &body, Mode::Patch)?))
    {
        Ok(patch) => patch,
        Err(err) => return Err(refused(&state, &grant, &meta, err).await),
    };
    check_write(&state, &principal, &request, &grant, &patch, &meta).await?;
    let view = state
        .records()
        .update(&grant, id, patch, expected_version, &meta)
        .await;
    let view = audit_refused(&state, &grant, &meta, view).await?;
    Ok(record_response(StatusCode::OK, view))
}

/// Deletes a record (its row and blind indexes). Erasing a person's data everywhere
/// (crypto-shredding) is a data subject request of its own.
#[utoipa::path(
    delete,
    path = "/v1/collections/{collection}/records/{id}",
    tag = "records",
    security(("api_key" = [])),
    params(
        ("collection" = String, Path, description = "The collection"),
        ("id" = Uuid, Path, description = "The record id"),
        ("Datavern-Purpose" = String, Header, description = "The purpose of processing"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    Path((collection, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = record_id(&id)?;
    let request = AccessRequest::delete(&collection, principal.tenant())
        .with_purpose(purpose.as_deref())
        .with_consent(ConsentState::Deferred);
    let (grant, _) = decide(&state, &principal, &request, &meta).await?;
    let deleted = state.records().delete(&grant, id, &meta).await;
    audit_refused(&state, &grant, &meta, deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists records a page at a time (`cursor`, `limit`), or, with one `FIELD=VALUE` parameter
/// naming a searchable field, returns the records whose field has exactly that value (found
/// by blind index; e.g. `?fodselsnummer=15108695088`), up to 1000 a page: when more records
/// share the value, `next_cursor` continues the lookup (pass it as `cursor` with the same
/// `FIELD=VALUE`).
#[utoipa::path(
    get,
    path = "/v1/collections/{collection}/records",
    tag = "records",
    security(("api_key" = [])),
    params(
        ("collection" = String, Path, description = "The collection"),
        ("Datavern-Purpose" = String, Header, description = "The purpose of processing"),
        ("cursor" = Option<String>, Query,
            description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query,
            description = "Records per page: default 50, at most 500"),
    ),
    responses(
        (status = 200, description = "A page of records, or a page of a lookup's matches",
            body = RecordPage),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    purpose: PurposeHeader,
    Meta(meta): Meta,
    Path(collection): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<RecordPage>, ApiError> {
    let Query(params) = query.map_err(|_| {
        ApiError::new(
            Code::InvalidQuery,
            "the query string is malformed: use `cursor=…&limit=…` or one `FIELD=VALUE`",
        )
    })?;
    let mut cursor = None;
    let mut limit = None;
    let mut lookups = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            CURSOR_PARAM => cursor = Some(value),
            LIMIT_PARAM => limit = Some(value),
            _ => lookups.push((name, value)),
        }
    }
    match lookups.as_slice() {
        [] => {
            let cursor = cursor.as_deref().map(Cursor::parse).transpose()?;
            let limit = match limit.as_deref() {
                None => DEFAULT_PAGE_LIMIT,
                Some(text) => match text.parse::<u32>() {
                    Ok(n) if n > 0 => page_limit(n),
                    _ => {
                        return Err(ApiError::new(
                            Code::InvalidQuery,
                            "limit must be a whole number from 1 (at most 500 are returned)",
                        ));
                    }
                },
            };
            let request = AccessRequest::list(&collection, principal.tenant())
                .with_purpose(purpose.as_deref())
                .with_consent(ConsentState::Deferred);
            let (grant, _) = decide(&state, &principal, &request, &meta).await?;
            let page = state.records().list(&grant, cursor, limit, &meta).await?;
            Ok(Json(RecordPage {
                items: page.items.into_iter().map(RecordJson::from).collect(),
                next_cursor: page.next.map(|c| c.to_string()),
            }))
        }
        [(field, value)] => {
            if limit.is_some() {
                return Err(ApiError::new(
                    Code::InvalidQuery,
                    "a lookup returns up to 1000 matches a page: drop `limit`, and pass \
                     `next_cursor` as `cursor` for the next page",
                ));
            }
            let cursor = cursor.as_deref().map(Cursor::parse).transpose()?;
            let request = AccessRequest::lookup(&collection, principal.tenant(), field)
                .with_purpose(purpose.as_deref())
                .with_consent(ConsentState::Deferred);
            let (grant, collection) = decide(&state, &principal, &request, &meta).await?;
            // The grant names the field by its catalog name, also when the old name of a
            // renamed field was given.
            let field = grant.lookup_field().map_or(field.as_str(), |f| f.as_str());
            let normalized = normalize_lookup(collection, field, value).map_err(|problem| {
                ApiError::new(
                    Code::InvalidQuery,
                    format!("the value looked up by `{field}` is not valid; see `errors`"),
                )
                .with_errors([crate::error::FieldError {
                    pointer: problem.path,
                    code: problem.code.as_str().to_owned(),
                    detail: problem.message,
                }])
            })?;
            let page = state
                .records()
                .lookup_page(&grant, field, &normalized, cursor, &meta)
                .await?;
            Ok(Json(RecordPage {
                items: page.items.into_iter().map(RecordJson::from).collect(),
                next_cursor: page.next.map(|c| c.to_string()),
            }))
        }
        _ => Err(ApiError::new(
            Code::InvalidQuery,
            "look up by one field at a time (one `FIELD=VALUE` parameter)",
        )),
    }
}

/// The access decision; a denial is recorded in the audit log before it is answered (and if
/// that fails, the request fails: the audit log is never silently incomplete).
async fn decide<'s>(
    state: &'s AppState,
    principal: &Principal,
    request: &AccessRequest<'_>,
    meta: &RequestMeta,
) -> Result<(Grant, &'s Collection), ApiError> {
    match access::decide(state.catalog(), principal, request) {
        Ok(grant) => {
            let collection = state
                .catalog()
                .collection(grant.collection().as_str())
                .ok_or_else(|| {
                    ApiError::internal(std::io::Error::other(
                        "granted a collection the catalog does not have",
                    ))
                })?;
            Ok((grant, collection))
        }
        Err(denial) => Err(refuse(state, principal, request, denial, meta).await),
    }
}

/// A refusal after the access decision granted is recorded in the audit log like a denial:
/// an id the caller cannot see (missing, or another tenant's: probing for ids shows up in
/// the log), a version conflict (412), and a write the store finds invalid (422: no change,
/// a reference to no record, a value that does not fit).
async fn audit_refused<T>(
    state: &AppState,
    grant: &Grant,
    meta: &RequestMeta,
    result: datavern_store::Result<T>,
) -> Result<T, ApiError> {
    match result {
        Err(StoreError::Record(
            err @ (RecordError::NotFound { .. }
            | RecordError::VersionConflict { .. }
            | RecordError::EmptyUpdate
            | RecordError::ReferenceNotFound { .. }
            | RecordError::Unstorable { .. }),
        )) => Err(refused(state, grant, meta, err.into()).await),
        other => Ok(other?),
    }
}

/// Records the refusal `err` of a granted request (a body that is not a valid record, a
/// version conflict) and returns it; if recording fails, that failure is the answer.
async fn refused(state: &AppState, grant: &Grant, meta: &RequestMeta, err: ApiError) -> ApiError {
    // Nothing was touched: no fields, no withheld ones.
    let mut facts = grant.audit().with_fields([]);
    facts.withheld.clear();
    facts.outcome = Outcome::Denied(err.code().as_str());
    match state.records().audit_denial(&facts, meta).await {
        Ok(()) => err,
        Err(audit_err) => audit_err.into(),
    }
}

/// Refuses (and audits) a write of fields the grant may not write.
async fn check_write(
    state: &AppState,
    principal: &Principal,
    request: &AccessRequest<'_>,
    grant: &Grant,
    record: &record::ValidatedRecord,
    meta: &RequestMeta,
) -> Result<(), ApiError> {
    match grant.check_write(record.field_names().map(|f| f.as_str())) {
        Ok(()) => Ok(()),
        Err(denial) => Err(refuse(state, principal, request, denial, meta).await),
    }
}

/// Records `denial` in the audit log and returns the error that answers it; if recording
/// fails, that failure is the answer (the audit log is never silently incomplete).
async fn refuse(
    state: &AppState,
    principal: &Principal,
    request: &AccessRequest<'_>,
    denial: Denial,
    meta: &RequestMeta,
) -> ApiError {
    let facts = AuditFacts::denied(principal, request, &denial);
    match state.records().audit_denial(&facts, meta).await {
        Ok(()) => denial.into(),
        Err(err) => err.into(),
    }
}

/// The consent the `Datavern-Consent-Notice` and `Datavern-Consent-Channel` headers give
/// with a create: a grant to the create's purpose, now, recorded by the caller.
fn consent_with_create(
    headers: &HeaderMap,
    grant: &Grant,
    now: At,
) -> Result<Option<ConsentEvent>, ApiError> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().map(str::trim).unwrap_or_default().to_owned())
    };
    let Some(notice) = text(CONSENT_NOTICE_HEADER) else {
        if text(CONSENT_CHANNEL_HEADER).is_some() || text(CONSENT_EVIDENCE_HEADER).is_some() {
            return Err(ApiError::new(
                Code::ConsentInvalid,
                "Datavern-Consent-Channel and Datavern-Consent-Evidence need \
                 Datavern-Consent-Notice, the privacy notice version the person consented under",
            ));
        }
        return Ok(None);
    };
    let invalid =
        |err: consent::ConsentError| ApiError::new(Code::ConsentInvalid, consent_detail(&err));
    let notice = NoticeVersion::parse(&notice).map_err(invalid)?;
    let channel = match text(CONSENT_CHANNEL_HEADER) {
        Some(channel) => channel.parse::<ConsentChannel>().map_err(invalid)?,
        None => ConsentChannel::Api,
    };
    let event = ConsentEvent::new(
        grant.purpose().clone(),
        ConsentAction::Grant,
        Some(notice),
        channel,
        consent::time_from_micros(now.as_micros()).map_err(invalid)?,
        grant.principal().as_str(),
    )
    .map_err(invalid)?;
    Ok(Some(match text(CONSENT_EVIDENCE_HEADER) {
        Some(evidence) => event.with_evidence(EvidenceRef::parse(&evidence).map_err(invalid)?),
        None => event,
    }))
}

/// A record id from the path.
fn record_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::new(
            Code::InvalidRecordId,
            "record ids are UUIDs, e.g. 0190b5d2-7c1e-7000-8000-000000000001",
        )
    })
}

/// The version `If-Match` names: `"3"` (or `3`, `W/"3"`); `*` or no header means any.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    tag.parse::<i64>().map(Some).map_err(|_| {
        ApiError::new(
            Code::BadRequest,
            "If-Match must be the record's ETag, its version in quotes (e.g. \"3\")",
        )
    })
}

/// The record as JSON with its version as the `ETag`.
fn record_response(status: StatusCode, view: RecordView) -> Response {
    let etag = format!("\"{}\"", view.version);
    let mut response = (status, Json(RecordJson::from(view))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
