//! `/v1/reports`: the record of processing activities (Art. 30), from the catalog, and the
//! compliance report of the caller's tenant.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use datavern_core::report::Ropa;
use datavern_store::audit::AuditAction;
use serde::Deserialize;

use crate::audited;
use crate::auth::Authenticated;
use crate::error::{ApiError, Code, Problem};
use crate::extract::{Dpo, Holding};
use crate::state::AppState;

/// The audit action of reading the compliance report.
const COMPLIANCE_READ: AuditAction = AuditAction::ReportCompliance;

/// The query of `GET /v1/reports/ropa`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RopaQuery {
    format: Option<String>,
}

/// The record of processing activities (GDPR Art. 30(1)) generated from the catalog: JSON,
/// or Markdown with `?format=markdown` or `Accept: text/markdown`. Any authenticated
/// principal may read it; it holds no personal data.
#[utoipa::path(
    get,
    path = "/v1/reports/ropa",
    tag = "reports",
    security(("api_key" = [])),
    params(("format" = Option<String>, Query, description = "`json` (default) or `markdown`")),
    responses(
        (status = 200, description = "The record, as application/json or text/markdown"),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn ropa(
    State(state): State<AppState>,
    Authenticated(_principal): Authenticated,
    headers: HeaderMap,
    query: Result<Query<RopaQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::new(
            Code::InvalidQuery,
            "the only parameter is format=json|markdown",
        )
    })?;
    let format = query.format;
    let accepts_markdown = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/markdown"));
    let markdown = match format.as_deref() {
        Some("markdown") => true,
        Some("json") => false,
        Some(_) => {
            return Err(ApiError::new(
                Code::InvalidQuery,
                "format must be `json` or `markdown`",
            ));
        }
        None => accepts_markdown,
    };
    let ropa = Ropa::from_catalog(state.catalog());
    Ok(if markdown {
        (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            ropa.to_markdown(),
        )
            .into_response()
    } else {
        Json(ropa).into_response()
    })
}

/// The compliance report of the caller's tenant: records past retention not yet handled,
/// personal fields stored unencrypted, active legal holds, data subject requests overdue or
/// due within 7 days, and consent coverage per consent-based purpose. Judged at the time of
/// the state's clock (the one the request register's deadlines run on). Needs the role
/// `dpo`. Audited: `report.compliance` (granted, or denied when it cannot be made) and
/// `report.refused` without the role.
#[utoipa::path(
    get,
    path = "/v1/reports/compliance",
    tag = "reports",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The report (application/json)"),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn compliance(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Dpo>,
) -> Result<Response, ApiError> {
    let report = match datavern_governance::compliance::report(
        state.store(),
        state.records().catalog().clone(),
        principal.tenant(),
    )
    .await
    {
        Ok(report) => report,
        Err(err) => {
            let err = ApiError::from(err);
            return Err(audited::refusal(&state, &principal, &meta, COMPLIANCE_READ, err).await);
        }
    };
    audited::record(&state, &principal, &meta, COMPLIANCE_READ, None, |e| e).await?;
    Ok(Json(report).into_response())
}
