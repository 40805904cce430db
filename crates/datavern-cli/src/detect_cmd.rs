//! `datavern detect` (placeholder until PII detection lands).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `datavern detect`.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// The text file to scan, or `-` for standard input.
    file: Option<PathBuf>,
}

pub(crate) fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet: {:?}", args.file)
}
