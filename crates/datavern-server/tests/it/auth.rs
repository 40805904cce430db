use crate::app::{TestApp, problem};

#[tokio::test]
async fn missing_credentials_are_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let response = app.get("/v1/catalog").await;
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="datavern""#
    );
    let (status, body) = problem(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "credentials_missing");
    assert_eq!(body["instance"], "/v1/catalog");
    app.stop().await;
}

#[tokio::test]
async fn unknown_or_malformed_credentials_are_401_invalid_token() {
    let app = TestApp::spawn().await;
    let almost = format!("{}x", app.key().expose_secret());
    for authorization in [
        format!("Bearer {almost}"),
        "Bearer dvk_unknown".to_owned(),
        format!("Basic {}", app.key().expose_secret()),
        "Bearer".to_owned(),
        app.key().expose_secret().to_owned(),
    ] {
        let response = app
            .client
            .get(app.url("/v1/catalog"))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="datavern", error="invalid_token""#
        );
        let (status, body) = problem(response).await;
        assert_eq!(status, 401, "{authorization}");
        assert_eq!(body["code"], "credentials_invalid", "{authorization}");
        // The credential is never echoed.
        assert!(!body.to_string().contains(&almost[4..20]), "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/v1/catalog"))
        .header(
            "authorization",
            format!("bearer {}", app.limited_key().expose_secret()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}
