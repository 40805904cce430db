//! `GET /v1/catalog`: what this deployment governs.

use axum::Json;
use axum::extract::State;

use crate::auth::Authenticated;
use crate::error::Problem;
use crate::state::AppState;
use crate::wire::catalog::CatalogView;

/// The catalog: tenants, purposes of processing, collections and their fields, with
/// classification, encryption and retention. Any authenticated principal may read it; it
/// holds no personal data.
#[utoipa::path(
    get,
    path = "/v1/catalog",
    tag = "catalog",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The catalog", body = CatalogView),
        (status = 401, description = "Missing or unknown API key", body = Problem,
            content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn catalog(
    State(state): State<AppState>,
    Authenticated(_principal): Authenticated,
) -> Json<CatalogView> {
    Json(CatalogView::from(state.catalog().summary()))
}
