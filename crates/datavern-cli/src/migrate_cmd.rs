//! `datavern migrate`: catalog migrations (plan, apply, complete, abort, status).
//!
//! The store is opened without applying the settings' catalog: the catalog in force is the
//! one the database records, and the new one is given with `--catalog`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use datavern_core::access::PrincipalId;
use datavern_core::catalog::Catalog;
use datavern_migrate::{MigrateError, MigrateOptions, Migrator, OnInvalid, Plan};
use datavern_store::Store;

use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::typed;

/// `datavern migrate`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MigrateCommand {
    /// Copy the whole installation (data and key store) to empty databases of any backend,
    /// check residency first, resume after an interruption, verify at the end.
    Copy(crate::copy_cmd::CopyArgs),
    #[command(flatten)]
    Catalog(CatalogCommand),
}

/// The catalog migration steps of `datavern migrate`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CatalogCommand {
    /// The plan from the catalog in force to a new one: each change classed, its DDL per
    /// dialect, the rows it touches.
    Plan(PlanArgs),
    /// Runs the plan online: expand, backfill; completes at once when nothing is left to
    /// contract. Resumes an interrupted run of the same migration.
    Apply(ApplyArgs),
    /// Contracts the open migration and puts its catalog in force (restart the servers
    /// with the new catalog).
    Complete(Common),
    /// Rolls the open migration back before `complete`.
    Abort(Common),
    /// The catalog versions and the open migration.
    Status(Common),
}

/// What every migrate command takes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Who runs it, as the audit log names them (e.g. drift@bergen) [default: datavern-migrate].
    #[arg(long, value_name = "PRINCIPAL", value_parser = typed(PrincipalId::parse))]
    by: Option<PrincipalId>,
    /// Print the result as JSON (no progress bars).
    #[arg(long)]
    json: bool,
}

/// Arguments of `datavern migrate plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    common: Common,
    /// The new catalog.
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// Also write the plan as JSON to this file, for `migrate apply --plan`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `datavern migrate apply`.
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    common: Common,
    /// The new catalog.
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// The plan reviewed (`migrate plan --out`): refused unless it is still the plan.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Rows per backfill batch (one transaction each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch_size: u64,
    /// Milliseconds to pause after each batch, to leave the database to the application.
    #[arg(long, default_value_t = 0)]
    throttle_ms: u64,
    /// What to do with stored values that do not convert to a field's new type.
    #[arg(long, value_enum, default_value_t = InvalidArg::Refuse)]
    on_invalid: InvalidArg,
}

/// `--on-invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum InvalidArg {
    /// Refuse the migration, listing the records.
    Refuse,
    /// Store no value for them.
    Null,
}

pub(crate) async fn run(command: MigrateCommand) -> anyhow::Result<ExitCode> {
    match command {
        MigrateCommand::Copy(args) => crate::copy_cmd::run(args).await,
        MigrateCommand::Catalog(command) => run_catalog(command).await,
    }
}

async fn run_catalog(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    init_logging(LogFormat::Text);
    let (common, options) = match &command {
        CatalogCommand::Plan(args) => (&args.common, MigrateOptions::default()),
        CatalogCommand::Apply(args) => (
            &args.common,
            MigrateOptions {
                batch_size: args.batch_size,
                throttle: Duration::from_millis(args.throttle_ms),
                on_invalid: match args.on_invalid {
                    InvalidArg::Refuse => OnInvalid::Refuse,
                    InvalidArg::Null => OnInvalid::Null,
                },
                progress: !args.common.json && std::io::stderr().is_terminal(),
            },
        ),
        CatalogCommand::Complete(common)
        | CatalogCommand::Abort(common)
        | CatalogCommand::Status(common) => (common, MigrateOptions::default()),
    };
    let common = common.clone();
    let settings = Settings::load(&common.settings, &Overrides::default())?;
    let config = settings
        .owner_store_config()?
        .map_or_else(|| settings.store_config(), Ok)?;
    let store = Store::open(&config).await.with_context(|| {
        format!(
            "cannot open the store (data {})",
            config.data.redacted_url()
        )
    })?;
    let kek: Arc<dyn datavern_crypto::KekProvider> =
        Arc::new(crate::serve_cmd::kek(&settings, settings.mode()).await?);
    let by = common
        .by
        .as_ref()
        .map_or("datavern-migrate", PrincipalId::as_str)
        .to_owned();
    let migrator = Migrator::new(store.clone(), kek, by).with_options(options);
    let result = execute(&migrator, command, common.json).await;
    let sealed = store.audit().shutdown().await;
    store.close().await;
    let code = match result {
        Ok(code) => code,
        Err(err) => match err
            .downcast_ref::<MigrateError>()
            .and_then(MigrateError::refusal)
        {
            Some(refusal) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("refused ({}): {err:#}", refusal.code());
                }
                ExitCode::from(1)
            }
            None => return Err(err),
        },
    };
    sealed.context("cannot seal the audit log")?;
    Ok(code)
}

fn read_catalog(path: &PathBuf) -> anyhow::Result<Catalog> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the catalog {}", path.display()))?;
    Catalog::from_yaml(&text).map_err(|errors| {
        anyhow::Error::new(MigrateError::refused(
            datavern_migrate::Refusal::CatalogInvalid,
            format!(
                "the catalog {} is not valid; fix it and plan again:\n{errors}",
                path.display()
            ),
        ))
    })
}

