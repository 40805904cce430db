//! The middleware stack every route runs behind: request ids, tracing, metrics, problem
//! completion, panic catching, rate limits, the request timeout and the body limit.
//!
//! Outermost first:
//!
//! ```text
//! request id (x-request-id: always a new UUIDv7 made here, echoed in the response; a
//!             caller's x-correlation-id / x-request-id kept only as a validated
//!             correlation id, in logs and the response, never in the audit log)
//!  └ trace span: method, route template, request id, correlation id, principal, status,
//!    latency
//!     └ metrics: datavern_http_requests_total, datavern_http_request_duration_seconds
//!        └ problem completion: `instance` filled in; any bare 4xx/5xx made problem JSON
//!           └ catch panic → 500 problem
//!              └ rate limits (per client address, per principal) → 429 problem
//!                 └ request timeout → 503 problem
//!                    └ body limit → 413 problem
//!                       └ route
//! ```
//!
//! Spans and log lines carry the method, the route *template*, the status and the latency;
//! never the path requested, the query string, a header value or a body.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use tracing::field::Empty;
use uuid::Uuid;

use crate::config::ServerConfig;
use crate::error::{ApiError, Code, PROBLEM_JSON, Problem, problem_response};
use crate::limit::{self, RateLimits};
use crate::metrics::{self, UNMATCHED_ROUTE};

/// The request id header: the server's id of the request, in the response and in every
/// audit entry and log line of the request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The correlation id header: a caller's own id for the request, kept (in logs and the
/// response, never in the audit log) only if it is 1 to 64 letters, digits, `-`, `_` and
/// `.` with no run of more than 5 digits, so that it cannot carry a national id, a birth
/// date, a phone or an account number.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// The longest correlation id kept.
const MAX_CORRELATION_ID_LEN: usize = 64;
/// The longest run of digits a correlation id may hold (a birth date `DDMMYY` has 6).
const MAX_CORRELATION_DIGIT_RUN: usize = 5;

/// Wraps `router` (routes and fallbacks already added) in the middleware stack.
pub(crate) fn apply(router: Router, config: &ServerConfig, limits: RateLimits) -> Router {
    let stack = ServiceBuilder::new()
        .layer(middleware::from_fn(assign_request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                // 5xx causes are logged where they are known (`ApiError`); once is enough.
                .on_failure(()),
        )
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn(complete_problem))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(limits, limit::rate_limit))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            timeout,
        ))
        .layer(RequestBodyLimitLayer::new(config.body_limit));
    router.layer(stack)
}

/// Fallback for paths no route matches.
pub(crate) async fn route_not_found() -> ApiError {
    ApiError::new(
        Code::RouteNotFound,
        "there is no such route; GET /openapi.json lists the API",
    )
}

/// Fallback for a route asked with a method it does not have.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        "this route does not support this method; GET /openapi.json lists the methods of each route",
    )
}

/// Gives the request a new id (UUIDv7, so ids sort by time like record ids) whatever the
/// caller sent: a caller's `x-request-id` would otherwise enter the permanent audit log,
/// where a value shaped like a national id could never be erased. A caller's
/// `x-correlation-id` (or, without one, its `x-request-id`) is kept as the correlation id if
/// [`correlation_id`] accepts it, and dropped otherwise; both go back in the response.
async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    let correlation = headers
        .get(CORRELATION_ID_HEADER)
        .or_else(|| headers.get(REQUEST_ID_HEADER))
        .and_then(correlation_id);
    headers.remove(CORRELATION_ID_HEADER);
    headers.remove(REQUEST_ID_HEADER);
    let id = HeaderValue::from_str(&Uuid::now_v7().to_string()).ok();
    if let Some(id) = &id {
        headers.insert(REQUEST_ID_HEADER, id.clone());
    }
    if let Some(correlation) = &correlation {
        headers.insert(CORRELATION_ID_HEADER, correlation.clone());
    }
    let mut response = next.run(request).await;
    if let Some(id) = id {
        response.headers_mut().insert(REQUEST_ID_HEADER, id);
    }
    if let Some(correlation) = correlation {
        response
            .headers_mut()
            .insert(CORRELATION_ID_HEADER, correlation);
    }
    response
}

/// A caller's correlation id, if it is 1 to 64 of `A-Z a-z 0-9 - _ .` with no run of more
/// than 5 digits.
fn correlation_id(value: &HeaderValue) -> Option<HeaderValue> {
    let bytes = value.as_bytes();
    let charset = !bytes.is_empty()
        && bytes.len() <= MAX_CORRELATION_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let longest_digit_run = bytes
        .split(|b| !b.is_ascii_digit())
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    (charset && longest_digit_run <= MAX_CORRELATION_DIGIT_RUN).then(|| value.clone())
}

fn make_span(request: &axum::http::Request<axum::body::Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let correlation_id = request
        .headers()
        .get(CORRELATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
        correlation_id = %correlation_id,
        principal = Empty,
        status = Empty,
    )
}

