//! `datavern bench`: the governed path through the HTTP API against a raw SQL baseline, on
//! SQLite, PostgreSQL and MariaDB (see `docs/bench.md`). The work is in `datavern-bench`;
//! this module parses flags, draws progress on stderr and prints the report.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use datavern_bench::{BenchConfig, Comparison, Observer, Scenario, Side, Target};
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

/// Arguments of `datavern bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// The backends to measure, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',',
          default_values_t = [BackendArg::Sqlite, BackendArg::Postgres, BackendArg::Mariadb])]
    backends: Vec<BackendArg>,
    /// PostgreSQL admin URL, loopback only (default: $DATAVERN_TEST_POSTGRES_URL, else
    /// postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_name = "URL")]
    postgres_url: Option<String>,
    /// MariaDB/MySQL admin URL, loopback only (default: $DATAVERN_TEST_MYSQL_URL, else
    /// mysql://root@127.0.0.1:3306/test).
    #[arg(long, value_name = "URL")]
    mysql_url: Option<String>,
    /// Records seeded into each table before measuring [default: 1000000; quick: 2000].
    #[arg(long, value_name = "N")]
    records: Option<u64>,
    /// Measured time per scenario run, e.g. `5s`, `500ms` [default: 5s; quick: 400ms].
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Warm-up before each measured run [default: 2s; quick: 100ms].
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Numbers of concurrent clients, comma-separated [default: 1,16].
    #[arg(long, value_name = "N,..", value_delimiter = ',')]
    clients: Option<Vec<usize>>,
    /// Scenarios to run, comma-separated [default: insert,read,lookup].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME,..")]
    scenarios: Option<Vec<ScenarioArg>>,
    /// Print a line when each side of a scenario starts and finishes (for profilers).
    #[arg(long)]
    trace_sides: bool,
    /// Seed of the synthetic data and of the records chosen [default: 1].
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Pool size of each database, shared by both sides [default: 10, as `serve`].
    #[arg(long, value_name = "N")]
    max_connections: Option<u32>,
    /// The most operations one scenario run starts [default: 10000000].
    #[arg(long, value_name = "N")]
    max_ops: Option<u64>,
    /// Small table and short runs on every selected backend: checks that every scenario
    /// completes without errors (exit 1 otherwise), not how fast.
    #[arg(long)]
    quick: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A scenario name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScenarioArg {
    /// Insert one record.
    Insert,
    /// Read one record by id.
    Read,
    /// Look records up by fødselsnummer.
    Lookup,
}

impl From<ScenarioArg> for Scenario {
    fn from(arg: ScenarioArg) -> Self {
        match arg {
            ScenarioArg::Insert => Scenario::Insert,
            ScenarioArg::Read => Scenario::Read,
            ScenarioArg::Lookup => Scenario::Lookup,
        }
    }
}