#[allow(clippy::print_stdout)]
async fn execute(
    migrator: &Migrator,
    command: CatalogCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Plan(args) => {
            let catalog = read_catalog(&args.catalog)?;
            let plan = migrator.plan(&catalog).await?;
            let text = serde_json::to_string_pretty(&plan)?;
            if let Some(out) = &args.out {
                std::fs::write(out, &text)
                    .with_context(|| format!("cannot write the plan to {}", out.display()))?;
            }
            if json {
                println!("{text}");
            } else {
                print_plan(&plan, migrator.store().data().backend());
            }
        }
        CatalogCommand::Apply(args) => {
            let catalog = read_catalog(&args.catalog)?;
            let expected: Option<Plan> = match &args.plan {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read the plan {}", path.display()))?;
                    Some(serde_json::from_str(&text).with_context(|| {
                        format!(
                            "{} is not a plan written by `datavern migrate plan --out`",
                            path.display()
                        )
                    })?)
                }
            };
            let applied = migrator.apply(&catalog, expected.as_ref()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "migration": applied.id,
                        "backfilled": applied.backfilled.iter().map(|(what, rows)| serde_json::json!({"field": what, "rows": rows})).collect::<Vec<_>>(),
                        "version": applied.version,
                        "next": if applied.version.is_some() { "done" } else { "complete" },
                    })
                );
            } else {
                for (what, rows) in &applied.backfilled {
                    println!("backfilled {what}: {rows} rows");
                }
                match applied.version {
                    Some(version) => println!(
                        "migration {} done: catalog version {version} is in force",
                        applied.id
                    ),
                    None => println!(
                        "migration {} applied: the previous catalog still serves; run `datavern \
                         migrate complete` to put the new one in force, then restart the \
                         servers with it",
                        applied.id
                    ),
                }
            }
        }
        CatalogCommand::Complete(_) => {
            let version = migrator.complete().await?;
            if json {
                println!("{}", serde_json::json!({ "version": version }));
            } else {
                println!(
                    "catalog version {version} is in force: restart the servers with the new \
                     catalog"
                );
            }
        }
        CatalogCommand::Abort(_) => {
            let id = migrator.abort().await?;
            if json {
                println!("{}", serde_json::json!({ "aborted": id }));
            } else {
                println!("migration {id} rolled back: the catalog in force is unchanged");
            }
        }
        CatalogCommand::Status(_) => {
            let status = migrator.status().await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "versions": status.versions.iter().map(|v| serde_json::json!({
                            "version": v.version,
                            "checksum": v.checksum,
                            "applied_by": v.applied_by,
                            "applied_at": time_text(v.applied_at),
                            "migration": v.migration,
                        })).collect::<Vec<_>>(),
                        "open": status.open.as_ref().map(|m| serde_json::json!({
                            "id": m.id,
                            "state": m.state,
                            "started_by": m.started_by,
                            "started_at": time_text(m.started_at),
                            "to_checksum": m.plan.to_checksum,
                        })),
                    })
                );
            } else {
                for v in &status.versions {
                    println!(
                        "version {:>3}  {}  {}  by {}{}",
                        v.version,
                        time_text(v.applied_at),
                        v.checksum,
                        v.applied_by,
                        v.migration
                            .map(|m| format!(" (migration {m})"))
                            .unwrap_or_default()
                    );
                }
                match &status.open {
                    Some(m) => println!(
                        "open: migration {} ({}), started by {} at {}",
                        m.id,
                        m.state,
                        m.started_by,
                        time_text(m.started_at)
                    ),
                    None => println!("no migration is open"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn time_text(at: datavern_sql::At) -> String {
    let at: time::OffsetDateTime = at.into();
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[allow(clippy::print_stdout)]
fn print_plan(plan: &Plan, backend: datavern_sql::Backend) {
    println!(
        "from catalog version {} ({}) to {}",
        plan.from_version, plan.from_checksum, plan.to_checksum
    );
    if plan.changes.is_empty() {
        println!("no changes");
        return;
    }
    let dialect = backend.as_str();
    for change in &plan.changes {
        println!();
        println!("[{}] {}", change.class.as_str(), change.summary);
        if let datavern_migrate::ChangeKind::Governance { details } = &change.kind {
            for detail in details {
                println!("    {detail}");
            }
        }
        if let datavern_migrate::ChangeKind::Unsupported { reason } = &change.kind {
            println!("    {reason}");
        }
        if let Some(rows) = change.rows {
            println!("    rows: {rows}");
        }
        if let Some(phases) = change.ddl.get(dialect) {
            for (phase, statements) in [
                ("expand", &phases.expand),
                ("complete", &phases.unhook),
                ("complete", &phases.contract),
                ("abort", &phases.abort),
            ] {
                for statement in statements {
                    println!("    {phase} ({dialect}): {}", statement.sql);
                }
            }
        }
    }
    if plan.unsupported().next().is_some() {
        println!();
        println!("the plan has unsupported changes: apply will refuse it");
    } else if plan.is_one_step() {
        println!();
        println!("apply puts the new catalog in force at once (no backfill, nothing to contract)");
    } else {
        println!();
        println!("apply expands and backfills online; complete then contracts");
    }
}
