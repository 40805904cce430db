//! Binding, serving and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::ServerConfig;
use crate::routes;
use crate::state::AppState;

/// How often histogram samples are drained into buckets between scrapes.
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A bound HTTP server, ready to run.
pub struct Server {
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown_grace: Duration,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and builds the application.
    pub async fn bind(config: &ServerConfig, state: AppState) -> io::Result<Server> {
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server {
            listener,
            router: routes::router(state.clone(), config),
            state,
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
        let (stopping_tx, mut stopping_rx) = watch::channel(false);
        let metrics = self.state.metrics().clone();
        let mut upkeep_stop = stopping_rx.clone();
        let upkeep = tokio::spawn(async move {
            let mut interval = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = interval.tick() => metrics.run_upkeep(),
                    _ = upkeep_stop.wait_for(|stopping| *stopping) => break,
                }
            }
        });

        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("Shutting down: no new connections, finishing requests in flight");
            let _ = stopping_tx.send(true);
        });
        let grace = self.shutdown_grace;
        let result = tokio::select! {
            result = serve => result,
            () = async {
                let _ = stopping_rx.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(
                    grace_secs = grace.as_secs_f64(),
                    "Shutdown grace expired; dropping connections still in flight"
                );
                Ok(())
            }
        };
        upkeep.abort();
        result
    }
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
