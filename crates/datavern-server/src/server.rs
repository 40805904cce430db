//! Binding, serving and graceful shutdown.
//!
//! The accept loop is the server's own (hyper's HTTP/1.1 connection builder), not
//! `axum::serve`, which has no header-read timeout and no connection limit: a client that
//! opens thousands of connections and sends its headers slowly would otherwise hold a file
//! descriptor each until the process runs out. Here every connection must send its request
//! headers within `header_read_timeout`, and a connection over `max_connections` (or
//! `max_connections_per_ip` from one client address) is closed as soon as it is accepted.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::{counter, gauge};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::ServerConfig;
use crate::limit::{ConnectionLimits, ConnectionSlot, RateLimits};
use crate::metrics::{CONNECTIONS_OPEN, HEADER_TIMEOUTS_TOTAL};
use crate::routes;
use crate::state::AppState;

/// How often histogram samples are drained into buckets between scrapes, and idle clients
/// are forgotten by the rate limiters.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A bound HTTP server, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
    limits: RateLimits,
    connections: ConnectionLimits,
    header_read_timeout: Duration,
    shutdown_grace: Duration,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and builds the application.
    pub async fn bind(config: &ServerConfig, state: AppState) -> io::Result<Server> {
        let listener = TcpListener::bind(config.listen).await?;
        let limits = RateLimits::new(config, state.clone());
        Ok(Server {
            listener,
            router: routes::router_with_limits(state.clone(), config, limits.clone()),
            state,
            limits,
            connections: ConnectionLimits::new(config),
            header_read_timeout: config.header_read_timeout,
            shutdown_grace: config.shutdown_grace,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting connections and waits for
    /// in-flight requests to finish, at most the shutdown grace; connections still busy then
    /// are dropped.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let (stopping_tx, stopping_rx) = watch::channel(false);
        let metrics = self.state.metrics().clone();
        let limits = self.limits.clone();
        let mut upkeep_stop = stopping_rx.clone();
        let upkeep = tokio::spawn(async move {
            let mut interval = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        metrics.run_upkeep();
                        limits.forget_idle();
                    }
                    _ = upkeep_stop.wait_for(|stopping| *stopping) => break,
                }
            }
        });
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("Shutting down: no new connections, finishing requests in flight");
            let _ = stopping_tx.send(true);
        });

        // Each connection task holds a receiver; when all are gone, every connection ended.
        let (open_tx, open_rx) = watch::channel(());
        let mut stopping = stopping_rx.clone();
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_error(err).await;
                        continue;
                    }
                },
                () = stopped(&mut stopping) => break,
            };
            let slot = match self.connections.admit(peer.ip()) {
                Ok(slot) => slot,
                Err(refusal) => {
                    // Closing at once frees the descriptor; the client sees the connection
                    // reset or closed and may retry.
                    refusal.count();
                    drop(stream);
                    continue;
                }
            };
            let connection = Connection {
                stream,
                peer,
                router: self.router.clone(),
                header_read_timeout: self.header_read_timeout,
                stopping: stopping_rx.clone(),
                _slot: slot,
                _open: open_rx.clone(),
            };
            tokio::spawn(connection.serve());
        }
        drop(open_rx);
        drop(self.listener);

        let grace = self.shutdown_grace;
        if tokio::time::timeout(grace, open_tx.closed()).await.is_err() {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "Shutdown grace expired; dropping connections still in flight"
            );
        }
        upkeep.abort();
        Ok(())
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    stopping: watch::Receiver<bool>,
    _slot: ConnectionSlot,
    _open: watch::Receiver<()>,
}

impl Connection {
    /// Serves HTTP/1.1 requests until the client closes, the header-read timeout expires or
    /// shutdown finishes the request in flight.
    async fn serve(mut self) {
        gauge!(CONNECTIONS_OPEN).increment(1.0);
        let peer = self.peer;
        let router = self.router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move { Ok::<_, Infallible>(IntoOk::into_ok(router.oneshot(request).await)) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let connection = builder.serve_connection(TokioIo::new(self.stream), service);
        tokio::pin!(connection);
        let mut shutting_down = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        if err.is_timeout() {
                            counter!(HEADER_TIMEOUTS_TOTAL).increment(1);
                        } else {
                            tracing::debug!(error = %err, "Connection ended with an error");
                        }
                    }
                    break;
                }
                () = stopped(&mut self.stopping), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Completes when `stopping` turns true (or its sender is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; it is dropped here, before any await.
    let _ = stopping.wait_for(|stopping| *stopping).await.is_ok();
}

/// `Result<T, Infallible>` into `T`.
trait IntoOk<T> {
    fn into_ok(self) -> T;
}

impl<T> IntoOk<T> for Result<T, Infallible> {
    fn into_ok(self) -> T {
        match self {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }
}

/// An accept error: a connection that failed before it was accepted is skipped; running out
/// of file descriptors (or memory) is waited out, as retrying at once would spin.
async fn accept_error(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "Cannot accept a connection; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Completes on SIGTERM or SIGINT (Ctrl-C); on other platforms, on Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Received SIGINT"),
        () = terminate => tracing::info!("Received SIGTERM"),
    }
}
