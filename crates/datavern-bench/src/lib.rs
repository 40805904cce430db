//! `datavern bench`: what the governed path costs, measured side by side with the raw
//! database.
//!
//! For each backend (SQLite in a temporary directory; PostgreSQL and MariaDB in fresh
//! databases `datavern_bench` and `datavern_bench_keys`, made through an admin URL and dropped
//! afterwards) one run against the same database measures:
//!
//! - the **governed path**: datavern's HTTP API served in-process on `127.0.0.1:0`, called by
//!   a keep-alive HTTP client with an API key and the purpose header, as an application calls
//!   it: every insert encrypts three fields, computes a blind index and writes an audit entry
//!   and an outbox event; every read is audited;
//! - the **raw baseline**: plain SQL on a plain table with the same columns in plaintext and
//!   an ordinary index on the fødselsnummer column
//!   ([`datavern_sql::baseline::RawBaseline`]), on the same pool;
//!
//! for three [`Scenario`]s at each number of clients, each for a warm-up and then a measured
//! window, bounded in time and in count. The tables are seeded first with the same synthetic
//! persons (Tenor fødselsnumre, deterministic per seed). Only loopback targets are accepted
//! ([`check_loopback`]). `docs/bench.md` explains how to run it and read the result.
//!
//! ```no_run
//! # async fn demo() -> Result<(), datavern_bench::BenchError> {
//! use datavern_bench::{BenchConfig, Silent, Target};
//!
//! let config = BenchConfig::quick(vec![Target::Sqlite]);
//! let report = datavern_bench::run(&config, &Silent).await?;
//! assert!(report.failures().is_empty());
//! # Ok(()) }
//! ```

mod config;
mod data;
mod env;
mod load;
mod report;
mod stats;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::config::{
    BenchConfig, DATA_DATABASE, DEFAULT_MYSQL_URL, DEFAULT_POSTGRES_URL, KEYS_DATABASE,
    MYSQL_URL_VAR, POSTGRES_URL_VAR, Target, check_loopback,
};
pub use self::data::{CATALOG_YAML, COLLECTION, LOOKUP_FIELD, PURPOSE, TENANT};
pub use self::load::OP_TIMEOUT;
pub use self::report::{BackendReport, Comparison, Machine, Report, Settings};
pub use self::stats::{Latencies, Summary, ratio};

use self::env::Env;
use self::load::{LoadSpec, drive};
use self::workload::{Governed, Raw, Shared};

/// What one operation of a scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Insert one person (governed: 3 encrypted fields, 1 blind index, audit, outbox).
    Insert,
    /// Read one seeded person by id (governed: decrypted and audited).
    Read,
    /// Find the seeded persons with one fødselsnummer (governed: by blind index).
    Lookup,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 3] = [Scenario::Insert, Scenario::Read, Scenario::Lookup];
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scenario::Insert => "insert",
            Scenario::Read => "read",
            Scenario::Lookup => "lookup",
        })
    }
}

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Through datavern's HTTP API.
    Governed,
    /// Plain SQL on the raw table.
    Raw,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Governed => "governed",
            Side::Raw => "raw",
        })
    }
}

/// Hears how a run progresses (the CLI draws progress bars); every method does nothing by
/// default.
pub trait Observer: Send + Sync {
    /// A backend's databases are being prepared.
    fn backend_started(&self, _backend: &str) {}
    /// Seeding of one side's table begins: `total` records.
    fn seeding(&self, _backend: &str, _side: Side, _total: u64) {}
    /// `count` more records were seeded.
    fn seeded(&self, _count: u64) {}
    /// Seeding of one side's table is done.
    fn seeding_finished(&self, _backend: &str, _side: Side, _elapsed: Duration) {}
    /// A scenario is about to run on both sides.
    fn scenario_started(&self, _backend: &str, _scenario: Scenario, _clients: usize) {}
    /// One side of a scenario starts its warm-up (a profiler can start sampling here).
    fn side_started(&self, _backend: &str, _scenario: Scenario, _clients: usize, _side: Side) {}
    /// One side of a scenario has finished its measured window.
    fn side_finished(&self, _backend: &str, _scenario: Scenario, _clients: usize, _side: Side) {}
    /// A scenario ran on both sides.
    fn scenario_finished(&self, _backend: &str, _comparison: &Comparison) {}
}

