//! A bounded flood on loopback: slow clients are cut off by the header-read timeout,
//! connections over the limits are closed at once, `/healthz` answers after the flood, and
//! requests over a rate limit get `429 rate_limited` with `Retry-After`.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use datavern_server::{RateLimit, ServerConfig};
use datavern_sql::Backend;

use crate::app::{RateLimiting, TestApp, problem};
use datavern_testkit::on_every_backend;

/// The partial request every slow client sends: a request line and one header, never the
/// blank line that ends the headers.
const PARTIAL: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n";

/// How long a test waits for the server to close a connection before it fails. Not a
/// timing assertion: the server closes within the configured timeout, far below this.
const CLOSE_DEADLINE: Duration = Duration::from_secs(60);

async fn slow_client(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A refused connection may already be closed; the write may then fail, which is fine.
    let _ = stream.write_all(PARTIAL).await;
    stream
}

/// Reads until the server closes the connection (EOF or reset); panics if it stays open.
async fn closed_by_server(mut stream: TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(CLOSE_DEADLINE, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept a stalled connection open");
    received
}

/// The value of a counter in the exposition (all label sets summed).
async fn counter(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[on_every_backend]
async fn a_slow_header_flood_is_cut_off_and_healthz_answers(backend: Backend) {
    const FLOOD: usize = 300;
    let config = ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        max_connections: 100,
        max_connections_per_ip: None,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    let refused_before = counter(&app, "datavern_http_connections_refused_total").await;
    let timeouts_before = counter(&app, "datavern_http_header_read_timeouts_total").await;

    let mut clients = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        clients.push(slow_client(app.addr).await);
    }
    // Every slow client is closed by the server: refused over the limit, or cut off by the
    // header-read timeout. None gets an answer: its headers never ended.
    for client in clients {
        let received = closed_by_server(client).await;
        assert!(
            received.is_empty(),
            "{}",
            String::from_utf8_lossy(&received)
        );
    }

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let refused = counter(&app, "datavern_http_connections_refused_total").await - refused_before;
    let timeouts =
        counter(&app, "datavern_http_header_read_timeouts_total").await - timeouts_before;
    // Other tests share the process's counters and only add to them.
    assert!(refused + timeouts >= FLOOD as f64, "{refused} + {timeouts}");
    assert!(timeouts >= 1.0, "{timeouts}");
    app.stop().await;
}

#[on_every_backend]
async fn connections_over_the_limits_are_closed_at_once(backend: Backend) {
    // In all: four connections fit, the fifth is closed as soon as it is accepted.
    let config = ServerConfig {
        max_connections: 4,
        max_connections_per_ip: None,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    check_limit(app.addr, 4).await;
    app.stop().await;

    // Per client address: two fit, the third from the same address is closed.
    let config = ServerConfig {
        max_connections_per_ip: Some(2),
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    check_limit(app.addr, 2).await;
    app.stop().await;
}

/// `fits` slow clients are held open and served once they finish their headers; the next
/// one is closed without an answer.
async fn check_limit(addr: SocketAddr, fits: usize) {
    let mut held = Vec::new();
    for _ in 0..fits {
        held.push(slow_client(addr).await);
    }
    // The server accepts in order, so the one over the limit comes after those held.
    let over = slow_client(addr).await;
    let received = closed_by_server(over).await;
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
    for mut stream in held {
        stream
            .write_all(b"Connection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = String::from_utf8(closed_by_server(stream).await).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[on_every_backend]
async fn requests_over_the_rate_limits_get_429_with_retry_after(backend: Backend) {
    // Per client address: three at once, then one a minute.
    let config = ServerConfig {
        rate_limit_per_ip: RateLimit::new(1, 3),
        rate_limit_per_principal: None,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_limited(backend, config, RateLimiting::AsConfigured).await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    let response = app.get("/healthz").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    app.stop().await;

    // Per principal: two at once, then one a minute; another principal has its own budget.
    // The refusals of a known principal are audited, once a minute however many there are.
    let config = ServerConfig {
        rate_limit_per_ip: None,
        rate_limit_per_principal: RateLimit::new(1, 2),
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_limited(backend, config, RateLimiting::AsConfigured).await;
    let catalog = |key| app.as_principal(key, Method::GET, "/v1/catalog", "").send();
    for _ in 0..2 {
        assert_eq!(catalog(app.limited_key()).await.unwrap().status(), 200);
    }
    for _ in 0..3 {
        let response = catalog(app.limited_key()).await.unwrap();
        assert!(response.headers().contains_key("retry-after"));
        let (status, body) = problem(response).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    }
    // Unauthenticated requests count against no principal.
    assert_eq!(app.get("/healthz").await.status(), 200);
    // `dev` has its own budget; it reads the audit log.
    let page: Value = app
        .get_authed("/v1/audit?principal=limited")
        .await
        .json()
        .await
        .unwrap();
    let limited: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == datavern_server::RATE_LIMITED_ACTION)
        .collect();
    assert_eq!(limited.len(), 1, "{page}");
    assert_eq!(limited[0]["outcome"], "denied");
    assert_eq!(limited[0]["reason"], "rate_limited");
    app.stop().await;
}