fn on_response(response: &Response, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("status", status);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(status, latency_ms, "Request answered");
    } else {
        tracing::info!(status, latency_ms, "Request answered");
    }
}

/// Fills in the problem's `instance` and turns any bare error response (from a layer or axum
/// itself) into problem JSON, so that every error a client sees has the same shape. The
/// instance is the route template the request matched
/// (`/v1/collections/{collection}/records/{id}`), never the path sent: a path segment is the
/// caller's input (a record id, a collection name, or a national id sent by mistake). A
/// request that matched no route has no instance.
async fn complete_problem(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    let response = next.run(request).await;
    let problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None if is_bare_error(&response) => match bare_error_code(response.status()) {
            Some(code) => ApiError::new(code, bare_error_detail(code)).to_problem(),
            None => return response,
        },
        None => return response,
    };
    let (parts, _body) = response.into_parts();
    let mut completed = problem_response(Problem {
        instance: route,
        ..problem
    });
    // Keep the headers the inner layers set (request id, Retry-After, …).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            completed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    completed
}

fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    (status.is_client_error() || status.is_server_error()) && !is_problem
}

fn bare_error_code(status: StatusCode) -> Option<Code> {
    Some(match status {
        StatusCode::BAD_REQUEST => Code::BadRequest,
        StatusCode::UNAUTHORIZED => Code::CredentialsMissing,
        StatusCode::FORBIDDEN => Code::AccessDenied,
        StatusCode::NOT_FOUND => Code::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => Code::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidBody,
        StatusCode::INTERNAL_SERVER_ERROR => Code::InternalError,
        _ => return None,
    })
}

fn bare_error_detail(code: Code) -> &'static str {
    match code {
        Code::PayloadTooLarge => {
            "the request body is larger than this server accepts (server.body_limit)"
        }
        Code::UnsupportedMediaType => "send the body as JSON with `Content-Type: application/json`",
        Code::RouteNotFound => "there is no such route; GET /openapi.json lists the API",
        Code::MethodNotAllowed => "this route does not support this method",
        Code::RequestTimeout => "the request did not complete in time; try again",
        Code::InternalError => "an internal error occurred; it has been logged",
        _ => "the request could not be processed",
    }
}

/// A panic in a handler: logged with its message, answered with a generic 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal(Panicked(message)).into_response()
}

#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
struct Panicked(String);

/// Answers `503 request_timeout` when the request takes longer than the timeout. The
/// handler's future is dropped, which rolls back any open transaction: no partial writes.
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            Code::RequestTimeout,
            format!(
                "the request did not complete within {} s; try again, or ask for less (a \
                 smaller page)",
                limit.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, Problem) {
        let request = axum::http::Request::builder()
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    #[test]
    fn correlation_ids_that_could_hold_a_national_id_are_dropped() {
        let check = |value: &str, kept: bool| {
            let header = HeaderValue::from_str(value).unwrap();
            assert_eq!(correlation_id(&header).is_some(), kept, "{value}");
        };
        check("CANARY13097248022", false);
        check("13097248022", false);
        check("ord-151086", false);
        check("0190b5d2-7c1e-7a00-8b00-0a0b0c0d0e01", true);
        // A UUID whose digits happen to run long is dropped too: the rule is about digits.
        check("0190b5d2-7c1e-7000-8000-000000000001", false);
        check("trace-12345-abc", true);
        check("a b", false);
        check(&"a".repeat(65), false);
        check("", false);
    }

    fn app(config: &ServerConfig) -> Router {
        let router = Router::new()
            .route("/pending", get(std::future::pending::<&'static str>))
            .route(
                "/panic/{id}",
                get(|| async { panic!("boom") as &'static str }),
            )
            .route("/bare", get(|| async { StatusCode::FORBIDDEN }))
            .fallback(route_not_found);
        apply(router, config, RateLimits::without_state(config))
    }

    #[tokio::test]
    async fn a_request_over_the_timeout_is_a_503_problem() {
        let config = ServerConfig {
            request_timeout: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let (status, headers, problem) = call(app(&config), "/pending?x=1").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(headers.contains_key(REQUEST_ID_HEADER));
        assert_eq!(problem.code, "request_timeout");
        assert_eq!(problem.instance.as_deref(), Some("/pending"));
        assert!(
            problem.detail.contains("within 0.02 s"),
            "{}",
            problem.detail
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_generic_500_problem() {
        let (status, _, problem) = call(app(&ServerConfig::default()), "/panic/7").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem.code, "internal_error");
        assert!(!problem.detail.contains("boom"), "{}", problem.detail);
        assert_eq!(problem.instance.as_deref(), Some("/panic/{id}"));
    }

    #[tokio::test]
    async fn bare_error_responses_become_problems() {
        let (status, _, problem) = call(app(&ServerConfig::default()), "/bare").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(problem.code, "access_denied");
        let (status, _, problem) = call(app(&ServerConfig::default()), "/nowhere").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(problem.code, "route_not_found");
        assert_eq!(problem.instance, None);
    }
}