/// An [`Observer`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Why a run could not be made (a failing scenario is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A database URL names a host other than this machine.
    #[error(
        "refusing {url}: host \"{host}\" is not this machine; the benchmark only runs against \
         127.0.0.1, ::1 or localhost"
    )]
    NotLoopback {
        /// The URL, password redacted.
        url: String,
        /// The host it names.
        host: String,
    },
    /// The settings cannot work.
    #[error("invalid bench settings: {0}")]
    Config(String),
    /// Preparing a backend failed.
    #[error("cannot prepare the benchmark: {0}")]
    Setup(String),
    /// A file or socket operation failed.
    #[error("cannot create {what}")]
    Io {
        /// What was being made.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store failed (applying the catalog, seeding).
    #[error(transparent)]
    Store(#[from] datavern_store::StoreError),
    /// A database failed (connecting, creating databases, the raw baseline).
    #[error(transparent)]
    Sql(#[from] datavern_sql::SqlError),
}

impl BenchError {
    fn io(what: &str, source: std::io::Error) -> Self {
        BenchError::Io {
            what: what.to_owned(),
            source,
        }
    }
}

/// Runs the benchmark `config` describes, backend after backend, and reports every
/// measurement. Errors only when a backend cannot be prepared; scenarios that fail are in
/// [`Report::failures`].
pub async fn run(config: &BenchConfig, observer: &dyn Observer) -> Result<Report, BenchError> {
    config.check()?;
    let started = Instant::now();
    let mut backends = Vec::new();
    for target in &config.targets {
        observer.backend_started(target.name());
        let env = Env::start(target, config, observer).await?;
        let report = measure(&env, target, config, observer).await;
        env.stop().await;
        backends.push(report?);
    }
    Ok(Report {
        machine: Machine::current(),
        settings: Settings {
            records: config.records,
            warmup_seconds: config.warmup.as_secs_f64(),
            duration_seconds: config.duration.as_secs_f64(),
            clients: config.clients.clone(),
            seed: config.seed,
            max_connections: config.max_connections,
            max_ops: config.max_ops,
            quick: config.quick,
        },
        backends,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Every scenario at every concurrency on one prepared backend: governed, then raw.
async fn measure(
    env: &Env,
    target: &Target,
    config: &BenchConfig,
    observer: &dyn Observer,
) -> Result<BackendReport, BenchError> {
    let shared = Shared::new(env, config.seed, config.records)?;
    let mut results = Vec::new();
    for &scenario in &config.scenarios {
        for &clients in &config.clients {
            observer.scenario_started(target.name(), scenario, clients);
            let spec = LoadSpec {
                clients,
                warmup: config.warmup,
                duration: config.duration,
                max_ops: config.max_ops,
            };
            env.settle().await?;
            let governed = Arc::new(Governed {
                shared: shared.clone(),
                scenario,
            });
            observer.side_started(target.name(), scenario, clients, Side::Governed);
            let governed = drive(governed, spec).await;
            observer.side_finished(target.name(), scenario, clients, Side::Governed);
            // What the governed run left for the sealer is sealed outside both windows.
            let backlog = env.settle().await?;
            let raw = Arc::new(Raw {
                shared: shared.clone(),
                scenario,
            });
            observer.side_started(target.name(), scenario, clients, Side::Raw);
            let raw = drive(raw, spec).await;
            observer.side_finished(target.name(), scenario, clients, Side::Raw);
            let mut comparison = Comparison::new(scenario, clients, governed, raw);
            comparison.audit_backlog_seconds = backlog.as_secs_f64();
            observer.scenario_finished(target.name(), &comparison);
            results.push(comparison);
        }
    }
    Ok(BackendReport {
        backend: target.name().to_owned(),
        server_version: env.server_version.clone(),
        seed_governed_seconds: env.seed_seconds.0,
        seed_raw_seconds: env.seed_seconds.1,
        results,
    })
}
