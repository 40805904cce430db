//! Extractors whose rejections are problem JSON: the JSON body, the purpose header and the
//! role a route needs.
//!
//! axum's own `Json` extractor answers bad bodies in plain text; [`ApiJson`] answers every
//! failure with the API's problem codes, and its messages never repeat the body's values.
//! `Holding` is the one role check of the routes (the data protection officer's requests,
//! legal holds and compliance report; the auditor's log and controls): every refusal is
//! audited before it is answered.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use datavern_core::access::Principal;
use datavern_core::dsr::RequestEvent;
use datavern_store::RequestMeta;
use datavern_store::audit::AuditAction;
use serde::de::DeserializeOwned;

use crate::audited;
use crate::auth::Authenticated;
use crate::error::{ApiError, Code};
use crate::routes::records::Meta;
use crate::routes::{AUDITOR_ROLE, DPO_ROLE};
use crate::state::AppState;

/// The header carrying the purpose of processing.
pub const PURPOSE_HEADER: &str = "datavern-purpose";

/// A JSON request body, deserialized into `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// The `Datavern-Purpose` header, as sent (`None` when absent). The access decision says
/// whether it is missing, undeclared, not allowed or not served.
#[derive(Debug, Clone, Default)]
pub struct PurposeHeader(pub Option<String>);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                // axum reports a body over the limit (ours, from the body limit layer) as 413.
                let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
                if too_large {
                    ApiError::new(
                        Code::PayloadTooLarge,
                        "the request body is larger than this server accepts (server.body_limit)",
                    )
                } else {
                    ApiError::new(Code::BadRequest, "the request body could not be read")
                        .with_source(rejection)
                }
            })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| {
            // Syntax errors name a position and what was expected, never the input.
            ApiError::new(
                Code::MalformedJson,
                format!(
                    "the body is not valid JSON: {} at line {} column {}",
                    syntax_reason(&err),
                    err.line(),
                    err.column()
                ),
            )
        })?;
        let shape = shape_of(&value);
        T::deserialize(value).map(ApiJson).map_err(|_| {
            // serde's data errors can quote the value; say only what shape arrived.
            ApiError::new(
                Code::InvalidBody,
                format!(
                    "the body is JSON of the wrong shape ({shape}); see the request schema in \
                     /openapi.json"
                ),
            )
        })
    }
}

/// The caller, authenticated and holding the role `R` needs, with the request's meta: the one
/// role check of the routes. Extracted before the path and the body, so a principal without
/// the role learns nothing about their rules. A refusal is recorded in the audit log (the
/// route's refusal action, outcome `denied`, reason `access_denied`) before it is answered;
/// if the audit log cannot be written, that failure is the answer.
pub(crate) struct Holding<R>(
    pub(crate) Principal,
    pub(crate) RequestMeta,
    pub(crate) PhantomData<R>,
);

/// A role a group of routes needs, and how a refusal is recorded and worded per route.
pub(crate) trait NeededRole {
    /// The role's name, as principals carry it.
    const ROLE: &'static str;

    /// The area of the route template `route`.
    fn area(route: &str) -> RoleArea;
}

/// What a route needing a role is about: the audit action of a refusal and the words of the
/// answer ("… needs the role `x`").
pub(crate) struct RoleArea {
    refused: AuditAction,
    what: &'static str,
}

/// The data protection officer's routes: requests, legal holds, the compliance report.
pub(crate) enum Dpo {}

/// The auditor's routes: the audit log and a subject's controls.
pub(crate) enum Auditor {}

impl NeededRole for Dpo {
    const ROLE: &'static str = DPO_ROLE;

    fn area(route: &str) -> RoleArea {
        let (refused, what) = if route.starts_with("/v1/legal-holds") {
            (AuditAction::HoldRefused, "legal holds need")
        } else if route.starts_with("/v1/reports") {
            (AuditAction::ReportRefused, "the compliance report needs")
        } else if route.starts_with("/v1/requests") {
            (
                AuditAction::Request(RequestEvent::Refused),
                "data subject requests need",
            )
        } else {
            (AuditAction::RoleRefused, "this route needs")
        };
        RoleArea { refused, what }
    }
}

