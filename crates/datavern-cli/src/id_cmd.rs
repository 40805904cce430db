//! `datavern id check KIND VALUE...`: validate Norwegian identifiers, one JSON object per line.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use datavern_core::id::{self, Identifier, IdentifierKind, UnknownIdentifierKind};
use serde::Serialize;

/// Identifier commands.
#[derive(Debug, Subcommand)]
pub(crate) enum IdCommand {
    /// Validate identifiers of one kind.
    ///
    /// Prints one JSON object per value: {"input", "valid", "variant", "error"} (and "rule" for
    /// fnr: "classic" or "2032"). Exit status 0 if every value is valid, 1 if any is invalid,
    /// 2 on a usage error.
    Check {
        /// The identifier kind: fnr, duf, orgnr, mva, kontonr, iban, phone, postnummer or email.
        #[arg(value_parser = parse_kind)]
        kind: IdentifierKind,
        /// The values to check; quote a value that contains spaces ("151086 95088").
        #[arg(required = true, allow_hyphen_values = true)]
        values: Vec<String>,
    },
}

pub(crate) fn run(command: IdCommand) -> anyhow::Result<ExitCode> {
    match command {
        IdCommand::Check { kind, values } => check(kind, &values),
    }
}

/// One output line.
#[derive(Debug, Serialize)]
struct CheckLine<'a> {
    input: &'a str,
    valid: bool,
    /// The variant label, for kinds that have variants (fnr, phone) and valid values.
    variant: Option<&'static str>,
    /// Why the value is invalid.
    error: Option<String>,
    /// For fnr only: which check-digit rule the number follows (null when invalid).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<Option<&'static str>>,
}

fn check(kind: IdentifierKind, values: &[String]) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut all_valid = true;
    for input in values {
        let outcome = id::check(kind, input);
        all_valid &= outcome.is_ok();
        let line = line(kind, input, outcome);
        serde_json::to_writer(&mut out, &line).context("writing the result")?;
        writeln!(out).context("writing the result")?;
    }
    out.flush().context("writing the result")?;
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn line<'a>(
    kind: IdentifierKind,
    input: &'a str,
    outcome: Result<Identifier, id::IdError>,
) -> CheckLine<'a> {
    let is_fnr = kind == IdentifierKind::Fnr;
    match outcome {
        Ok(identifier) => CheckLine {
            input,
            valid: true,
            variant: identifier.variant(),
            error: None,
            rule: is_fnr.then(|| match &identifier {
                Identifier::Fnr(fnr) => Some(fnr.checksum_rule().as_str()),
                _ => None,
            }),
        },
        Err(err) => CheckLine {
            input,
            valid: false,
            variant: None,
            error: Some(err.to_string()),
            rule: is_fnr.then_some(None),
        },
    }
}

fn parse_kind(kind: &str) -> Result<IdentifierKind, UnknownIdentifierKind> {
    kind.parse()
}
