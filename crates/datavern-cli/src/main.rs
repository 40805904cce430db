//! `datavern`: the governed data layer's binary (HTTP API and command-line interface).
//!
//! Thin by design: every command parses its arguments, calls the library crates and renders
//! the result. Exit codes: 0 success, 1 a negative answer (invalid catalog, invalid
//! identifier, …), 2 a usage or I/O error, or a failure to retry (the database unavailable).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

mod audit_cmd;
mod backup_cmd;
mod bench_cmd;
mod catalog_cmd;
mod consent_cmd;
mod copy_cmd;
mod db_cmd;
mod demo_cmd;
mod detect_cmd;
mod governed;
mod hold_cmd;
mod id_cmd;
mod import_cmd;
mod init_cmd;
mod mask_cmd;
mod migrate_cmd;
mod report_cmd;
mod request_cmd;
mod retention_cmd;
mod serve_cmd;
mod settings;
mod typed;

/// datavern: a governed data layer for Norwegian public bodies.
#[derive(Debug, Parser)]
#[command(name = "datavern", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify or export the tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Measure the governed path against a raw SQL baseline on SQLite, PostgreSQL and
    /// MariaDB.
    Bench(bench_cmd::BenchArgs),
    /// Record and show data subjects' consents to purposes that rest on consent.
    #[command(subcommand)]
    Consent(consent_cmd::ConsentCommand),
    /// Work with catalogs: the YAML files that declare what is governed.
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCommand),
    /// Database roles: migrate as the owner, grant the serving role its privileges.
    #[command(subcommand)]
    Db(db_cmd::DbCommand),
    /// Fill the example catalog with synthetic municipal data.
    #[command(subcommand)]
    Demo(demo_cmd::DemoCommand),
    /// Validate Norwegian identifiers.
    #[command(subcommand)]
    Id(id_cmd::IdCommand),
    /// Find personal data in free text, or classify the columns of a CSV file.
    Detect(detect_cmd::DetectArgs),
    /// Import rows from a legacy system (a CSV file or a database table) through the
    /// governed path, with a mapping file; resumable, with a data-quality report.
    Import(import_cmd::ImportArgs),
    /// Run the HTTP API (development mode without configuration).
    Serve(serve_cmd::ServeArgs),
    /// Write a commented datavern.toml, key files and a first API key.
    Init(init_cmd::InitArgs),
    /// Data subject requests (GDPR Art. 15–22): create, list, show, verify, extend, reject, run.
    #[command(subcommand)]
    Request(request_cmd::RequestCommand),
    /// Print the OpenAPI document (as committed in openapi.json).
    Openapi,
    /// Apply the catalog's retention rules: delete, anonymize or archive expired records.
    #[command(subcommand)]
    Retention(retention_cmd::RetentionCommand),
    /// Place, release and list legal holds.
    #[command(subcommand)]
    Hold(hold_cmd::HoldCommand),
    /// Backups: snapshots in a restic repository, restore, verify, retention tiers, holds.
    #[command(subcommand)]
    Backup(backup_cmd::BackupCommand),
    /// Catalog migrations (plan, apply online, complete, abort, status) and copying the
    /// installation to another backend.
    #[command(subcommand)]
    Migrate(migrate_cmd::MigrateCommand),
    /// The record of processing (Art. 30) and the compliance report.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One runtime for every command; commands without I/O to wait on never block on it.
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(cli.command)));
    match outcome {
        Ok(code) => code,
        // The reader went away (`datavern … | head`): nothing is wrong with the command.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Runs `command`; the error is a usage or I/O error, or a failure (exit 2).
async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Audit(command) => audit_cmd::run(command).await,
        Command::Backup(command) => backup_cmd::run(command).await,
        Command::Migrate(command) => migrate_cmd::run(command).await,
        Command::Bench(args) => bench_cmd::run(args).await,
        Command::Catalog(command) => catalog_cmd::run(command),
        Command::Consent(command) => consent_cmd::run(command).await,
        Command::Db(command) => db_cmd::run(command).await,
        Command::Demo(command) => demo_cmd::run(command).await,
        Command::Id(command) => id_cmd::run(command),
        Command::Detect(args) => detect_cmd::run(args),
        Command::Import(args) => import_cmd::run(args).await,
        Command::Serve(args) => serve_cmd::run(args).await,
        Command::Init(args) => init_cmd::run(args).await,
        Command::Request(command) => request_cmd::run(command).await,
        Command::Openapi => serve_cmd::print_openapi(),
        Command::Retention(command) => retention_cmd::run(command).await,
        Command::Hold(command) => hold_cmd::run(command).await,
        Command::Report(command) => report_cmd::run(command).await,
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