/// A backend name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackendArg {
    /// SQLite in a temporary directory.
    Sqlite,
    /// PostgreSQL.
    #[value(alias = "postgresql", alias = "pg")]
    Postgres,
    /// MariaDB (or MySQL).
    #[value(alias = "mysql")]
    Mariadb,
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let config = config(args.clone_flags())?;
    init_logging();
    let progress = Progress::new(args.trace_sides);
    let started = Instant::now();
    let report = async {
        tokio::select! {
            report = datavern_bench::run(&config, &progress) => {
                report.context("the benchmark could not run")
            }
            _ = tokio::signal::ctrl_c() => bail!(
                "interrupted; the next run drops the bench databases left behind"
            ),
        }
    }
    .await?;
    progress.finish();

    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", report.to_table())?;
    }
    stdout.flush()?;
    let failures = report.failures();
    #[allow(clippy::print_stderr)]
    {
        eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
        for failure in &failures {
            eprintln!("failed: {failure}");
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The flags that shape the configuration (everything but the output format).
struct Flags {
    backends: Vec<BackendArg>,
    postgres_url: Option<String>,
    mysql_url: Option<String>,
    records: Option<u64>,
    duration: Option<Duration>,
    warmup: Option<Duration>,
    clients: Option<Vec<usize>>,
    scenarios: Option<Vec<ScenarioArg>>,
    seed: Option<u64>,
    max_connections: Option<u32>,
    max_ops: Option<u64>,
    quick: bool,
}

impl BenchArgs {
    fn clone_flags(&self) -> Flags {
        Flags {
            backends: self.backends.clone(),
            postgres_url: self.postgres_url.clone(),
            mysql_url: self.mysql_url.clone(),
            records: self.records,
            duration: self.duration,
            warmup: self.warmup,
            clients: self.clients.clone(),
            scenarios: self.scenarios.clone(),
            seed: self.seed,
            max_connections: self.max_connections,
            max_ops: self.max_ops,
            quick: self.quick,
        }
    }
}

/// The configuration: quick or full defaults, overridden by the flags given; every server
/// target checked to be on loopback.
fn config(flags: Flags) -> anyhow::Result<BenchConfig> {
    let mut targets = Vec::new();
    for backend in flags.backends {
        let target = match backend {
            BackendArg::Sqlite => Target::Sqlite,
            BackendArg::Postgres => Target::postgres(flags.postgres_url.clone()),
            BackendArg::Mariadb => Target::mysql(flags.mysql_url.clone()),
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let defaults = if flags.quick {
        BenchConfig::quick(targets)
    } else {
        BenchConfig::full(targets)
    };
    let config = BenchConfig {
        records: flags.records.unwrap_or(defaults.records),
        duration: flags.duration.unwrap_or(defaults.duration),
        warmup: flags.warmup.unwrap_or(defaults.warmup),
        clients: flags.clients.unwrap_or_else(|| defaults.clients.clone()),
        scenarios: match flags.scenarios {
            Some(names) => names.into_iter().map(Scenario::from).collect(),
            None => defaults.scenarios.clone(),
        },
        seed: flags.seed.unwrap_or(defaults.seed),
        max_connections: flags.max_connections.unwrap_or(defaults.max_connections),
        max_ops: flags.max_ops.unwrap_or(defaults.max_ops),
        ..defaults
    };
    config.check()?;
    Ok(config)
}

/// `5`, `5s`, `1.5s`, `500ms`, `2m`.
fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .with_context(|| format!("\"{text}\" is not a duration like 5s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        _ => bail!("unknown unit \"{unit}\" in \"{text}\": use ms, s or m"),
    };
    if !seconds.is_finite() || !(0.0..=24.0 * 3600.0).contains(&seconds) {
        bail!("\"{text}\" is not a duration from 0 to 24 hours");
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn init_logging() {
    // The server runs in-process: only its warnings and errors, unless RUST_LOG says more.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("warn,{}=error", datavern_sql::STATEMENT_LOG_TARGET))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Progress on stderr: a bar while seeding (hidden when stderr is not a terminal) and one
/// line per scenario.
struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    /// Print a line at each side's start and end (`--trace-sides`).
    trace_sides: bool,
}

impl Progress {
    fn new(trace_sides: bool) -> Self {
        Progress {
            trace_sides,
            bar: Mutex::new(None),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.lock().take() {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[allow(clippy::print_stderr)]
    fn line(&self, text: &str) {
        match self.lock().as_ref() {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for Progress {
    fn backend_started(&self, backend: &str) {
        self.line(&format!("{backend}: preparing databases"));
    }

    fn seeding(&self, backend: &str, side: Side, total: u64) {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{backend} seeding {side:<8} [{{wide_bar}}] {{human_pos}}/{{human_len}}, \
             {{per_sec}}, ETA {{eta}}"
        )) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self.lock().replace(bar) {
            old.finish_and_clear();
        }
    }

    fn seeded(&self, count: u64) {
        if let Some(bar) = self.lock().as_ref() {
            bar.inc(count);
        }
    }

    fn seeding_finished(&self, backend: &str, side: Side, elapsed: Duration) {
        self.finish();
        self.line(&format!(
            "{backend}: seeded the {side} table in {:.1} s",
            elapsed.as_secs_f64()
        ));
    }

    fn scenario_started(&self, _backend: &str, _scenario: Scenario, _clients: usize) {}

    fn side_started(&self, backend: &str, scenario: Scenario, clients: usize, side: Side) {
        if self.trace_sides {
            self.line(&format!(
                "side started: {backend} {scenario} {clients} {side}"
            ));
        }
    }

    fn side_finished(&self, backend: &str, scenario: Scenario, clients: usize, side: Side) {
        if self.trace_sides {
            self.line(&format!(
                "side finished: {backend} {scenario} {clients} {side}"
            ));
        }
    }

    fn scenario_finished(&self, backend: &str, c: &Comparison) {
        self.line(&format!(
            "{backend}: {} with {} clients: governed {:.0} ops/s (p99 {:.2} ms), raw {:.0} ops/s \
             (p99 {:.2} ms), audit backlog sealed in {:.2} s{}",
            c.scenario,
            c.clients,
            c.governed.throughput,
            c.governed.p99_ms,
            c.raw.throughput,
            c.raw.p99_ms,
            c.audit_backlog_seconds,
            match c.governed.errors + c.raw.errors {
                0 => String::new(),
                errors => format!(", {errors} errors"),
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(quick: bool) -> Flags {
        Flags {
            backends: vec![BackendArg::Sqlite, BackendArg::Postgres],
            postgres_url: Some("postgres://postgres@127.0.0.1:5432/test".into()),
            mysql_url: None,
            records: None,
            duration: None,
            warmup: None,
            clients: None,
            scenarios: None,
            seed: None,
            max_connections: None,
            max_ops: None,
            quick,
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn quick_defaults_yield_to_flags() {
        let quick = config(flags(true)).unwrap();
        assert!(quick.quick);
        assert_eq!(quick.records, 2_000);
        assert_eq!(quick.clients, vec![1, 16]);
        let mut given = flags(true);
        given.records = Some(500);
        given.clients = Some(vec![4]);
        let config = config(given).unwrap();
        assert_eq!((config.records, config.clients), (500, vec![4]));
        let full = super::config(flags(false)).unwrap();
        assert_eq!(full.records, 1_000_000);
        assert_eq!(full.targets.len(), 2);
        assert_eq!(full.scenarios, Scenario::ALL.to_vec());
    }

    #[test]
    fn scenarios_run_as_named_and_in_that_order() {
        let mut given = flags(false);
        given.scenarios = Some(vec![ScenarioArg::Lookup, ScenarioArg::Read]);
        let config = config(given).unwrap();
        assert_eq!(config.scenarios, vec![Scenario::Lookup, Scenario::Read]);
    }

    #[test]
    fn a_remote_database_is_refused() {
        let mut remote = flags(true);
        remote.postgres_url = Some("postgres://postgres:pw@db.example.org/test".into());
        let message = format!("{:#}", config(remote).unwrap_err());
        assert!(message.contains("not this machine"), "{message}");
        assert!(!message.contains(":pw@"), "{message}");
    }
}
