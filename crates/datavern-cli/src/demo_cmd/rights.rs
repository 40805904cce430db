//! `datavern demo rights`: what a data subject's access and erasure cost on a seeded
//! database, next to plain SQL on the same rows, and how fast retention clears it.
//!
//! On a database seeded with `demo seed` (same `--records` and `--seed`), residents are
//! sampled evenly from the generator; each is named by fødselsnummer, as a request names
//! them. For each sampled resident, one after another:
//!
//! - **access**: `Rights::resolve` (blind-index lookup in every person collection) and
//!   `Rights::access` (every record of the subject in every collection, decrypted, with the
//!   Art. 15 context, each read audited); the raw side selects the same rows by subject
//!   column with plain SQL (`SubjectBaseline::rows`);
//! - **erasure** of another sampled resident: resolve and `Rights::erase` (one statement per
//!   collection in one transaction, keys destroyed after it, audited); the raw side deletes a
//!   third resident's rows with one plain `DELETE` per table in one transaction
//!   (`SubjectBaseline::delete`).
//!
//! Then, with `--retention`, one retention run at a time far enough ahead that every record
//! is past its period: records/s as the run reports it. That empties the database, so it
//! comes last and only when asked.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use datavern_bench::{Latencies, ratio};
use datavern_core::catalog::Kommunenummer;
use datavern_core::demo::{self, Plan};
use datavern_core::id::Fodselsnummer;
use datavern_governance::retention::RunMode;
use datavern_governance::rights::{Actor, RightsError, SubjectIdentifier};
use datavern_store::baseline::SubjectBaseline;
use serde::Serialize;
use time::OffsetDateTime;

use super::digest::sample;
use super::{Governed, Missing, tenant};
use crate::settings::{Settings, SettingsArgs};

/// The principal the requests are carried out by, as it appears in the audit log.
const RIGHTS_PRINCIPAL: &str = "demo-rights";

/// Arguments of `datavern demo rights`.
#[derive(Debug, clap::Args)]
pub(crate) struct RightsArgs {
    #[command(flatten)]
    pub(super) settings: SettingsArgs,
    /// The number of records the database was seeded with (`demo seed --records`).
    #[arg(long, value_name = "N")]
    records: u64,
    /// The tenant it was seeded for [default: the catalog's first tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = crate::typed::from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
    /// The seed it was seeded with (`demo seed --seed`).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Residents per measurement (access, erasure and the raw sides each take their own).
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..))]
    samples: u64,
    /// Shift the sampled residents by this many indexes: a second run on the same database
    /// needs residents the first did not erase.
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: u64,
    /// Afterwards, run retention as of 30 years ahead (every record due) and report its
    /// throughput. Empties the database.
    #[arg(long)]
    retention: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Latency figures of one side of one measurement, in milliseconds.
#[derive(Debug, Serialize)]
struct Figures {
    count: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Records (rows) touched per operation, on average.
    rows_per_op: f64,
}

/// One measurement: the governed operation and its raw counterpart.
#[derive(Debug, Serialize)]
struct Measurement {
    operation: &'static str,
    governed: Figures,
    raw: Figures,
    /// raw p95 / governed p95: how much of raw speed the governed path keeps.
    p95_ratio: Option<f64>,
}

/// The result of `demo rights`.
#[derive(Debug, Serialize)]
struct RightsReport {
    backend: String,
    records: u64,
    samples: u64,
    /// Sampled residents not found: erased before through a fødselsnummer they share.
    skipped: u64,
    measurements: Vec<Measurement>,
    retention: Option<datavern_governance::retention::RetentionReport>,
}

/// A side's latencies and rows.
#[derive(Default)]
struct Side {
    latencies: Latencies,
    rows: u64,
}

impl Side {
    fn record(&mut self, elapsed: Duration, rows: u64) {
        self.latencies.record(elapsed);
        self.rows += rows;
    }

    fn figures(&self) -> Figures {
        let count = self.latencies.len();
        Figures {
            count,
            p50_ms: self.latencies.quantile_ms(0.50),
            p95_ms: self.latencies.quantile_ms(0.95),
            p99_ms: self.latencies.quantile_ms(0.99),
            max_ms: self.latencies.max_ms(),
            rows_per_op: if count == 0 {
                0.0
            } else {
                self.rows as f64 / count as f64
            },
        }
    }
}

