//! The report of a run: the machine, the settings, and per backend × scenario × clients the
//! governed and raw summaries with their ratios; rendered as a table or serialized as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{Summary, ratio};
use crate::{Scenario, Side};

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The machine it ran on.
    pub machine: Machine,
    /// The settings it ran with.
    pub settings: Settings,
    /// One entry per backend, in the order measured.
    pub backends: Vec<BackendReport>,
    /// Seconds from start to end of the whole run, setup and seeding included.
    pub elapsed_seconds: f64,
}

/// The machine and build a run measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The CPU model, where the system says it (Linux `/proc/cpuinfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Operating system and architecture, e.g. `linux x86_64`.
    pub os: String,
    /// `release` or `debug`: figures from a debug build say little.
    pub build: &'static str,
}

/// The settings a run used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Records seeded into each table.
    pub records: u64,
    /// Warm-up per scenario run, in seconds.
    pub warmup_seconds: f64,
    /// Measured window per scenario run, in seconds.
    pub duration_seconds: f64,
    /// Concurrent clients of each scenario.
    pub clients: Vec<usize>,
    /// The data seed.
    pub seed: u64,
    /// The pool size of each database.
    pub max_connections: u32,
    /// The most operations a scenario run starts.
    pub max_ops: u64,
    /// Whether this was the quick mode.
    pub quick: bool,
}

/// What was measured on one backend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendReport {
    /// `sqlite`, `postgres` or `mariadb`.
    pub backend: String,
    /// The server's product and version.
    pub server_version: String,
    /// Seconds it took to seed the governed table (through `Records::create_many`).
    pub seed_governed_seconds: f64,
    /// Seconds it took to seed the raw table (multi-row inserts).
    pub seed_raw_seconds: f64,
    /// One comparison per scenario and number of clients.
    pub results: Vec<Comparison>,
}

/// One scenario at one concurrency, both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The scenario.
    pub scenario: Scenario,
    /// Concurrent clients.
    pub clients: usize,
    /// Through the HTTP API.
    pub governed: Summary,
    /// Plain SQL on the raw table.
    pub raw: Summary,
    /// Governed throughput / raw throughput (higher is better; 1.0 costs nothing).
    pub throughput_ratio: Option<f64>,
    /// Governed p99 / raw p99 (lower is better).
    pub p99_ratio: Option<f64>,
    /// Seconds it took after the governed run to seal the audit entries it left unsealed
    /// (outside both measured windows): a sealer that does not keep up shows here.
    pub audit_backlog_seconds: f64,
}

impl Comparison {
    /// The comparison of the two summaries.
    pub fn new(scenario: Scenario, clients: usize, governed: Summary, raw: Summary) -> Self {
        let throughput_ratio = ratio(governed.throughput, raw.throughput);
        let p99_ratio = ratio(governed.p99_ms, raw.p99_ms);
        Comparison {
            scenario,
            clients,
            governed,
            raw,
            throughput_ratio,
            p99_ratio,
            audit_backlog_seconds: 0.0,
        }
    }
}

impl Machine {
    /// This machine, as far as the standard library and `/proc/cpuinfo` tell.
    pub fn current() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            });
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }
}

impl Report {
    /// Every scenario run that had errors or completed nothing, as `backend scenario clients
    /// side: problem`.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for backend in &self.backends {
            for result in &backend.results {
                for (side, summary) in
                    [(Side::Governed, &result.governed), (Side::Raw, &result.raw)]
                {
                    if let Some(problem) = summary.problem() {
                        failures.push(format!(
                            "{} {} {} clients {}: {problem}",
                            backend.backend, result.scenario, result.clients, side
                        ));
                    }
                }
            }
        }
        failures
    }

    /// The report as a Markdown table with a header naming machine and settings.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let machine = &self.machine;
        let settings = &self.settings;
        let _ = writeln!(
            out,
            "machine: {} CPUs{}, {}, {} build",
            machine.cpus,
            machine
                .cpu_model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default(),
            machine.os,
            machine.build
        );
        let _ = writeln!(
            out,
            "settings: {} records, seed {}, warm-up {} s, measured {} s per run, pool {} \
             connections{}",
            group(settings.records),
            settings.seed,
            settings.warmup_seconds,
            settings.duration_seconds,
            settings.max_connections,
            if settings.quick { ", quick mode" } else { "" }
        );
        for backend in &self.backends {
            let _ = writeln!(
                out,
                "{}: {} (seeded in {:.1} s governed, {:.1} s raw)",
                backend.backend,
                backend.server_version,
                backend.seed_governed_seconds,
                backend.seed_raw_seconds
            );
        }
        out.push('\n');
        out.push_str(
            "| backend | scenario | clients | governed ops/s | raw ops/s | ratio | governed p50 / p95 / p99 ms | raw p50 / p95 / p99 ms | p99 ratio | errors |\n",
        );
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for backend in &self.backends {
            for r in &backend.results {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    backend.backend,
                    r.scenario,
                    r.clients,
                    rate(r.governed.throughput),
                    rate(r.raw.throughput),
                    times(r.throughput_ratio),
                    percentiles(&r.governed),
                    percentiles(&r.raw),
                    times(r.p99_ratio),
                    r.governed.errors + r.raw.errors,
                );
            }
        }
        let _ = writeln!(out, "\nelapsed: {:.1} s", self.elapsed_seconds);
        out
    }
}

