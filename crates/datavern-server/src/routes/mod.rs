//! The routes, and the OpenAPI document generated from them.
//!
//! Every route is declared once, with `#[utoipa::path]`, and registered through
//! `utoipa_axum`'s router, so the served `/openapi.json` cannot disagree with the routes.

mod audit;
mod catalog;
mod health;
mod holds;
pub(crate) mod records;
mod reports;
mod requests;
mod subjects;

pub(crate) use self::records::Meta;

use axum::Router;
use axum::routing::get;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use self::audit::AUDITOR_ROLE;
pub use self::health::Health;
pub use self::requests::{DPO_ROLE, audit_refusal, run_request, run_result};

use crate::config::ServerConfig;
use crate::error::{FieldError, Problem};
use crate::limit::RateLimits;
use crate::middleware;
use crate::state::AppState;

/// The document's static parts: info, tags, security scheme, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "datavern",
        description = "Governed data layer for Norwegian public bodies: classification, field \
            encryption, purpose limitation and audit on every record operation.\n\n\
            Authenticate with `Authorization: Bearer <API key>`. Record operations name the \
            purpose of processing in the `Datavern-Purpose` header. Errors are RFC 9457 \
            `application/problem+json` with a stable `code`; see docs/api.md.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&ApiKeyScheme),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "catalog", description = "What the deployment governs"),
        (name = "records", description = "Governed records: every operation names its \
            purpose, is checked against clearance, purpose and consent, and is audited"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "requests", description = "Data subject requests (GDPR Art. 15–22) with \
            their deadlines (Art. 12(3)), for the data protection officer (role `dpo`)"),
        (name = "subjects", description = "The data subject's consents, restrictions and \
            objections, checked on every record operation"),
        (name = "legal holds", description = "Legal holds that keep data from erasure and \
            retention (role `dpo`)"),
        (name = "reports", description = "The record of processing (Art. 30) and the \
            compliance report"),
    ),
)]
struct ApiDoc;

/// Adds the bearer scheme every authenticated route names.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("datavern API key (dvk_…)".to_owned());
        scheme.description = Some(
            "An API key from the principals file (development: DATA_DIR/dev-api-key)".to_owned(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// The routes with their OpenAPI descriptions, before state and middleware.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(catalog::catalog))
        .routes(routes!(records::create, records::list))
        .routes(routes!(records::get, records::update, records::delete))
        .routes(routes!(audit::audit))
        .routes(routes!(requests::create, requests::list))
        .routes(routes!(requests::get))
        .routes(routes!(requests::verify))
        .routes(routes!(requests::extend))
        .routes(routes!(requests::reject))
        .routes(routes!(requests::run))
        .routes(routes!(subjects::consents, subjects::record_consent))
        .routes(routes!(subjects::controls))
        .routes(routes!(holds::list, holds::place))
        .routes(routes!(holds::release))
        .routes(routes!(reports::ropa))
        .routes(routes!(reports::compliance))
}

/// The OpenAPI 3.1 document of the API, as served at `/openapi.json`.
pub fn openapi() -> OpenApiDoc {
    let (_, mut doc) = api_router().split_for_parts();
    document_openapi_route(&mut doc);
    doc
}

/// The OpenAPI document as committed in the repository: pretty JSON with a final newline.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// The whole application: routes, fallbacks, `/openapi.json` and the middleware stack.
///
/// The per-address rate limit applies only to requests that carry the client's address
/// (`ConnectInfo<SocketAddr>`), as [`Server`](crate::Server) gives them.
pub fn router(state: AppState, config: &ServerConfig) -> Router {
    let limits = RateLimits::new(config, state.clone());
    router_with_limits(state, config, limits)
}

/// [`router`] with the rate limiters the server also keeps tidy.
pub(crate) fn router_with_limits(
    state: AppState,
    config: &ServerConfig,
    limits: RateLimits,
) -> Router {
    let (router, mut doc) = api_router().split_for_parts();
    document_openapi_route(&mut doc);
    let document = std::sync::Arc::new(doc);
    let router = router
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(middleware::route_not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .with_state(state);
    middleware::apply(router, config, limits)
}

/// `/openapi.json` is served outside the generated router (it serves the generated
/// document); it is described here by hand.
fn document_openapi_route(doc: &mut OpenApiDoc) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, ResponseBuilder};
    let operation = OperationBuilder::new()
        .tag("operations")
        .operation_id(Some("openapi"))
        .summary(Some("This OpenAPI 3.1 document"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The OpenAPI document")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new()))
                        .build(),
                ),
        )
        .build();
    doc.paths.paths.insert(
        "/openapi.json".to_owned(),
        PathItem::new(HttpMethod::Get, operation),
    );
}
