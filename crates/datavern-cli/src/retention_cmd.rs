//! `datavern retention run`: delete, anonymize or archive the records past their retention
//! period, as the catalog says, except what legal holds keep (`docs/retention.md`).
//!
//! The database is found as `serve` finds it (`--data-dir`, `--config`, `DATAVERN_`
//! environment). A progress bar goes to stderr when it is a terminal; the summary (a table,
//! or JSON with `--json`) to stdout. Every batch is audited; the audit log is sealed and a
//! checkpoint signed before the command exits, as `serve` does on shutdown.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use datavern_governance::retention::{RetentionReport, RunMode};

use crate::governed::{Governed, Missing};
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};

/// `datavern retention …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RetentionCommand {
    /// Delete, anonymize or archive every record past its retention period, except what a
    /// legal hold keeps; print what was done per collection.
    Run(RunArgs),
}

/// Arguments of `datavern retention run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Count what is due and held, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// With --dry-run: count as of this time (RFC 3339, e.g. 2030-01-01T00:00:00Z) instead
    /// of now, to see what will fall due by then.
    #[arg(long, value_name = "TIME", requires = "dry_run", value_parser = crate::typed::rfc3339())]
    at: Option<OffsetDateTime>,
    /// Records changed per transaction.
    #[arg(long, value_name = "N", default_value_t = datavern_governance::retention::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
}

pub(crate) async fn run(command: RetentionCommand) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run(args) = command;
    let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    retention(settings, args).await
}

async fn retention(settings: Settings, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mode = if args.dry_run {
        RunMode::DryRun
    } else {
        RunMode::Apply
    };
    if !settings.kek_file().exists() && settings.database.url.is_none() {
        bail!(
            "no data at {}: nothing to apply retention to (is --data-dir right?)",
            settings.data_dir().display()
        );
    }
    let governed = open(&settings).await?;
    // Judged at `--at`, else at the store's clock's time.
    let now = args
        .at
        .unwrap_or_else(|| OffsetDateTime::from(governed.store().now()));
    let bar = progress_bar();
    let job = governed
        .governance
        .retention()
        .with_batch_size(args.batch_size);
    let result = job
        .run(now, mode, |progress| {
            bar.set_length(progress.total);
            bar.set_position(progress.done);
            bar.set_message(format!("{} {}", progress.tenant, progress.collection));
        })
        .await;
    bar.finish_and_clear();
    let closed = governed.close().await;
    let report = result.context("retention failed; the batches committed before stay done")?;
    closed?;
    print(&report, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The store with the catalog applied, the audit log sealing and signing as `serve` does, and
/// the services on it (see [`Governed`]).
pub(crate) async fn open(settings: &Settings) -> anyhow::Result<Governed> {
    Governed::open(settings, Missing::Create).await
}

/// A bar on stderr, drawn only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} records, {per_sec} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn print(report: &RetentionReport, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:<6} {:<24} {:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "tenant",
        "collection",
        "action",
        "due",
        "deleted",
        "anonymized",
        "archived",
        "held",
        "seconds"
    )?;
    for c in &report.collections {
        writeln!(
            out,
            "{:<6} {:<24} {:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9.2}",
            c.tenant.as_str(),
            c.collection,
            c.action.as_str(),
            c.due,
            c.deleted,
            c.anonymized,
            c.archived,
            c.held,
            c.elapsed_seconds
        )?;
    }
    let what = match report.mode {
        RunMode::Apply => "handled",
        RunMode::DryRun => "dry run: nothing changed;",
    };
    let due: u64 = report.collections.iter().map(|c| c.due).sum();
    let held: u64 = report.collections.iter().map(|c| c.held).sum();
    writeln!(
        out,
        "{what} {} of {due} records due ({held} held) in {:.2} s: {:.0} records/s (run {})",
        report.handled, report.elapsed_seconds, report.records_per_second, report.run_id
    )?;
    Ok(out.flush()?)
}
