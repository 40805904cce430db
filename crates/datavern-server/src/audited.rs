//! Audit entries the routes write themselves (the store audits its own writes and record
//! reads): what a route did or refused, by whom, in which request.

use datavern_core::access::Principal;
use datavern_sql::At;
use datavern_store::audit::{AuditAction, AuditOutcome};
use datavern_store::{AuditEntry, RequestMeta};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The entry of `action` by `principal` at `at` (the store's clock's time) in the request
/// `meta` describes: granted when
/// `refusal` is `None`, otherwise denied with the refusal's code as the reason. The one
/// place a route's entry gets its tenant, principal, outcome and request id.
pub(crate) fn entry(
    at: At,
    principal: &Principal,
    meta: &RequestMeta,
    action: AuditAction,
    refusal: Option<Code>,
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        at,
        Some(principal.tenant()),
        principal.id().as_str(),
        action,
        AuditOutcome::of_refusal(refusal),
    );
    entry.reason = refusal.map(|code| code.as_str().to_owned());
    match &meta.request_id {
        Some(id) => entry.with_request_id(id.as_str()),
        None => entry,
    }
}

/// Records [`entry`] in the audit log, with `detail` adding what the action touched
/// (subject ids, a record, the purpose). The entry holds names, codes and ids only.
pub(crate) async fn record(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    action: AuditAction,
    refusal: Option<Code>,
    detail: impl FnOnce(AuditEntry) -> AuditEntry,
) -> Result<(), ApiError> {
    let entry = detail(entry(state.store().now(), principal, meta, action, refusal));
    state.store().audit().record(entry).await?;
    Ok(())
}

/// Records the refusal `err` of `action` and returns it; if the audit log cannot be
/// written, that failure is the answer (the log is never silently incomplete). A server
/// error is not a refusal: it is logged where it is answered, not audited.
pub(crate) async fn refusal(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    action: AuditAction,
    err: ApiError,
) -> ApiError {
    if err.code().status().is_server_error() {
        return err;
    }
    match record(state, principal, meta, action, Some(err.code()), |e| e).await {
        Ok(()) => err,
        Err(audit_err) => audit_err,
    }
}
