use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::{TestApp, problem};

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(app.get("/v1/nope?fodselsnummer=15108695088").await).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "route_not_found");
    // No instance: the path matched no route, and it is the caller's input.
    assert_eq!(body.get("instance"), None, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn oversize_body_is_a_413_problem() {
    let config = ServerConfig {
        body_limit: 1024,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let body = format!("{{\"note\": \"{}\"}}", "x".repeat(2048));
    let response = app
        .client
        .post(app.url("/v1/catalog"))
        .bearer_auth(app.key().expose_secret())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(body["instance"], "/v1/catalog");
    app.stop().await;
}

#[tokio::test]
async fn request_id_is_the_servers_and_a_sane_caller_id_is_kept_for_correlation() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "trace-abc.123");
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(id).unwrap().get_version_num(),
        7,
        "{id}"
    );
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "Kari Nordmann 15108695088")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    app.stop().await;
}

mod table {
    use axum::response::IntoResponse;
    use datavern_core::access::Denial;
    use datavern_core::catalog::Catalog;
    use datavern_core::record::{self, Mode, ProblemCode};
    use datavern_server::error::{ApiError, Code};

    use crate::app::CATALOG;

    /// The code table is the API's contract: a change here is a change for every client.
    #[test]
    fn error_code_table() {
        let mut table = String::from("code                     status title\n");
        for code in Code::ALL {
            table.push_str(&format!(
                "{:<24} {}    {}\n",
                code.as_str(),
                code.status().as_u16(),
                code.title()
            ));
        }
        table.push_str(
            "\nfield problem codes (errors[].code of invalid_record and invalid_query)\n",
        );
        for code in ProblemCode::ALL {
            table.push_str(&format!("{}\n", code.as_str()));
        }
        insta::assert_snapshot!(table);
    }

    #[tokio::test]
    async fn every_code_renders_as_problem_json() {
        for code in Code::ALL {
            let response = ApiError::new(code, "what to fix").into_response();
            assert_eq!(response.status(), code.status(), "{code}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{code}"
            );
            assert_eq!(
                response.headers().contains_key("www-authenticate"),
                code.status() == 401,
                "{code}"
            );
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                json,
                serde_json::json!({
                    "type": format!("https://datavern.no/problems/{code}"),
                    "title": code.title(),
                    "status": code.status().as_u16(),
                    "detail": "what to fix",
                    "code": code.as_str(),
                }),
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn internal_errors_never_send_their_cause() {
        let response =
            ApiError::internal(std::io::Error::other("disk /srv/secret failed")).into_response();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("x-request-id"), "{text}");
    }

    #[test]
    fn every_denial_has_an_api_code_of_its_own() {
        for denial in Denial::CODES {
            if denial == "tenant_mismatch" {
                // Answered as record_not_found: no existence oracle across tenants.
                continue;
            }
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == denial),
                "denial `{denial}` has no API code"
            );
        }
    }

    #[test]
    fn record_problems_become_field_errors_with_pointers() {
        let catalog = Catalog::from_yaml(CATALOG).unwrap();
        let innbyggere = catalog.collection("innbyggere").unwrap();
        let body = serde_json::json!({ "fodselsnummer": "15108695077", "fodselsnr": 1 });
        let problems =
            record::validate(innbyggere, body.as_object().unwrap(), Mode::Patch).unwrap_err();
        let problem = ApiError::from(problems).to_problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.code, "invalid_record");
        let errors: Vec<(&str, &str)> = problem
            .errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                // The unknown name is not repeated, even in a pointer.
                ("", "unknown_field"),
                ("/fodselsnummer", "invalid_identifier")
            ]
        );
        // The value sent is never repeated.
        assert!(
            !serde_json::to_string(&problem)
                .unwrap()
                .contains("15108695077")
        );
    }
}
