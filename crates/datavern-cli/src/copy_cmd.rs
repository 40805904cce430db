//! `datavern migrate copy`: the whole installation (data database and key store) copied to
//! databases of another backend, verified, and recorded in both audit logs
//! (`docs/migrations.md`).
//!
//! Exit codes: 0 copied and verified, 1 refused before anything was written (a residency
//! rule forbids the target's location, a target is not empty), 2 failed (a database, a
//! verification that found a difference, a copy stopped before the end: rerun to resume).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use datavern_core::access::PrincipalId;
use datavern_core::residency::Location;
use datavern_sql::copy::{CopyOptions, DEFAULT_BATCH_SIZE, Phase, Progress, TableReport};
use datavern_sql::{DatabaseConfig, DatabaseRole, StoreConfig};
use datavern_store::copy::{CopyRequest, InstallationCopy, copy_installation};
use indicatif::{ProgressBar, ProgressStyle};

use crate::governed::{Governed, Missing};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{from_str, typed};

/// Arguments of `datavern migrate copy`.
#[derive(Debug, clap::Args)]
pub(crate) struct CopyArgs {
    #[command(flatten)]
    pub(crate) settings: SettingsArgs,
    /// The empty database the data is copied to: a postgres://, mysql:// or sqlite:// URL, or
    /// the path of a new SQLite file.
    #[arg(long, value_name = "DATABASE")]
    pub(crate) to: String,
    /// The empty database the key store is copied to (never the data's): a URL or a path.
    #[arg(long, value_name = "DATABASE")]
    pub(crate) keys_to: String,
    /// Where the target databases are, checked against every collection's residency rules
    /// before anything is written: no, eea, adequate or third.
    #[arg(long, value_parser = from_str::<Location>())]
    pub(crate) location: Location,
    /// Rows per batch (one INSERT and one checkpoint each).
    #[arg(long, value_name = "ROWS", default_value_t = DEFAULT_BATCH_SIZE)]
    pub(crate) batch_size: usize,
    /// Who copies, as the audit log names them (e.g. drift@bergen) [default: datavern-migrate].
    #[arg(long, value_name = "PRINCIPAL", value_parser = typed(PrincipalId::parse))]
    pub(crate) by: Option<PrincipalId>,
    /// Write a masked copy for a test environment: every personal value replaced by a
    /// synthetic one of the same shape, under new keys (`docs/migrations.md`).
    #[arg(long, requires = "to_data_dir")]
    pub(crate) mask: bool,
    /// With --mask: the new installation's directory, where its own key-encryption key,
    /// audit signing key and masked catalog (catalog.yaml) are written.
    #[arg(long, value_name = "DIR", requires = "mask")]
    pub(crate) to_data_dir: Option<PathBuf>,
    /// Print the report as JSON (no progress bar).
    #[arg(long)]
    pub(crate) json: bool,
    /// Stop after this many batches, as if killed (for tests of resuming).
    #[arg(long, value_name = "BATCHES", hide = true)]
    pub(crate) stop_after_batches: Option<u64>,
}

pub(crate) async fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    if args.mask {
        return crate::mask_cmd::run(args).await;
    }
    let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
    let target = StoreConfig::new(database(&args.to)?, database(&args.keys_to)?);
    let governed = Governed::open(&settings, Missing::Refuse).await?;
    let principal = args
        .by
        .as_ref()
        .map_or("datavern-migrate", PrincipalId::as_str)
        .to_owned();
    let request = CopyRequest {
        catalog: governed.catalog(),
        target: &target,
        location: args.location,
        principal: &principal,
        options: CopyOptions {
            batch_size: args.batch_size.max(1),
            batch_limit: args.stop_after_batches,
        },
    };
    let bar = (!args.json && std::io::stderr().is_terminal()).then(progress_bar);
    let result = copy_installation(governed.store(), &request, &mut |role, progress| {
        if let Some(bar) = &bar {
            show(bar, role, progress);
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let closed = governed.close().await;
    let code = match result {
        Ok(copy) => report(&copy, args.json)?,
        Err(err) => match err.refusal_code() {
            Some(code) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("refused ({code}): {err}");
                }
                ExitCode::from(1)
            }
            None => {
                return Err(anyhow::Error::new(err)).with_context(|| {
                    format!(
                        "the copy to {} (keys {}) failed; run the same command again to resume \
                         it",
                        target.data.redacted_url(),
                        target.keys.redacted_url()
                    )
                });
            }
        },
    };
    closed?;
    Ok(code)
}

