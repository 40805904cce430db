//! `datavern catalog …` (placeholder until the catalog lands).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

/// Catalog commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Validate a catalog file.
    Check {
        /// The catalog file.
        file: PathBuf,
    },
}

pub(crate) fn run(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Check { file } => anyhow::bail!("not yet: {}", file.display()),
    }
}
