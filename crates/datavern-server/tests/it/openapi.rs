//! The committed `openapi.json` must be what the code generates.

use std::path::PathBuf;

use crate::app::TestApp;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}

#[test]
fn committed_openapi_json_matches_the_generated_document() {
    let generated = datavern_server::openapi_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json at the repository root differs from the generated document; \
         regenerate it with `datavern openapi > openapi.json` (or \
         `UPDATE_OPENAPI=1 cargo test -p datavern-server openapi`) and commit it"
    );
}

#[test]
fn document_is_openapi_3_1_with_the_bearer_scheme() {
    let doc: serde_json::Value = serde_json::from_str(&datavern_server::openapi_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/catalog",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&datavern_server::openapi_json()).unwrap();
    assert_eq!(served, generated);
    app.stop().await;
}
