//! `GET /v1/audit`: the tenant's log for auditors, itself audited.

use reqwest::Method;
use serde_json::{Value, json};

use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::{TestApp, problem};
use datavern_testkit::on_every_backend;

#[on_every_backend]
async fn audit_log_shows_who_did_what_without_values(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let created: Value = app
        .request(
            Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&json!({
            "fodselsnummer": "15108695088",
            "fornavn": "Kari",
            "etternavn": "Nordmann",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();

    // A principal without the auditor role is refused, and the attempt is logged.
    let (status, body) = problem(
        app.as_principal(app.limited_key(), Method::GET, "/v1/audit", "")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "access_denied");

    let page: Value = app
        .get_authed(&format!("/v1/audit?record={id}"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["action"], "create");
    assert_eq!(items[0]["principal"], "dev");
    assert_eq!(items[0]["purpose"], "innbyggerregister");
    assert_eq!(items[0]["outcome"], "granted");
    assert_eq!(items[0]["subject_id"], id);
    assert!(items[0]["request_id"].is_string());
    let text = page.to_string();
    for value in ["15108695088", "Kari", "Nordmann"] {
        assert!(!text.contains(value), "{value} in the audit log: {text}");
    }

    let page: Value = app
        .get_authed("/v1/audit?principal=limited")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["action"], "audit_read");
    assert_eq!(page["items"][0]["outcome"], "denied");
    assert_eq!(page["items"][0]["reason"], "access_denied");

    for query in [
        "record=42",
        "from=yesterday",
        "limit=0",
        "colour=blue",
        "cursor=x",
    ] {
        let (status, body) = problem(app.get_authed(&format!("/v1/audit?{query}")).await).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["code"], "invalid_query", "{query}");
    }
    app.stop().await;
}
