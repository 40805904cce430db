//! `/v1/legal-holds` and `/v1/reports`: holds and the compliance report for the DPO only,
//! the record of processing for anyone authenticated, as JSON or Markdown.

use reqwest::Method;
use serde_json::{Value, json};

use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::{TestApp, problem};
use datavern_testkit::on_every_backend;

#[on_every_backend]
async fn legal_holds_and_compliance_report_are_for_the_dpo(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let dpo = |method: Method, path: &str| app.as_principal(app.dpo_key(), method, path, "");

    // Anyone else is refused, whatever their other roles.
    for (method, path) in [
        (Method::GET, "/v1/legal-holds"),
        (Method::GET, "/v1/reports/compliance"),
    ] {
        let (status, body) = problem(app.request(method, path, "").send().await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("access_denied"))
        );
    }

    let placed = dpo(Method::POST, "/v1/legal-holds")
        .json(&json!({"scope": "collection", "collection": "saker", "reason": "Tilsynssak 2026/3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    let hold: Value = placed.json().await.unwrap();
    assert_eq!(hold["scope"], "collection");
    assert_eq!(hold["placed_by"], "dpo");

    // Bad input is a 4xx that says what to fix.
    for (body, code) in [
        (
            json!({"scope": "record", "collection": "saker", "reason": "x"}),
            "invalid_body",
        ),
        (
            json!({"scope": "collection", "collection": "nope", "reason": "x"}),
            "collection_unknown",
        ),
        (
            json!({"scope": "collection", "collection": "saker", "reason": " "}),
            "hold_reason_invalid",
        ),
        (json!({"scope": "planet", "reason": "x"}), "invalid_body"),
    ] {
        let (status, problem) = problem(
            dpo(Method::POST, "/v1/legal-holds")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(problem["code"], code, "{body}: {problem}");
        assert!((400..500).contains(&status));
    }

    let list: Value = dpo(Method::GET, "/v1/legal-holds")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let report: Value = dpo(Method::GET, "/v1/reports/compliance")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["tenant"], "4601");
    assert_eq!(report["legal_holds"].as_array().unwrap().len(), 1);
    assert!(report["past_retention"].as_array().unwrap().is_empty());
    assert!(report["unencrypted_personal_fields"].is_array());
    // Filled in and tested on a moved clock in rights.rs.
    assert!(report["requests"]["overdue"].is_array() && report["consent_coverage"].is_array());

    let id = hold["id"].as_str().unwrap();
    let path = format!("/v1/legal-holds/{id}/release");
    let released: Value = dpo(Method::POST, &path)
        .json(&json!({"reason": "Saken er avsluttet"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(released["released_by"], "dpo");
    let (status, again) = problem(
        dpo(Method::POST, &path)
            .json(&json!({"reason": "igjen"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("hold_already_released"))
    );
    let missing = format!("/v1/legal-holds/{}/release", uuid::Uuid::now_v7());
    let (status, _) = problem(
        dpo(Method::POST, &missing)
            .json(&json!({"reason": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn ropa_is_served_as_json_and_markdown() {
    let app = TestApp::spawn().await;
    let json: Value = app
        .get_authed("/v1/reports/ropa")
        .await
        .json()
        .await
        .unwrap();
    assert!(json["purposes"].as_array().is_some_and(|p| !p.is_empty()));
    assert!(json["retention"].is_array());
    for response in [
        app.get_authed("/v1/reports/ropa?format=markdown").await,
        app.request(Method::GET, "/v1/reports/ropa", "")
            .header("accept", "text/markdown")
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/markdown")
        );
        let text = response.text().await.unwrap();
        assert!(
            text.starts_with("# Record of processing activities"),
            "{text}"
        );
    }
    let (status, body) = problem(app.get_authed("/v1/reports/ropa?format=pdf").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
    let unauthenticated = app.get("/v1/reports/ropa").await;
    assert_eq!(unauthenticated.status(), 401);
    app.stop().await;
}
