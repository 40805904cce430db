//! `datavern report ropa` and `datavern report compliance`: the record of processing
//! activities (GDPR Art. 30(1)) from the catalog, and the compliance report of one tenant
//! from the database (`docs/reports.md`).

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use datavern_core::catalog::{Catalog, Kommunenummer};
use datavern_core::report::Ropa;

use crate::retention_cmd::open;
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::from_str;

/// `datavern report …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReportCommand {
    /// The record of processing activities (Art. 30(1)) generated from the catalog.
    Ropa(RopaArgs),
    /// What the DPO must act on in one tenant: records past retention, unencrypted
    /// personal fields, active legal holds (JSON).
    Compliance(ComplianceArgs),
}

/// Arguments of `datavern report ropa`.
#[derive(Debug, clap::Args)]
pub(crate) struct RopaArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
}

/// Arguments of `datavern report compliance`.
#[derive(Debug, clap::Args)]
pub(crate) struct ComplianceArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant (kommunenummer) [default: the catalog's first].
    #[arg(long, value_name = "KOMMUNENR", value_parser = from_str::<Kommunenummer>())]
    tenant: Option<Kommunenummer>,
}

/// How the record of processing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// The typed document as JSON.
    Json,
    /// A Markdown document.
    Markdown,
}

pub(crate) async fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Ropa(args) => {
            let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
            let ropa = Ropa::from_catalog(&settings.catalog()?);
            let mut out = std::io::stdout().lock();
            match args.format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &ropa)?;
                    writeln!(out)?;
                }
                Format::Markdown => out.write_all(ropa.to_markdown().as_bytes())?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::Compliance(args) => {
            let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
            init_logging(LogFormat::Text);
            compliance(settings, args).await
        }
    }
}

async fn compliance(settings: Settings, args: ComplianceArgs) -> anyhow::Result<ExitCode> {
    let catalog = Arc::new(settings.catalog()?);
    let tenant = tenant(&catalog, args.tenant)?;
    let governed = open(&settings).await?;
    let report = datavern_governance::compliance::report(governed.store(), catalog, tenant).await;
    let closed = governed.close().await;
    let report = report.context("cannot build the compliance report")?;
    closed?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The tenant given, which must be in the catalog, or the catalog's first.
pub(crate) fn tenant(
    catalog: &Catalog,
    given: Option<Kommunenummer>,
) -> anyhow::Result<Kommunenummer> {
    let tenants = catalog.deployment().tenants();
    let Some(tenant) = given else {
        return tenants
            .first()
            .map(|t| t.kommunenummer())
            .ok_or_else(|| anyhow!("the catalog has no tenant"));
    };
    if !tenants.iter().any(|t| t.kommunenummer() == tenant) {
        bail!("tenant {tenant} is not in the catalog");
    }
    Ok(tenant)
}
