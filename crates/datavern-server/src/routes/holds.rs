//! `/v1/legal-holds`: place, list and release legal holds in the caller's tenant, for
//! principals with the `dpo` role. Placing and releasing are audited by the store
//! (`hold.placed`, `hold.released`); the reason stays out of the audit log. Listing is
//! audited here (`hold.listed`, with the subject ids the list shows), and so is every
//! refusal: without the role (`hold.refused`, by the `Holding` extractor), and of a place or
//! release that fails (`hold.place`, `hold.release`, outcome `denied`, the code as reason).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datavern_core::access::Principal;
use datavern_core::catalog::CollectionName;
use datavern_governance::{HoldScope, NewHold};
use datavern_store::SubjectId;
use datavern_store::audit::AuditAction;
use uuid::Uuid;

use crate::audited;
use crate::error::{ApiError, Code, Problem};
use crate::extract::{ApiJson, Dpo, Holding};
use crate::state::AppState;
use crate::wire::hold::{HoldJson, HoldList, NewHoldJson, ReleaseJson};

/// The audit action of listing the holds.
const LISTED: AuditAction = AuditAction::HoldListed;
/// The audit action of a refused placing.
const PLACE: AuditAction = AuditAction::HoldPlace;
/// The audit action of a refused release.
const RELEASE: AuditAction = AuditAction::HoldRelease;

/// Every legal hold of the tenant, active or not, newest first. Needs the role `dpo`.
#[utoipa::path(
    get,
    path = "/v1/legal-holds",
    tag = "legal holds",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The holds", body = HoldList),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
) -> Result<Json<HoldList>, ApiError> {
    let holds = match state.governance().holds().list(principal.tenant()).await {
        Ok(holds) => holds,
        Err(err) => {
            let err = ApiError::from(err);
            return Err(audited::refusal(&state, &principal, &meta, LISTED, err).await);
        }
    };
    // The list shows subject ids and reasons: the entry names the subjects shown.
    let subjects: Vec<Uuid> = holds
        .iter()
        .filter_map(|hold| match &hold.scope {
            HoldScope::Subject { subject } => Some(subject.as_uuid()),
            _ => None,
        })
        .collect();
    audited::record(&state, &principal, &meta, LISTED, None, |entry| {
        entry.with_subjects(subjects)
    })
    .await?;
    Ok(Json(HoldList {
        items: holds.into_iter().map(HoldJson::from).collect(),
    }))
}

/// Places a legal hold on a collection, a record or a data subject: erasure and retention
/// leave what it covers alone until it is released or expires. Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/legal-holds",
    tag = "legal holds",
    security(("api_key" = [])),
    request_body = NewHoldJson,
    responses(
        (status = 201, description = "The hold placed", body = HoldJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn place(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    body: Result<ApiJson<NewHoldJson>, ApiError>,
) -> Result<(StatusCode, Json<HoldJson>), ApiError> {
    match place_hold(&state, &principal, body).await {
        Ok(hold) => Ok((StatusCode::CREATED, Json(HoldJson::from(hold)))),
        Err(err) => Err(audited::refusal(&state, &principal, &meta, PLACE, err).await),
    }
}

async fn place_hold(
    state: &AppState,
    principal: &Principal,
    body: Result<ApiJson<NewHoldJson>, ApiError>,
) -> Result<datavern_store::LegalHold, ApiError> {
    let ApiJson(body) = body?;
    let scope = scope(&body)?;
    Ok(state
        .governance()
        .holds()
        .place(
            state.catalog(),
            principal.tenant(),
            principal.id(),
            NewHold {
                scope,
                reason: body.reason,
                expires_at: body.expires_at,
            },
        )
        .await?)
}

/// Releases a legal hold, with a reason. Needs the role `dpo`.
#[utoipa::path(
    post,
    path = "/v1/legal-holds/{id}/release",
    tag = "legal holds",
    security(("api_key" = [])),
    params(("id" = Uuid, Path, description = "The hold's id")),
    request_body = ReleaseJson,
    responses(
        (status = 200, description = "The hold, released", body = HoldJson),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
    Path(id): Path<String>,
    body: Result<ApiJson<ReleaseJson>, ApiError>,
) -> Result<Json<HoldJson>, ApiError> {
    match release_hold(&state, &principal, &id, body).await {
        Ok(hold) => Ok(Json(HoldJson::from(hold))),
        Err(err) => Err(audited::refusal(&state, &principal, &meta, RELEASE, err).await),
    }
}

async fn release_hold(
    state: &AppState,
    principal: &Principal,
    id: &str,
    body: Result<ApiJson<ReleaseJson>, ApiError>,
) -> Result<datavern_store::LegalHold, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::new(Code::BadRequest, "the hold id in the path is not a UUID"))?;
    let ApiJson(body) = body?;
    Ok(state
        .governance()
        .holds()
        .release(principal.tenant(), id, principal.id(), &body.reason)
        .await?)
}

/// The scope the body describes, or what to fix.
fn scope(body: &NewHoldJson) -> Result<HoldScope, ApiError> {
    let collection = || {
        let name = body.collection.as_deref().ok_or_else(|| {
            ApiError::new(
                Code::InvalidBody,
                "scopes `collection` and `record` need `collection`",
            )
        })?;
        CollectionName::parse(name).map_err(|_| {
            ApiError::new(
                Code::CollectionUnknown,
                "`collection` is not a collection name of the catalog",
            )
        })
    };
    // The scope is named from the match below, never from the body.
    let only = |ok: bool, scope: &str, fields: &str| {
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::InvalidBody,
                format!("scope `{scope}` takes {fields} and nothing else"),
            ))
        }
    };
    match body.scope.as_str() {
        "collection" => {
            only(
                body.record.is_none() && body.subject.is_none(),
                "collection",
                "`collection`",
            )?;
            Ok(HoldScope::Collection {
                collection: collection()?,
            })
        }
        "record" => {
            only(
                body.subject.is_none(),
                "record",
                "`collection` and `record`",
            )?;
            let record = body
                .record
                .ok_or_else(|| ApiError::new(Code::InvalidBody, "scope `record` needs `record`"))?;
            Ok(HoldScope::Record {
                collection: collection()?,
                record,
            })
        }
        "subject" => {
            only(
                body.collection.is_none() && body.record.is_none(),
                "subject",
                "`subject`",
            )?;
            let subject = body.subject.ok_or_else(|| {
                ApiError::new(Code::InvalidBody, "scope `subject` needs `subject`")
            })?;
            Ok(HoldScope::Subject {
                subject: SubjectId::from_uuid(subject),
            })
        }
        _ => Err(ApiError::new(
            Code::InvalidBody,
            "scope must be `collection`, `record` or `subject`",
        )),
    }
}