impl NeededRole for Auditor {
    const ROLE: &'static str = AUDITOR_ROLE;

    fn area(route: &str) -> RoleArea {
        let (refused, what) = if route.starts_with("/v1/audit") {
            (AuditAction::AuditRead, "reading the audit log needs")
        } else if route.ends_with("/controls") {
            (
                AuditAction::ControlsRead,
                "reading a subject's controls needs",
            )
        } else {
            (AuditAction::RoleRefused, "this route needs")
        };
        RoleArea { refused, what }
    }
}

impl<R: NeededRole> FromRequestParts<AppState> for Holding<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        let Ok(Meta(meta)) = Meta::from_request_parts(parts, state).await;
        if principal.has_role(R::ROLE) {
            return Ok(Holding(principal, meta, PhantomData));
        }
        let area = R::area(
            parts
                .extensions
                .get::<MatchedPath>()
                .map_or("", MatchedPath::as_str),
        );
        let refusal = ApiError::new(
            Code::AccessDenied,
            format!("{} the role `{}`", area.what, R::ROLE),
        );
        Err(audited::refusal(state, &principal, &meta, area.refused, refusal).await)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PurposeHeader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PurposeHeader(parts.headers.get(PURPOSE_HEADER).map(|v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        })))
    }
}

impl PurposeHeader {
    /// The purpose as sent, for the access decision.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(mime) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

fn syntax_reason(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Eof => "unexpected end of input",
        _ => "unexpected character or token",
    }
}

fn shape_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object with unexpected members",
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use serde_json::{Map, Value};

    use super::*;

    async fn extract(
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut builder = axum::http::Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        let request = builder.body(Body::from(body.to_owned())).unwrap();
        ApiJson::<Map<String, Value>>::from_request(request, &())
            .await
            .map(|ApiJson(map)| map)
    }

    #[tokio::test]
    async fn bodies_are_problems_with_codes_that_never_repeat_the_input() {
        let check = async |content_type, body: &str, code: Code, detail: &str| {
            let err = extract(content_type, body).await.unwrap_err();
            assert_eq!(err.code(), code, "{body}");
            assert_eq!(err.detail(), detail, "{body}");
            assert!(!err.detail().contains("15108695088"));
        };
        check(
            Some("application/json"),
            r#"{"fodselsnummer": "15108695088""#,
            Code::MalformedJson,
            "the body is not valid JSON: unexpected end of input at line 1 column 31",
        )
        .await;
        check(
            Some("application/json"),
            r#"{"fodselsnummer": 15108695088x}"#,
            Code::MalformedJson,
            "the body is not valid JSON: unexpected character or token at line 1 column 30",
        )
        .await;
        check(
            Some("application/json"),
            r#"["15108695088"]"#,
            Code::InvalidBody,
            "the body is JSON of the wrong shape (an array); see the request schema in \
             /openapi.json",
        )
        .await;
        check(
            Some("text/plain"),
            "{}",
            Code::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        )
        .await;
        check(
            None,
            "{}",
            Code::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        )
        .await;
    }

    #[tokio::test]
    async fn json_media_types_with_parameters_and_suffixes_are_accepted() {
        for content_type in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(
                extract(Some(content_type), "{}").await.is_ok(),
                "{content_type}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_payload_too_large() {
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::post(|ApiJson(_): ApiJson<Map<String, Value>>| async { "ok" }),
            )
            .layer(DefaultBodyLimit::max(8));
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"a": "0123456789"}"#))
            .unwrap();
        let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[tokio::test]
    async fn purpose_header_is_passed_as_sent() {
        let request = axum::http::Request::builder()
            .header(PURPOSE_HEADER, "innbyggerregister")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let purpose = PurposeHeader::from_request_parts(&mut parts, &())
            .await
            .unwrap();
        assert_eq!(purpose.as_deref(), Some("innbyggerregister"));
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        let purpose = PurposeHeader::from_request_parts(&mut parts, &())
            .await
            .unwrap();
        assert_eq!(purpose.as_deref(), None);
    }
}
