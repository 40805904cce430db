//! `datavern id …` (placeholder until identifiers land).

use std::process::ExitCode;

use clap::Subcommand;

/// Identifier commands.
#[derive(Debug, Subcommand)]
pub(crate) enum IdCommand {
    /// Validate identifiers of one kind.
    Check {
        /// The identifier kind.
        kind: String,
        /// The values to check.
        values: Vec<String>,
    },
}

pub(crate) fn run(command: IdCommand) -> anyhow::Result<ExitCode> {
    match command {
        IdCommand::Check { kind, .. } => anyhow::bail!("not yet: {kind}"),
    }
}
