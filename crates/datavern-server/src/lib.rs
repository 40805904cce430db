//! datavern's HTTP API (axum): routes, OpenAPI, authentication, RFC 9457 problem errors and
//! metrics.
//!
//! **Invariant**: the only crate that knows HTTP and JSON wire types. Handlers authenticate
//! the caller into a [`Principal`](datavern_core::access::Principal), read the purpose from
//! the `Datavern-Purpose` header, call the core's access decision and the store, and turn the
//! answer (or the error) into JSON. Every error is `application/problem+json` with a stable
//! code from [`error::Code`].
//!
//! ```no_run
//! # async fn demo(state: datavern_server::AppState) -> std::io::Result<()> {
//! use datavern_server::{Server, ServerConfig, shutdown_signal};
//!
//! let server = Server::bind(&ServerConfig::default(), state).await?;
//! tracing::info!(addr = %server.local_addr()?, "Listening");
//! server.run(shutdown_signal()).await
//! # }
//! ```
//!
//! `docs/api.md` describes the API for its users; the OpenAPI document is [`openapi`], served
//! at `/openapi.json` and committed as `openapi.json` at the repository root.

mod audited;
pub mod auth;
mod config;
pub mod error;
pub mod extract;
mod limit;
pub mod metrics;
mod middleware;
mod routes;
mod server;
mod state;
pub mod wire;

pub use self::config::{RateLimit, ServerConfig};
pub use self::limit::RATE_LIMITED_ACTION;
pub use self::middleware::{CORRELATION_ID_HEADER, REQUEST_ID_HEADER};
pub use self::routes::{AUDITOR_ROLE, DPO_ROLE, Health, openapi, openapi_json, router};
pub use self::routes::{audit_refusal, run_request, run_result};
pub use self::server::{Server, shutdown_signal};
pub use self::state::AppState;
