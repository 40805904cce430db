//! `datavern import`: rows from a legacy system (a CSV file, or a table of a PostgreSQL,
//! MariaDB/MySQL or SQLite database) written through the governed path with a mapping file,
//! as `docs/import.md` describes: validated as the API validates, identifiers checked,
//! encrypted, audited, in resumable batches, with a data-quality report.
//!
//! The database is found as `serve` finds it (`--data-dir`, `--config`, `DATAVERN_`
//! environment). A progress bar goes to stderr when it is a terminal; the report (text, or
//! JSON with `--json`) to stdout. Exit 0 when the run ended (rows may have been rejected:
//! the report lists them), 1 when the import was refused before any row was written (the
//! message says what to fix), 2 when it failed (the batches committed stay; rerun to resume).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::builder::TypedValueParser as _;
use datavern_core::access::{Principal, PrincipalId};
use datavern_core::catalog::{Kommunenummer, PurposeId};
use datavern_governance::import::{
    DEFAULT_BATCH_SIZE, DuplicateOf, ImportError, ImportMode, ImportOptions, ImportReport, Source,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::governed::{Governed, Missing};
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{from_str, typed};

/// How many rejected rows and duplicates the text report lists (`--json` lists all).
const TEXT_LIMIT: usize = 50;

/// Arguments of `datavern import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The collection the rows become records of.
    #[arg(long)]
    collection: String,
    /// A CSV file whose first row names the columns.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from_url", "table"], required_unless_present = "from_url")]
    csv: Option<PathBuf>,
    /// The CSV file's field delimiter: `,`, `;` (common in Norway) or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",", value_parser = typed(delimiter).values([",", ";", "tab", "|"]))]
    delimiter: u8,
    /// A database to read a table of (postgres://…, mysql://…, sqlite://…); needs --table.
    #[arg(long, value_name = "URL", requires = "table")]
    from_url: Option<String>,
    /// The table of --from-url to read.
    #[arg(long, value_name = "TABLE", requires = "from_url")]
    table: Option<String>,
    /// The columns the table's rows are read in order of (comma-separated), so a rerun finds
    /// each row under the same number [default: every column].
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        requires = "table"
    )]
    order_by: Vec<String>,
    /// The mapping file: source column → catalog field, with conversions (docs/import.md).
    #[arg(long, value_name = "MAP.yaml")]
    mapping: PathBuf,
    /// The tenant (kommunenummer) written for [default: the catalog's only tenant].
    #[arg(long, value_name = "KOMMUNENR", value_parser = from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
    /// The purpose the import processes the data for (the catalog's purpose id).
    #[arg(long, value_parser = typed(PurposeId::parse))]
    purpose: PurposeId,
    /// Who imports, as the audit log names them (e.g. drift@bergen).
    #[arg(long, value_name = "PRINCIPAL", default_value = "cli-import", value_parser = typed(PrincipalId::parse))]
    by: PrincipalId,
    /// Check every row (validation, identifiers, duplicates) and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows per transaction.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE,
          value_parser = clap::value_parser!(u16).range(1..=1000).map(usize::from))]
    batch_size: usize,
    /// Stop after N batches; the next run resumes after them.
    #[arg(long, value_name = "N")]
    max_batches: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A CSV delimiter by name.
fn delimiter(text: &str) -> Result<u8, &'static str> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(text.as_bytes()[0]),
        _ => Err("must be one of , ; tab |"),
    }
}

pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    let mapping = std::fs::read_to_string(&args.mapping)
        .with_context(|| format!("cannot read the mapping file {}", args.mapping.display()))?;
    let mut source = match open_source(&args).await {
        Ok(source) => source,
        Err(ImportError::Refused { problems, .. }) => return refused(&problems),
        Err(err) => return Err(err).context("cannot open the import source"),
    };
    let governed = Governed::open(&settings, Missing::Create).await?;
    let outcome = import(&governed, &args, &mapping, &mut source).await;
    source.close().await;
    let closed = governed.close().await;
    let report = match outcome {
        Ok(report) => report,
        Err(ImportError::Refused { problems, .. }) => {
            closed?;
            return refused(&problems);
        }
        Err(err) => {
            return Err(err).context(
                "the import failed; the batches committed before stay, and running the same \
                 command again resumes after them",
            );
        }
    };
    closed?;
    print(&report, args.json)?;
    Ok(ExitCode::SUCCESS)
}

async fn open_source(args: &ImportArgs) -> Result<Source, ImportError> {
    match (&args.csv, &args.from_url, &args.table) {
        (Some(path), _, _) => Source::csv(path, args.delimiter),
        (None, Some(url), Some(table)) => Source::table(url, table, &args.order_by).await,
        _ => Err(ImportError::Refused {
            code: "source_missing",
            problems: vec!["give --csv FILE, or --from-url URL with --table TABLE".to_owned()],
        }),
    }
}

