//! Liveness, readiness and metrics: what an orchestrator and Prometheus call.
//!
//! None of these need credentials, and none says more than "ok" or which database failed: the
//! causes (hosts, driver errors) go to the log, not to whoever can reach the port.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use datavern_sql::Database;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, Code, Problem, report};
use crate::state::AppState;

/// How long a readiness check waits for a database before calling it unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The Prometheus text exposition format's media type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /healthz` and `GET /readyz` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (serving).
    pub status: String,
    /// For readiness: each database (`data`, `keys`) and `ok`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, String>,
}

/// The process is alive (answers without touching any database).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)),
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        checks: BTreeMap::new(),
    })
}

/// The data database and the key store both answer: the instance can serve requests.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Both databases answer", body = Health),
        (status = 503, description = "A database does not answer; `checks` says which",
            body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let store = state.store();
    let (data, keys) = tokio::join!(ping(store.data()), ping(store.keys().database()));
    let checks: BTreeMap<String, String> = [("data", data), ("keys", keys)]
        .into_iter()
        .map(|(name, ok)| {
            (
                name.to_owned(),
                if ok { "ok" } else { "unreachable" }.to_owned(),
            )
        })
        .collect();
    let failed: Vec<&str> = [("data", data), ("key store", keys)]
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| name)
        .collect();
    if failed.is_empty() {
        return Ok(Json(Health {
            status: "ready".to_owned(),
            checks,
        }));
    }
    Err(ApiError::new(
        Code::NotReady,
        format!(
            "not ready: the {} database{} not answer",
            failed.join(" and the "),
            if failed.len() == 1 { " does" } else { "s do" }
        ),
    )
    .with_extension("checks", serde_json::to_value(&checks).unwrap_or_default()))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format",
        body = String, content_type = "text/plain")),
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics().render(&state).await;
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response()
}

/// Whether `db` answers within [`PING_TIMEOUT`]; the cause of a failure is logged.
async fn ping(db: &Database) -> bool {
    match tokio::time::timeout(PING_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!(db = db.role().as_str(), error = %report(&err), "Readiness check failed");
            false
        }
        Err(_) => {
            tracing::warn!(db = db.role().as_str(), "Readiness check timed out");
            false
        }
    }
}
