//! Submitted values never come back: not in error text (names of unknown fields, query
//! parameters, collections and purposes, a consent's action or channel), and not in the
//! permanent audit log, where a client-chosen request id shaped like a fødselsnummer used to
//! sit in every entry of its request.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::TestApp;
use datavern_testkit::on_every_backend;

/// Shaped like a fødselsnummer (a D-nummer), inside names the API accepts as identifiers.
const CANARY_DIGITS: &str = "13097248022";
const CANARY: &str = "canary13097248022";

#[on_every_backend]
async fn error_text_never_repeats_submitted_names_or_values(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let person: Value = app
        .request(
            Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&json!({"fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let consents = format!("/v1/subjects/{}/consents", person["id"].as_str().unwrap());
    let records = "/v1/collections/innbyggere/records";

    let cases: Vec<(&str, u16, reqwest::RequestBuilder)> = vec![
        (
            "consent action",
            422,
            app.request(Method::POST, &consents, "nyhetsbrev")
                .json(&json!({"purpose": "nyhetsbrev", "action": CANARY, "channel": "web"})),
        ),
        (
            "consent channel",
            422,
            app.request(Method::POST, &consents, "nyhetsbrev")
                .json(&json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": CANARY})),
        ),
        (
            "unknown member of a consent body",
            422,
            app.request(Method::POST, &consents, "nyhetsbrev")
                .json(&json!({"purpose": "nyhetsbrev", "action": "withdraw", "channel": "web", CANARY: 1})),
        ),
        (
            "consent purpose header",
            400,
            app.request(Method::POST, &consents, CANARY)
                .json(&json!({"purpose": CANARY, "action": "withdraw", "channel": "web"})),
        ),
        (
            "unknown field in a record body",
            422,
            app.request(Method::POST, records, "innbyggerregister")
                .json(&json!({"fornavn": "Kari", "etternavn": "Nordmann", CANARY: "x"})),
        ),
        (
            "reserved name in a record body",
            422,
            app.request(Method::POST, records, "innbyggerregister")
                .json(&json!({"fornavn": "Kari", "etternavn": "Nordmann", format!("_{CANARY}"): "x"})),
        ),
        (
            "unknown query parameter of a record list (a lookup field)",
            400,
            app.request(
                Method::GET,
                &format!("{records}?{CANARY}=1"),
                "innbyggerregister",
            ),
        ),
        (
            "unknown query parameter of the audit log",
            400,
            app.request(Method::GET, &format!("/v1/audit?{CANARY}=1"), ""),
        ),
        (
            "unknown query parameter of the request register",
            400,
            app.as_principal(
                app.dpo_key(),
                Method::GET,
                &format!("/v1/requests?state=received&{CANARY}=1"),
                "",
            ),
        ),
        (
            "unknown collection",
            404,
            app.request(
                Method::GET,
                &format!("/v1/collections/{CANARY}/records"),
                "innbyggerregister",
            ),
        ),
        (
            "unknown purpose",
            400,
            app.request(Method::GET, records, CANARY),
        ),
        (
            "unknown collection of a legal hold",
            404,
            app.as_principal(app.dpo_key(), Method::POST, "/v1/legal-holds", "")
                .json(&json!({"scope": "collection", "collection": CANARY, "reason": "Tilsyn"})),
        ),
        (
            "unknown scope of a legal hold",
            422,
            app.as_principal(app.dpo_key(), Method::POST, "/v1/legal-holds", "")
                .json(&json!({"scope": CANARY, "collection": "saker", "reason": "Tilsyn"})),
        ),
        (
            "unknown member of a legal hold body",
            422,
            app.as_principal(app.dpo_key(), Method::POST, "/v1/legal-holds", "")
                .json(&json!({"scope": "collection", "collection": "saker", "reason": "Tilsyn", CANARY: true})),
        ),
    ];
    for (name, status, request) in cases {
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{name}: {text}");
        assert!(
            !text.contains(CANARY_DIGITS),
            "{name}: the response repeats the submitted value: {text}"
        );
    }

    // Nor does the audit log hold any of it.
    let log = audit_log(&app).await;
    assert!(!log.contains(CANARY_DIGITS), "{log}");
    app.stop().await;
}

#[on_every_backend]
async fn a_client_request_id_never_reaches_the_audit_log(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let canary = "CANARY13097248022";
    let created = app
        .request(
            Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .header("x-request-id", canary)
        .json(&json!({"fodselsnummer": "15108695088", "fornavn": "Kari", "etternavn": "Nordmann"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7, "{id}");
    assert!(!created.headers().contains_key("x-correlation-id"));
    let person: Value = created.json().await.unwrap();
    let record = format!(
        "/v1/collections/innbyggere/records/{}",
        person["id"].as_str().unwrap()
    );

    // A read, a denial, a refusal of a role: with the canary as request and correlation id.
    for (key, path, purpose) in [
        (app.key(), record.as_str(), "innbyggerregister"),
        (app.limited_key(), record.as_str(), "innbyggerregister"),
        (app.key(), "/v1/legal-holds", ""),
    ] {
        let response = app
            .as_principal(key, Method::GET, path, purpose)
            .header("x-request-id", canary)
            .header("x-correlation-id", canary)
            .send()
            .await
            .unwrap();
        let server_id = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(server_id, canary);
        assert!(Uuid::parse_str(server_id).is_ok(), "{server_id}");
        assert!(!response.headers().contains_key("x-correlation-id"));
    }

    // A correlation id that cannot hold a national id is kept for the caller (and the logs),
    // while the request id is still the server's.
    let response = app
        .request(Method::GET, &record, "innbyggerregister")
        .header("x-correlation-id", "order-abc-12345")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "order-abc-12345");
    assert_ne!(response.headers()["x-request-id"], "order-abc-12345");

    let log = audit_log(&app).await;
    assert!(
        log.contains(&id),
        "the server's request id is in the log: {log}"
    );
    assert!(!log.contains("13097248022"), "{log}");
    assert!(!log.contains("order-abc"), "{log}");
    app.stop().await;
}

/// Every entry of the tenant's audit log, as JSON text.
async fn audit_log(app: &TestApp) -> String {
    let mut text = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/audit?limit=500".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = app.get_authed(&path).await.json().await.unwrap();
        text.push_str(&page["items"].to_string());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return text,
        }
    }
}
