//! `GET /v1/audit`: the caller's tenant's audit log, for principals with the `auditor` role.
//!
//! Reading the log is itself logged (action `audit_read`), granted or denied.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use datavern_core::access::Principal;
use datavern_store::audit::{AuditAction, AuditFilter, Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::audited;
use crate::error::{ApiError, Code, Problem};
use crate::extract::{Auditor, Holding};
use crate::state::AppState;
use crate::wire::audit::{AuditEntryJson, AuditPage};

/// The role that may read the audit log (a data protection officer, an internal auditor).
pub const AUDITOR_ROLE: &str = "auditor";
/// The action of an audit log read in the audit log.
const AUDIT_READ: AuditAction = AuditAction::AuditRead;

/// The tenant's audit entries, oldest first, a page at a time; filter by data subject,
/// record, collection, principal and time. Needs the role `auditor`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    security(("api_key" = [])),
    params(
        ("subject" = Option<Uuid>, Query, description = "Only entries about this data subject"),
        ("record" = Option<Uuid>, Query, description = "Only entries about this record"),
        ("collection" = Option<String>, Query, description = "Only entries about this collection"),
        ("principal" = Option<String>, Query, description = "Only entries by this principal"),
        ("from" = Option<String>, Query, description = "Only entries at or after this time (RFC 3339)"),
        ("until" = Option<String>, Query, description = "Only entries before this time (RFC 3339)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, description = "Entries per page: default 100, at most 1000"),
    ),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = "4XX", description = "See the error code table", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn audit(
    State(state): State<AppState>,
    Holding(principal, meta, _): Holding<Auditor>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let log = state.store().audit();
    let Query(params) = query.map_err(|_| invalid("the query string is malformed"))?;
    let filter = filter(&principal, params)?;
    let page = log.query(filter).await?;
    log.record(audited::entry(
        state.store().now(),
        &principal,
        &meta,
        AUDIT_READ,
        None,
    ))
    .await?;
    Ok(Json(AuditPage {
        items: page.items.into_iter().map(AuditEntryJson::from).collect(),
        next_cursor: page.next.map(|c| c.to_string()),
    }))
}

/// The filter the query asks for, always within the principal's tenant.
fn filter(principal: &Principal, params: Vec<(String, String)>) -> Result<AuditFilter, ApiError> {
    let mut filter = AuditFilter::new(principal.tenant()).limit(DEFAULT_PAGE_SIZE);
    let (mut from, mut until) = (None, None);
    for (position, (name, value)) in params.into_iter().enumerate() {
        filter = match name.as_str() {
            "subject" => filter.subject(uuid(&name, &value)?),
            "record" => filter.record(uuid(&name, &value)?),
            "collection" => filter.collection(value),
            "principal" => filter.principal(value),
            "from" => {
                from = Some(time(&name, &value)?);
                filter
            }
            "until" => {
                until = Some(time(&name, &value)?);
                filter
            }
            "cursor" => filter.after(
                value
                    .parse::<Cursor>()
                    .map_err(|_| invalid("cursor: pass the `next_cursor` of the previous page"))?,
            ),
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => filter.limit(n),
                _ => {
                    return Err(invalid(&format!(
                        "limit must be a whole number from 1 to {MAX_PAGE_SIZE}"
                    )));
                }
            },
            _ => {
                // The name is the caller's input: its position is named instead.
                return Err(invalid(&format!(
                    "query parameter {} is not a filter: filter by subject, record, \
                     collection, principal, from and until",
                    position + 1
                )));
            }
        };
    }
    Ok(filter.between(from, until))
}

fn uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| invalid(&format!("{name} must be a UUID")))
}

fn time(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        invalid(&format!(
            "{name} must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z"
        ))
    })
}

fn invalid(detail: &str) -> ApiError {
    ApiError::new(Code::InvalidQuery, detail)
}
