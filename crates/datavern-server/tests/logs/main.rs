//! Logs never contain an API key, the query string or a header value.
//!
//! This test is its own binary on purpose: it captures the server's logs with a subscriber set as
//! the thread's default, and tests running in parallel threads of the same process can leave a
//! callsite with a cached "never" interest (a race of scoped dispatchers), so that the capture
//! misses lines. Alone in its process, nothing races it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code,
    unused_macros
)]

#[path = "../it/app.rs"]
mod app;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use app::TestApp;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// One thread: the subscriber set as this thread's default sees the server's tasks too.
#[tokio::test(flavor = "current_thread")]
async fn logs_never_contain_the_api_key_or_request_values() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    let key = app.key().expose_secret().to_owned();
    let fnr = "15108695088";
    let requests = [
        app.client
            .get(app.url(&format!("/v1/catalog?fodselsnummer={fnr}")))
            .bearer_auth(&key),
        app.client
            .get(app.url("/v1/catalog"))
            .bearer_auth(format!("{key}tail")),
        // A request id and a correlation id shaped like a national id are the client's input:
        // dropped, so they reach neither the logs nor the audit log.
        app.client
            .get(app.url("/v1/catalog"))
            .bearer_auth(&key)
            .header("x-request-id", "CANARY13097248022")
            .header("x-correlation-id", "CANARY13097248022"),
        app.client
            .get(app.url(&format!("/v1/collections/innbyggere/records/{fnr}")))
            .bearer_auth(&key)
            .header("datavern-purpose", fnr),
        app.client
            .post(app.url("/v1/catalog"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(format!("{{\"fodselsnummer\": \"{fnr}\"}}")),
        // The governed path: create, lookup, a refused write with an invalid number.
        app.request(
            reqwest::Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&serde_json::json!({
            "fodselsnummer": fnr,
            "fornavn": "Gudbrand",
            "etternavn": "Dalsrud",
            "telefon": "+4791234567",
        })),
        app.request(
            reqwest::Method::GET,
            &format!("/v1/collections/innbyggere/records?fodselsnummer={fnr}"),
            "innbyggerregister",
        ),
        app.request(
            reqwest::Method::POST,
            "/v1/collections/innbyggere/records",
            "innbyggerregister",
        )
        .json(&serde_json::json!({
            "fodselsnummer": "15108695077",
            "fornavn": "Gudbrand",
            "etternavn": "Dalsrud",
        })),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 401, 200, 400, 405, 201, 200, 422]);
    app.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works: the request lines are there, with their route templates.
    assert!(logs.contains("Request answered"), "{logs}");
    assert!(logs.contains("route=/v1/catalog"), "{logs}");
    assert!(logs.contains("principal=dev"), "{logs}");
    assert!(!logs.contains(&key[4..]), "API key in logs:\n{logs}");
    for value in [
        fnr,
        "15108695077",
        "Gudbrand",
        "Dalsrud",
        "91234567",
        "13097248022",
    ] {
        assert!(
            !logs.contains(value),
            "personal data in logs: {value}\n{logs}"
        );
    }
}
