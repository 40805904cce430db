//! `datavern db migrate|grants`: the database roles of a deployment on PostgreSQL or
//! MariaDB/MySQL (`docs/storage.md`, "Roles and privileges").
//!
//! - `migrate` applies the internal migrations and the catalog as the owner
//!   (`database.migration_url`, else `database.url`), as `serve` does before it serves.
//! - `grants --role NAME` prints the statements that give the serving role exactly what it
//!   needs, for the tables that exist now (`SELECT, INSERT` and the seal columns on the audit
//!   tables, no `DELETE`, `TRUNCATE` or DDL anywhere); `--apply` runs them as the owner.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use datavern_sql::grants::{self, Grantee};
use datavern_store::Store;

use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};

/// `datavern db …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DbCommand {
    /// Apply the internal migrations and the catalog as the databases' owner.
    Migrate(MigrateArgs),
    /// Print (or with --apply, run) the GRANT statements for the role that serves requests.
    Grants(GrantsArgs),
}

/// Arguments of `datavern db migrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    settings: SettingsArgs,
}

/// Arguments of `datavern db grants`.
#[derive(Debug, clap::Args)]
pub(crate) struct GrantsArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The serving role (PostgreSQL) or user (MariaDB/MySQL), as in `database.url`.
    #[arg(long, value_name = "NAME")]
    role: String,
    /// MariaDB/MySQL: the host part of the account.
    #[arg(long, value_name = "HOST", default_value = "%")]
    host: String,
    /// Run the statements as the owner instead of printing them.
    #[arg(long)]
    apply: bool,
}

pub(crate) async fn run(command: DbCommand) -> anyhow::Result<ExitCode> {
    init_logging(LogFormat::Text);
    match command {
        DbCommand::Migrate(args) => migrate(args).await,
        DbCommand::Grants(args) => grants(args).await,
    }
}

/// The owner's connection settings: `migration_url`, else the serving URLs.
async fn owner(settings: &Settings) -> anyhow::Result<Store> {
    let config = match settings.owner_store_config()? {
        Some(owner) => owner,
        None => settings.store_config()?,
    };
    Store::connect(&config).await.with_context(|| {
        format!(
            "cannot connect as the owner (data {}, keys {})",
            config.data.redacted_url(),
            config.keys.redacted_url()
        )
    })
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings, &Overrides::default())?;
    let catalog = settings.catalog()?;
    let store = owner(&settings).await?;
    let done = async {
        store.migrate().await?;
        store.apply_catalog(&catalog).await
    }
    .await;
    store.close().await;
    let report = done.context("cannot migrate the store")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "migrated; catalog applied: {} collection(s) created, {} unchanged",
        report.created.len(),
        report.unchanged.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn grants(args: GrantsArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings, &Overrides::default())?;
    let grantee = Grantee::new(&args.role)?.with_host(&args.host)?;
    let store = owner(&settings).await?;
    let result = statements(&store, &grantee, args.apply).await;
    store.close().await;
    let sections = result?;
    let mut out = std::io::stdout().lock();
    if !store.data().dialect().has_roles() {
        writeln!(
            out,
            "-- SQLite has no roles: data.db and keys.db are protected by their mode (0600, \
             the service's user only), the append-only audit triggers and the hash chain."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for (what, url, statements) in sections {
        writeln!(out, "-- {what} ({url})")?;
        for statement in &statements {
            if args.apply {
                writeln!(out, "-- applied: {statement};")?;
            } else {
                writeln!(out, "{statement};")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Per database: its name, URL (redacted) and the statements, applied if `apply`.
async fn statements(
    store: &Store,
    grantee: &Grantee,
    apply: bool,
) -> anyhow::Result<Vec<(&'static str, String, Vec<String>)>> {
    let mut sections = Vec::new();
    for (what, db) in [
        ("data database", store.data()),
        ("key store", store.keys().database()),
    ] {
        let statements = if apply {
            grants::apply_serving_grants(db, grantee).await
        } else {
            grants::serving_grants(db, grantee).await
        }
        .with_context(|| format!("cannot grant on the {what}"))?;
        sections.push((what, db.redacted_url().to_owned(), statements));
    }
    Ok(sections)
}
