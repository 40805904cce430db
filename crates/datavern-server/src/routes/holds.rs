//! `/v1/legal-holds`: place, list and release legal holds in the caller's tenant, for
//! principals with the `dpo` role. Placing and releasing are audited by the store
//! (`hold.placed`, `hold.released`); the reason stays out of the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use datavern_core::access::Principal;
use datavern_core::catalog::CollectionName;
use datavern_store::{HoldScope, LegalHolds, NewHold, SubjectId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::error::{ApiError, Code, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::wire::hold::{HoldJson, HoldList, NewHoldJson, ReleaseJson};

pub(crate) use super::requests::DPO_ROLE;

/// Refuses a principal without the `dpo` role.
pub(crate) fn require_dpo(principal: &Principal, what: &str) -> Result<(), ApiError> {
    if principal.has_role(DPO_ROLE) {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::AccessDenied,
            format!("{what} needs the role `{DPO_ROLE}`"),
        ))
    }
}

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
    Authenticated(principal): Authenticated,
) -> Result<Json<HoldList>, ApiError> {
    require_dpo(&principal, "listing legal holds")?;
    let holds = LegalHolds::new(state.store().clone())
        .list(principal.tenant())
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
    Authenticated(principal): Authenticated,
    ApiJson(body): ApiJson<NewHoldJson>,
) -> Result<(StatusCode, Json<HoldJson>), ApiError> {
    require_dpo(&principal, "placing a legal hold")?;
    let scope = scope(&body)?;
    let hold = LegalHolds::new(state.store().clone())
        .place(
            state.catalog(),
            principal.tenant(),
            principal.id(),
            NewHold {
                scope,
                reason: body.reason,
                expires_at: body.expires_at,
            },
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(HoldJson::from(hold))))
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
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReleaseJson>,
) -> Result<Json<HoldJson>, ApiError> {
    require_dpo(&principal, "releasing a legal hold")?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::new(Code::BadRequest, "the hold id in the path is not a UUID"))?;
    let hold = LegalHolds::new(state.store().clone())
        .release(
            principal.tenant(),
            id,
            principal.id(),
            &body.reason,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(HoldJson::from(hold)))
}

/// The scope the body describes, or what to fix.
fn scope(body: &NewHoldJson) -> Result<HoldScope, ApiError> {
    let collection = || {
        let name = body.collection.as_deref().ok_or_else(|| {
            ApiError::new(
                Code::InvalidBody,
                format!("scope `{}` needs `collection`", body.scope),
            )
        })?;
        CollectionName::parse(name).map_err(|_| {
            ApiError::new(
                Code::CollectionUnknown,
                "`collection` is not a collection name of the catalog",
            )
        })
    };
    let only = |ok: bool, fields: &str| {
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                Code::InvalidBody,
                format!("scope `{}` takes {fields} and nothing else", body.scope),
            ))
        }
    };
    match body.scope.as_str() {
        "collection" => {
            only(
                body.record.is_none() && body.subject.is_none(),
                "`collection`",
            )?;
            Ok(HoldScope::Collection {
                collection: collection()?,
            })
        }
        "record" => {
            only(body.subject.is_none(), "`collection` and `record`")?;
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
