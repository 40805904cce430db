use crate::app::TestApp;

#[tokio::test]
async fn metrics_label_requests_by_route_template_never_by_path() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get_authed("/v1/catalog").await.status(), 200);
    assert_eq!(app.get("/v1/catalog").await.status(), 401);
    let id = "0190b5d2-7c1e-7000-8000-00000000beef";
    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/collections/innbyggere/records/{id}"),
            "innbyggerregister",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(app.get("/v1/nowhere").await.status(), 404);

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"datavern_http_requests_total{method="GET",route="/v1/catalog",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"datavern_http_requests_total{method="GET",route="/v1/catalog",status="401"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"datavern_http_request_duration_seconds_bucket{method="GET",route="/v1/catalog",le="0.005"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains(
            r#"method="GET",route="/v1/collections/{collection}/records/{id}",status="404""#
        ),
        "{text}"
    );
    assert!(!text.contains(id), "raw path in metrics: {text}");
    assert!(text.contains("datavern_audit_lag_seconds"), "{text}");
    assert!(
        text.contains(r#"datavern_db_pool_connections{db="data",state="idle"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"datavern_db_pool_connections{db="keys",state="in_use"}"#),
        "{text}"
    );
    app.stop().await;
}
