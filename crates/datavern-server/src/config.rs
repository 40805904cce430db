//! How the HTTP server runs: where it listens, how large a body and how long a request may
//! be, how long shutdown waits, and the limits that keep one client from exhausting it
//! (header-read timeout, connection limits, rate limits).

use std::net::SocketAddr;
use std::num::NonZeroU32;
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
    /// How long a client may take to send a request's line and headers, counted from when
    /// the server starts reading them (on a new connection, and again after each response on
    /// a kept-alive one); then the connection is closed. This is also the idle timeout of a
    /// kept-alive connection.
    pub header_read_timeout: Duration,
    /// The most connections open at once; a connection over the limit is closed as soon as
    /// it is accepted. Keep it below the process's file descriptor limit (`ulimit -n`), with
    /// room for the database pools and files.
    pub max_connections: usize,
    /// The most connections open at once from one client address (an IPv6 address counts
    /// by its /64 prefix); `None` for no per-address limit (behind a reverse proxy, where
    /// every connection comes from the proxy).
    pub max_connections_per_ip: Option<usize>,
    /// Requests per client address (IPv6: per /64); `None` for no limit.
    pub rate_limit_per_ip: Option<RateLimit>,
    /// Requests per authenticated principal; `None` for no limit.
    pub rate_limit_per_principal: Option<RateLimit>,
}

/// A rate limit: a sustained rate and the burst allowed above it (GCRA: a client that has
/// been quiet may send `burst` requests at once, then one every `60 s / per_minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute, sustained.
    pub per_minute: NonZeroU32,
    /// Requests allowed at once after a quiet period.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_minute` sustained with `burst`; `None` if either is 0 (no limit).
    pub fn new(per_minute: u32, burst: u32) -> Option<RateLimit> {
        Some(RateLimit {
            per_minute: NonZeroU32::new(per_minute)?,
            burst: NonZeroU32::new(burst)?,
        })
    }
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
    /// The default header-read timeout: 10 seconds.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default connection limit: 768, below the common soft file descriptor limit of
    /// 1024 with room for the database pools, the databases' files and logs.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 768;
    /// The default per-address connection limit: 128.
    pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 128;
    /// The default per-address rate: 6,000 requests a minute (100 a second), bursts of 1,000.
    pub const DEFAULT_RATE_LIMIT_PER_IP: RateLimit = RateLimit {
        per_minute: NonZeroU32::new(6_000).expect("non-zero"),
        burst: NonZeroU32::new(1_000).expect("non-zero"),
    };
    /// The default per-principal rate: 3,000 requests a minute (50 a second), bursts of 500.
    pub const DEFAULT_RATE_LIMIT_PER_PRINCIPAL: RateLimit = RateLimit {
        per_minute: NonZeroU32::new(3_000).expect("non-zero"),
        burst: NonZeroU32::new(500).expect("non-zero"),
    };
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Self::DEFAULT_LISTEN,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: Some(Self::DEFAULT_MAX_CONNECTIONS_PER_IP),
            rate_limit_per_ip: Some(Self::DEFAULT_RATE_LIMIT_PER_IP),
            rate_limit_per_principal: Some(Self::DEFAULT_RATE_LIMIT_PER_PRINCIPAL),
        }
    }
}