pub(super) async fn rights(settings: Settings, args: RightsArgs) -> anyhow::Result<ExitCode> {
    let governed = Governed::open(&settings, Missing::Refuse).await?;
    let outcome = measure(&governed, &args).await;
    let closed = governed.close().await;
    let report = outcome?;
    closed?;

    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        print_table(&mut stdout, &report)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

async fn measure(governed: &Governed, args: &RightsArgs) -> anyhow::Result<RightsReport> {
    let catalog = &governed.catalog();
    let tenant = tenant(catalog, args.tenant)?;
    let rights = governed.governance.rights().clone();
    let baseline = SubjectBaseline::new(governed.store().data().clone(), catalog);
    let actor = Actor::new(RIGHTS_PRINCIPAL, tenant);

    // Three disjoint samples: access, erasure, raw deletion.
    let persons = Plan::for_records(args.records)
        .persons
        .saturating_sub(args.offset);
    if persons < 3 * args.samples {
        bail!(
            "{} samples need {} residents; the database has {persons} (--records {}): lower \
             --samples",
            args.samples,
            3 * args.samples,
            args.records
        );
    }
    let all: Vec<u64> = sample(persons, 3 * args.samples)
        .into_iter()
        .map(|index| index + args.offset)
        .collect();
    let identifier = |index: u64| -> anyhow::Result<SubjectIdentifier> {
        let person = demo::person(args.seed, index);
        let fnr = Fodselsnummer::parse(&person.fodselsnummer)
            .context("the generator gave an invalid fødselsnummer")?;
        Ok(SubjectIdentifier::NationalId(fnr))
    };

    let (mut access, mut raw_access, mut erase, mut raw_delete) = Default::default();
    let (access, raw_access, erase, raw_delete): (&mut Side, &mut Side, &mut Side, &mut Side) =
        (&mut access, &mut raw_access, &mut erase, &mut raw_delete);
    let mut skipped = 0;
    for (k, index) in all.iter().enumerate() {
        let identifier = identifier(*index)?;
        // Resolving by fødselsnummer is part of serving the request: timed on the governed
        // sides.
        let started = Instant::now();
        let subjects = match rights.resolve(tenant, &identifier).await {
            Ok(subjects) => subjects,
            // The generator does not promise unique numbers: a resident sharing one with a
            // resident erased before is gone with them.
            Err(datavern_governance::Error::Rights(RightsError::SubjectNotFound { .. })) => {
                skipped += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        match k % 3 {
            0 => {
                let report = rights.access(&actor, &subjects).await?;
                access.record(started.elapsed(), report.record_count());
                // The raw side reads the same subject's rows again: warm, like the second
                // read of an application.
                let started = Instant::now();
                let mut rows = 0;
                for subject in &subjects {
                    rows += baseline.rows(tenant.as_str(), subject.as_uuid()).await?;
                }
                raw_access.record(started.elapsed(), rows);
            }
            1 => {
                let outcome = rights
                    .erase(&actor, &subjects, governed.store().now().into())
                    .await?;
                erase.record(started.elapsed(), outcome.record_count());
            }
            _ => {
                let started = Instant::now();
                let mut rows = 0;
                for subject in &subjects {
                    rows += baseline.delete(tenant.as_str(), subject.as_uuid()).await?;
                }
                raw_delete.record(started.elapsed(), rows);
            }
        }
    }

    let measurement = |operation, governed: &Side, raw: &Side| {
        let (governed, raw) = (governed.figures(), raw.figures());
        Measurement {
            operation,
            p95_ratio: ratio(raw.p95_ms, governed.p95_ms),
            governed,
            raw,
        }
    };
    let measurements = vec![
        measurement("access", access, raw_access),
        measurement("erasure", erase, raw_delete),
    ];

    let retention = if args.retention {
        let ahead = OffsetDateTime::from(governed.store().now()) + time::Duration::days(365 * 30);
        let report = governed
            .governance
            .retention()
            .run(ahead, RunMode::Apply, |_| {})
            .await
            .context("retention run failed")?;
        Some(report)
    } else {
        None
    };

    Ok(RightsReport {
        backend: governed.store().data().backend().to_string(),
        records: args.records,
        samples: args.samples,
        skipped,
        measurements,
        retention,
    })
}

fn print_table(out: &mut impl std::io::Write, report: &RightsReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} · {} records seeded · {} residents per measurement, one at a time",
        report.backend, report.records, report.samples
    )?;
    if report.skipped > 0 {
        writeln!(
            out,
            "{} sampled residents were gone already (erased with a resident sharing their \
             synthetic fødselsnummer)",
            report.skipped
        )?;
    }
    writeln!(
        out,
        "{:<9} {:<9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "request", "side", "p50 ms", "p95 ms", "p99 ms", "max ms", "rows/op", "raw/gov p95"
    )?;
    for m in &report.measurements {
        for (side, figures) in [("governed", &m.governed), ("raw", &m.raw)] {
            let ratio = match (side, m.p95_ratio) {
                ("governed", Some(r)) => format!("{r:.2}×"),
                _ => String::new(),
            };
            writeln!(
                out,
                "{:<9} {:<9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.1} {:>10}",
                m.operation,
                side,
                figures.p50_ms,
                figures.p95_ms,
                figures.p99_ms,
                figures.max_ms,
                figures.rows_per_op,
                ratio
            )?;
        }
    }
    if let Some(retention) = &report.retention {
        writeln!(
            out,
            "retention: {} records in {:.1} s = {:.0} records/s",
            retention.handled, retention.elapsed_seconds, retention.records_per_second
        )?;
        for c in &retention.collections {
            writeln!(
                out,
                "  {:<18} {:>9} deleted {:>9} anonymized {:>9} archived {:>6} held {:>7.1} s",
                c.collection, c.deleted, c.anonymized, c.archived, c.held, c.elapsed_seconds
            )?;
        }
    }
    Ok(())
}
