//! How the HTTP server runs: where it listens, how large a body and how long a request may
//! be, how long shutdown waits.

use std::net::SocketAddr;
use std::time::Duration;

/// The HTTP server's settings. The binary fills them from its layered configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes; larger bodies get `413`.
    pub body_limit: usize,
    /// How long a request may take before it is answered `503 request_timeout`.
    pub request_timeout: Duration,
    /// After a shutdown signal, how long in-flight requests may take to finish before their
    /// connections are dropped.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    /// The default listen address: loopback only, port 8080.
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);
    /// The default body limit: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
    /// The default request timeout: 30 seconds.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default shutdown grace: 30 seconds (Kubernetes' default termination grace).
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Self::DEFAULT_LISTEN,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
        }
    }
}