/// Logs as every command does, but without the driver's slow-statement warnings: a batch of
/// thousands of rows takes a second by design, and its statement text is pages long.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "info,{}=error",
            datavern_sql::STATEMENT_LOG_TARGET
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// A database URL, or the path of a SQLite file.
pub(crate) fn database(target: &str) -> anyhow::Result<DatabaseConfig> {
    if target.contains("://") || target.starts_with("sqlite:") {
        return Ok(DatabaseConfig::new(target)?);
    }
    Ok(DatabaseConfig::sqlite_file(PathBuf::from(target)))
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    let style =
        ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} rows {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn show(bar: &ProgressBar, role: DatabaseRole, progress: Progress<'_>) {
    let phase = match progress.phase {
        Phase::Copy => "copy",
        Phase::Verify => "verify",
    };
    let role = match role {
        DatabaseRole::Data => "data",
        DatabaseRole::Keys => "keys",
    };
    let message = format!("{phase} {role} {}", progress.table);
    if bar.message() != message {
        bar.set_message(message);
        bar.reset();
    }
    bar.set_length(progress.total.max(progress.done));
    bar.set_position(progress.done);
}

/// Prints the report; the exit code says whether the copy is done and verified.
fn report(copy: &InstallationCopy, json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(copy)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("verified".into(), copy.verified().into());
        }
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", text(copy))?;
    }
    out.flush()?;
    Ok(if copy.verified() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn text(copy: &InstallationCopy) -> String {
    let mut lines = vec![format!(
        "{} -> {} (location {}){}",
        copy.source_backend,
        copy.target_backend,
        copy.location,
        if copy.resumed { ", resumed" } else { "" }
    )];
    lines.push(format!(
        "{:<5} {:<28} {:>10} {:>10} {:>10}  {:<16}  ok",
        "db", "table", "copied", "source", "target", "digest"
    ));
    let rows = |db: &str, tables: &[TableReport], lines: &mut Vec<String>| {
        for t in tables {
            lines.push(format!(
                "{:<5} {:<28} {:>10} {:>10} {:>10}  {:<16}  {}",
                db,
                t.table,
                t.copied,
                t.source_rows,
                t.target_rows,
                t.target_digest.get(..16).unwrap_or(""),
                if t.matches() { "yes" } else { "NO" }
            ));
        }
    };
    rows("data", &copy.data.tables, &mut lines);
    rows("keys", &copy.keys.tables, &mut lines);
    let copied = copy.data.rows_copied + copy.keys.rows_copied;
    let seconds = copy.data.copy_seconds + copy.keys.copy_seconds;
    let verify = copy.data.verify_seconds + copy.keys.verify_seconds;
    lines.push(format!(
        "{copied} rows copied in {seconds:.1} s ({:.0} rows/s), verified in {verify:.1} s",
        copied as f64 / seconds.max(1e-9)
    ));
    lines.push(if copy.verified() {
        "verified: every table has the same rows and digest on both sides; the copy is \
         recorded in both audit logs"
            .to_owned()
    } else if !copy.complete() {
        "stopped before the end: run the same command again to resume".to_owned()
    } else {
        "NOT verified: the tables marked NO differ; the target is left as a copy in progress \
         (drop its tables and copy again, with the source quiet)"
            .to_owned()
    });
    lines.join("\n")
}
