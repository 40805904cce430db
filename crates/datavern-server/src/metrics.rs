//! Prometheus metrics: every metric name in one place, the recorder, and the middleware that
//! counts and times requests.
//!
//! Names follow Prometheus conventions (`datavern_` prefix, base units, `_total` for
//! counters). Labels never carry ids or personal data: requests are labelled by route
//! *template* (`/v1/collections/{collection}/records/{id}`), never by the path requested.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Counter of HTTP requests answered, by `method`, `route` (template) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "datavern_http_requests_total";
/// Histogram of request durations in seconds, by `method` and `route` (template).
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "datavern_http_request_duration_seconds";
/// Gauge of database pool connections, by `db` (`data`, `keys`) and `state` (`idle`,
/// `in_use`).
pub const DB_POOL_CONNECTIONS: &str = "datavern_db_pool_connections";
/// Gauge of the age of the oldest audit entry not yet sealed into the hash chain, in seconds
/// (read at each scrape). An unsealed entry can still be altered unnoticed: alert when it
/// stays above a few seconds.
pub const AUDIT_LAG_SECONDS: &str = "datavern_audit_lag_seconds";

/// Counter of connections closed as soon as they were accepted, by `reason`
/// (`max_connections`, `max_connections_per_ip`).
pub const CONNECTIONS_REFUSED_TOTAL: &str = "datavern_http_connections_refused_total";
/// Counter of connections closed because the client did not send a request's headers within
/// the header-read timeout (slow clients, or idle kept-alive connections).
pub const HEADER_TIMEOUTS_TOTAL: &str = "datavern_http_header_read_timeouts_total";
/// Gauge of open HTTP connections.
pub const CONNECTIONS_OPEN: &str = "datavern_http_connections_open";
/// Counter of requests answered `429 rate_limited`, by `scope` (`ip`, `principal`).
pub const RATE_LIMITED_TOTAL: &str = "datavern_http_rate_limited_total";

/// Gauge of the Unix time of the last successful backup, by `kind` (`data`, `keys`), or of
/// the last successful repository check (`kind="verify"`). Alert when it falls behind the
/// schedule (`backup.interval`).
pub const BACKUP_LAST_SUCCESS_SECONDS: &str = "datavern_backup_last_success_timestamp_seconds";
/// Gauge of the duration of the last successful backup, in seconds, by `kind`.
pub const BACKUP_DURATION_SECONDS: &str = "datavern_backup_duration_seconds";
/// Gauge of the size of the last snapshot's files, in bytes, by `kind`.
pub const BACKUP_SIZE_BYTES: &str = "datavern_backup_size_bytes";
/// Gauge of what the last snapshot added to the repository (packed), in bytes, by `kind`.
pub const BACKUP_ADDED_BYTES: &str = "datavern_backup_added_bytes";
/// Gauge of the snapshots in the repository, by `kind` and `held` (`true`, `false`).
pub const BACKUP_SNAPSHOTS: &str = "datavern_backup_snapshots";
/// Counter of scheduled backup operations that failed, by `operation` (`create`, `verify`).
pub const BACKUP_FAILURES_TOTAL: &str = "datavern_backup_failures_total";

/// The `route` label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Histogram buckets for request durations, in seconds: 1 ms to 30 s.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A handle on the process's metrics recorder, to render the exposition.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// The process-wide recorder, installed on first use.
    ///
    /// The `metrics` facade has one global recorder per process, so every server in a process
    /// (several in tests) shares it. If another recorder was installed first (an application
    /// embedding datavern), this one still renders datavern's own gauges but the request
    /// metrics go to the other recorder.
    pub fn global() -> Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS
            .get_or_init(|| {
                let builder = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.to_owned()),
                        &DURATION_BUCKETS,
                    )
                    .unwrap_or_else(|_| PrometheusBuilder::new());
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                if metrics::set_global_recorder(recorder).is_err() {
                    tracing::warn!(
                        "Another metrics recorder is installed; /metrics shows only part"
                    );
                }
                describe();
                Metrics { handle }
            })
            .clone()
    }

    /// The Prometheus text exposition, with pool gauges and the audit lag read now.
    pub async fn render(&self, state: &AppState) -> String {
        match state.store().audit().lag().await {
            Ok(lag) => gauge!(AUDIT_LAG_SECONDS).set(lag.as_secs_f64()),
            Err(err) => {
                tracing::warn!(error = %crate::error::report(&err), "Cannot read the audit lag")
            }
        }
        for db in [state.store().data(), state.store().keys().database()] {
            let stats = db.stats();
            let role = db.role().as_str();
            gauge!(DB_POOL_CONNECTIONS, "db" => role, "state" => "idle").set(stats.idle);
            gauge!(DB_POOL_CONNECTIONS, "db" => role, "state" => "in_use")
                .set(stats.size.saturating_sub(stats.idle));
        }
        self.handle.render()
    }

    /// Drains histogram samples into their buckets; run periodically so that memory stays
    /// bounded between scrapes.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn describe() {
    describe_gauge!(
        BACKUP_LAST_SUCCESS_SECONDS,
        Unit::Seconds,
        "Unix time of the last successful backup (or repository check)"
    );
    describe_gauge!(
        BACKUP_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of the last successful backup"
    );
    describe_gauge!(
        BACKUP_SIZE_BYTES,
        Unit::Bytes,
        "Size of the last snapshot's files"
    );
    describe_gauge!(
        BACKUP_ADDED_BYTES,
        Unit::Bytes,
        "What the last snapshot added to the repository, packed"
    );
    describe_gauge!(BACKUP_SNAPSHOTS, "Snapshots in the backup repository");
    describe_counter!(
        BACKUP_FAILURES_TOTAL,
        "Scheduled backup operations that failed"
    );
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests answered");
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request"
    );
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections by state");
    describe_counter!(
        CONNECTIONS_REFUSED_TOTAL,
        "Connections closed on accept because a connection limit was reached"
    );
    describe_counter!(
        HEADER_TIMEOUTS_TOTAL,
        "Connections closed because request headers did not arrive in time"
    );
    describe_gauge!(CONNECTIONS_OPEN, "Open HTTP connections");
    describe_counter!(
        RATE_LIMITED_TOTAL,
        "Requests refused with 429 by a rate limit, by scope"
    );
    describe_gauge!(
        AUDIT_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest audit entry not yet sealed into the hash chain"
    );
}

/// Middleware: counts and times each request by method, route template and status.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = route_label(&request);
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(HTTP_REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    histogram!(HTTP_REQUEST_DURATION_SECONDS, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The route template the request matched, or [`UNMATCHED_ROUTE`].
pub(crate) fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned())
}

/// The method, or `OTHER` for extension methods (which would otherwise let any client add
/// label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