async fn import(
    governed: &Governed,
    args: &ImportArgs,
    mapping: &str,
    source: &mut Source,
) -> Result<ImportReport, ImportError> {
    let catalog = governed.catalog();
    let tenant = match args.tenant {
        Some(tenant) => tenant,
        None => match catalog.deployment().tenants() {
            [only] => only.kommunenummer(),
            _ => {
                return Err(ImportError::Refused {
                    code: "tenant_missing",
                    problems: vec!["the catalog serves several tenants: give --tenant".to_owned()],
                });
            }
        },
    };
    // The operator is cleared for what the installation is accredited for and allowed the
    // purpose named; the access decision still checks the purpose against the collection
    // and its fields.
    let principal = Principal::new(
        args.by.clone(),
        tenant,
        catalog.deployment().accreditation(),
    )
    .with_purposes([args.purpose.clone()]);
    let options = ImportOptions {
        collection: args.collection.clone(),
        tenant,
        purpose: args.purpose.to_string(),
        principal,
        mode: if args.dry_run {
            ImportMode::DryRun
        } else {
            ImportMode::Apply
        },
        batch_size: args.batch_size,
        max_batches: args.max_batches,
    };
    let bar = progress_bar();
    let report = governed
        .governance
        .importer()
        .run(&options, mapping, source, |progress| {
            bar.set_position(progress.rows_read);
            bar.set_message(format!(
                "{} imported, {} rejected",
                progress.imported, progress.rejected
            ));
        })
        .await;
    bar.finish_and_clear();
    report
}

/// Prints a refusal with what to fix, and exits 1.
fn refused(problems: &[String]) -> anyhow::Result<ExitCode> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "error: import refused, nothing was written:")?;
    for problem in problems {
        writeln!(err, "  - {problem}")?;
    }
    err.flush()?;
    Ok(ExitCode::from(1))
}

/// A bar on stderr, drawn only when stderr is a terminal.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} {spinner} {human_pos} rows, {per_sec} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn print(report: &ImportReport, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "import {} of {} into {} (tenant {}, purpose {})",
        &report.import_id[..16.min(report.import_id.len())],
        report.source,
        report.collection,
        report.tenant,
        report.purpose
    )?;
    if report.mode == ImportMode::DryRun {
        writeln!(out, "dry run: nothing was written")?;
    }
    if report.already_done {
        writeln!(out, "already imported by an earlier run: nothing to do")?;
        return Ok(out.flush()?);
    }
    if let Some(row) = report.resumed_after_row {
        writeln!(out, "resumed after row {row} (committed by an earlier run)")?;
    }
    let verb = match report.mode {
        ImportMode::Apply => "imported",
        ImportMode::DryRun => "would import",
    };
    writeln!(
        out,
        "rows read {}, {verb} {}, rejected {} ({} invalid identifiers, {} duplicates) in {:.1} s: \
         {:.0} rows/s",
        report.rows_read,
        report.imported,
        report.rejected,
        report.invalid_identifiers.len(),
        report.duplicates.len(),
        report.elapsed_seconds,
        report.rows_per_second
    )?;
    if !report.complete {
        writeln!(
            out,
            "stopped after {} batches: run the same command again to continue",
            report.batches
        )?;
    }
    if !report.rejections.is_empty() {
        writeln!(out, "rejected rows:")?;
        for rejected in report.rejections.iter().take(TEXT_LIMIT) {
            for problem in &rejected.problems {
                let column = problem
                    .column
                    .as_deref()
                    .map(|c| format!(" (column {c})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  row {}: {}{column} {}: {}",
                    rejected.row,
                    if problem.pointer.is_empty() {
                        "row"
                    } else {
                        &problem.pointer
                    },
                    problem.code,
                    problem.message
                )?;
            }
        }
        more(&mut out, report.rejections.len())?;
    }
    if !report.duplicates.is_empty() {
        writeln!(out, "duplicates by fødselsnummer:")?;
        for duplicate in report.duplicates.iter().take(TEXT_LIMIT) {
            match (duplicate.of, duplicate.first_row) {
                (DuplicateOf::Source, Some(first)) => writeln!(
                    out,
                    "  row {}: {} as in row {first}",
                    duplicate.row, duplicate.field
                )?,
                _ => writeln!(
                    out,
                    "  row {}: {} already stored",
                    duplicate.row, duplicate.field
                )?,
            }
        }
        more(&mut out, report.duplicates.len())?;
    }
    Ok(out.flush()?)
}

fn more(out: &mut impl std::io::Write, total: usize) -> anyhow::Result<()> {
    if total > TEXT_LIMIT {
        writeln!(
            out,
            "  … and {} more (--json lists all)",
            total - TEXT_LIMIT
        )?;
    }
    Ok(())
}