fn rate(ops_per_second: f64) -> String {
    if ops_per_second >= 100.0 {
        group(ops_per_second.round() as u64)
    } else {
        format!("{ops_per_second:.1}")
    }
}

fn times(ratio: Option<f64>) -> String {
    match ratio {
        None => "–".to_owned(),
        // Small ratios get more decimals instead of rounding to 0.00.
        Some(r) if r < 0.1 => format!("{r:.4}×"),
        Some(r) => format!("{r:.2}×"),
    }
}

fn percentiles(summary: &Summary) -> String {
    format!(
        "{} / {} / {}",
        millis(summary.p50_ms),
        millis(summary.p95_ms),
        millis(summary.p99_ms)
    )
}

fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Latencies;

    fn summary(ops_per_ms: u64, latency_ms: u64, errors: u64) -> Summary {
        let mut latencies = Latencies::new();
        for _ in 0..ops_per_ms * 1000 {
            latencies.record(Duration::from_millis(latency_ms));
        }
        Summary::new(&latencies, errors, Duration::from_secs(1), None)
    }

    fn report(governed: Summary, raw: Summary) -> Report {
        Report {
            machine: Machine {
                cpus: 2,
                cpu_model: None,
                os: "linux x86_64".into(),
                build: "release",
            },
            settings: Settings {
                records: 1_000_000,
                warmup_seconds: 2.0,
                duration_seconds: 5.0,
                clients: vec![1, 16],
                seed: 1,
                max_connections: 10,
                max_ops: 10_000_000,
                quick: false,
            },
            backends: vec![BackendReport {
                backend: "postgres".into(),
                server_version: "PostgreSQL 16.4".into(),
                seed_governed_seconds: 100.0,
                seed_raw_seconds: 10.0,
                results: vec![Comparison::new(Scenario::Read, 16, governed, raw)],
            }],
            elapsed_seconds: 300.0,
        }
    }

    #[test]
    fn comparison_ratios_are_governed_over_raw() {
        let comparison = Comparison::new(Scenario::Insert, 1, summary(1, 4, 0), summary(4, 1, 0));
        assert_eq!(comparison.throughput_ratio, Some(0.25));
        let p99 = comparison.p99_ratio.expect("a p99 ratio");
        assert!((p99 - 4.0).abs() < 0.01, "{p99}");
    }

    #[test]
    fn table_shows_both_sides_and_the_ratio() {
        let table = report(summary(2, 3, 0), summary(4, 1, 0)).to_table();
        assert!(
            table.contains("| postgres | read | 16 | 2,000 | 4,000 | 0.50× | 3.00 / 3.00 / 3.00 | 1.00 / 1.00 / 1.00 | 3.00× | 0 |"),
            "{table}"
        );
        assert!(table.contains("1,000,000 records"), "{table}");
        assert!(table.contains("PostgreSQL 16.4"), "{table}");
        assert!(table.contains("elapsed: 300.0 s"), "{table}");
    }

    #[test]
    fn failures_name_every_broken_run() {
        assert!(
            report(summary(1, 1, 0), summary(1, 1, 0))
                .failures()
                .is_empty()
        );
        let failures = report(summary(1, 1, 2), summary(0, 1, 0)).failures();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].starts_with("postgres read 16 clients governed: 2 errors"));
        assert_eq!(
            failures[1],
            "postgres read 16 clients raw: no operation completed"
        );
    }

    #[test]
    fn json_has_the_figures_and_the_machine() {
        let json =
            serde_json::to_value(report(summary(2, 3, 0), summary(4, 1, 0))).expect("serializable");
        let result = &json["backends"][0]["results"][0];
        assert_eq!(result["scenario"], "read");
        assert_eq!(result["throughput_ratio"], 0.5);
        assert_eq!(result["governed"]["throughput"], 2000.0);
        assert_eq!(json["machine"]["cpus"], 2);
        assert_eq!(json["settings"]["records"], 1_000_000);
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(rate(12.34), "12.3");
        assert_eq!(times(None), "–");
        assert_eq!(times(Some(0.5)), "0.50×");
        assert_eq!(times(Some(0.00083)), "0.0008×");
    }
}
