use datavern_server::ServerConfig;
use datavern_sql::Backend;

use crate::app::{TestApp, problem};

#[tokio::test]
async fn healthz_answers_without_credentials_or_database() {
    let app = TestApp::spawn().await;
    // Liveness must not depend on the database.
    app.store.close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
    app.stop().await;
}

async fn readiness_follows_the_databases(backend: Backend) {
    let app = TestApp::spawn_with(backend, ServerConfig::default()).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "status": "ready", "checks": { "data": "ok", "keys": "ok" } })
    );

    // The key store goes away: not ready, and the answer says which database.
    app.store.keys().database().close().await;
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "not_ready");
    assert_eq!(
        body["checks"],
        serde_json::json!({ "data": "ok", "keys": "unreachable" })
    );
    assert_eq!(
        body["detail"],
        "not ready: the key store database does not answer"
    );
    assert_eq!(body["instance"], "/readyz");

    app.store.data().close().await;
    let (_, body) = problem(app.get("/readyz").await).await;
    assert_eq!(
        body["detail"],
        "not ready: the data and the key store databases do not answer"
    );
    app.stop().await;
}

#[tokio::test]
async fn readiness_follows_the_databases_on_sqlite() {
    readiness_follows_the_databases(Backend::Sqlite).await;
}

#[tokio::test]
async fn readiness_follows_the_databases_on_postgres() {
    readiness_follows_the_databases(Backend::Postgres).await;
}

#[tokio::test]
async fn readiness_follows_the_databases_on_mariadb() {
    readiness_follows_the_databases(Backend::MySql).await;
}

#[tokio::test]
async fn catalog_is_served_to_authenticated_callers() {
    let app = TestApp::spawn().await;
    let response = app.get_authed("/v1/catalog").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["deployment"]["tenants"][0]["kommunenummer"], "4601");
    assert_eq!(body["deployment"]["accreditation"], "BEGRENSET");
    let innbyggere = body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "innbyggere")
        .unwrap();
    let fnr = innbyggere["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "fodselsnummer")
        .unwrap();
    assert_eq!(fnr["encrypted"], true);
    assert_eq!(fnr["searchable"], true);
    assert_eq!(fnr["identifier"], "fnr");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut app = TestApp::spawn().await;
    let body = serde_json::json!({
        "fodselsnummer": "15108695088",
        "fornavn": "Kari",
        "etternavn": "Nordmann",
    })
    .to_string();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/collections/innbyggere/records HTTP/1.1\r\nHost: test\r\n\
         Authorization: Bearer {}\r\nDatavern-Purpose: innbyggerregister\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        app.key().expose_secret(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // `100 Continue` comes when the handler starts reading the body: the request is in
    // flight.
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");

    app.signal_shutdown();
    stream.write_all(body.as_bytes()).await.unwrap();
    let response = read_head(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    // The server finishes once the request is answered.
    app.stop().await;

    async fn read_head(stream: &mut tokio::net::TcpStream) -> String {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "connection closed"
            );
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    }
}
