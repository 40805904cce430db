//! `datavern catalog …`: check a catalog file and summarise what it governs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use datavern_core::catalog::{
    Catalog, CatalogErrors, CollectionSummary, EncryptionReason, PurposeSummary, Summary,
};

/// Catalog commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Validate a catalog file: print a summary when it is valid (exit 0), every problem when
    /// it is not (exit 1).
    Check {
        /// The catalog file (YAML).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For tools: one JSON document.
    Json,
}

pub(crate) fn run(command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Check { file, format } => check(&file, format),
    }
}

fn check(file: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read catalog {}", file.display()))?;
    let result = Catalog::from_yaml(&source);
    let mut out = io::stdout().lock();
    let code = match (&result, format) {
        (Ok(catalog), Format::Text) => {
            write_summary(&mut out, file, &catalog.summary())?;
            ExitCode::SUCCESS
        }
        (Err(errors), Format::Text) => {
            write_errors(&mut out, file, errors)?;
            ExitCode::from(1)
        }
        (Ok(catalog), Format::Json) => {
            let report = serde_json::json!({
                "file": file.display().to_string(),
                "valid": true,
                "summary": catalog.summary(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            ExitCode::SUCCESS
        }
        (Err(errors), Format::Json) => {
            let report = serde_json::json!({
                "file": file.display().to_string(),
                "valid": false,
                "errors": errors,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
            ExitCode::from(1)
        }
    };
    out.flush()?;
    Ok(code)
}

/// One problem per line, `FILE:LINE:COLUMN: path: message` (editors jump to it).
fn write_errors(out: &mut impl Write, file: &Path, errors: &CatalogErrors) -> io::Result<()> {
    for error in errors {
        let position = match (error.line, error.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", file.display()),
            _ => file.display().to_string(),
        };
        writeln!(out, "{position}: {error}")?;
    }
    let count = errors.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    writeln!(out, "{}: invalid catalog, {count} {noun}", file.display())
}

fn write_summary(out: &mut impl Write, file: &Path, summary: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "{}: valid catalog (version {})",
        file.display(),
        summary.version
    )?;
    let deployment = &summary.deployment;
    writeln!(out)?;
    match &deployment.name {
        Some(name) => writeln!(out, "deployment: {name}")?,
        None => writeln!(out, "deployment")?,
    }
    writeln!(out, "  accredited for: {}", deployment.accreditation)?;
    if deployment.masked {
        writeln!(
            out,
            "  masked copy: every personal value is synthetic (a test environment)"
        )?;
    }
    let tenants: Vec<String> = deployment
        .tenants
        .iter()
        .map(|t| format!("{} {}", t.kommunenummer(), t.name()))
        .collect();
    writeln!(out, "  tenants: {}", tenants.join(", "))?;
    writeln!(out, "  storage:")?;
    let rows: Vec<Vec<String>> = deployment
        .storage
        .iter()
        .map(|s| {
            let holds = match &s.collections {
                Some(names) if names.is_empty() => "no collections".to_owned(),
                Some(names) => names.join(", "),
                None => "all collections".to_owned(),
            };
            vec![
                s.name.clone(),
                s.kind.to_string(),
                s.location.to_string(),
                holds,
            ]
        })
        .collect();
    write_table(out, "    ", &rows)?;
    writeln!(out, "  residency rules:")?;
    for rule in &deployment.residency {
        writeln!(out, "    {rule}")?;
    }

    writeln!(out)?;
    writeln!(out, "purposes ({}):", summary.purposes.len())?;
    let rows: Vec<Vec<String>> = summary.purposes.iter().map(purpose_row).collect();
    write_table(out, "  ", &rows)?;

    writeln!(out)?;
    writeln!(out, "collections ({}):", summary.collections.len())?;
    for collection in &summary.collections {
        write_collection(out, collection)?;
    }
    Ok(())
}

fn purpose_row(purpose: &PurposeSummary) -> Vec<String> {
    let mut basis = format!("{} {}", purpose.lawful_basis, purpose.lawful_basis.name());
    if let Some(condition) = purpose.special_category_condition {
        basis.push_str(&format!(" + {condition}"));
    }
    let mut notes = Vec::new();
    if purpose.requires_consent {
        notes.push("consent checked".to_owned());
    }
    if purpose.secure_identification {
        notes.push("secure identification".to_owned());
    }
    if purpose.criminal_data_basis.is_some() {
        notes.push("Art. 10 basis".to_owned());
    }
    if let Some(ground) = purpose.allowed_under_restriction {
        notes.push(format!("under restriction: {ground}"));
    }
    vec![purpose.id.clone(), basis, notes.join(", ")]
}

fn write_collection(out: &mut impl Write, collection: &CollectionSummary) -> io::Result<()> {
    writeln!(out)?;
    let mut classification = collection.classification.to_string();
    if collection.max_classification > collection.classification {
        classification.push_str(&format!(
            " (fields up to {})",
            collection.max_classification
        ));
    }
    writeln!(out, "  {}: {}", collection.name, collection.description)?;
    writeln!(out, "    classification: {classification}")?;
    if let Some(hjemmel) = &collection.unntatt_offentlighet {
        writeln!(out, "    unntatt offentlighet: {hjemmel}")?;
    }
    match collection.subjects {
        "references" => {
            let refs: Vec<String> = collection
                .subject_references
                .iter()
                .map(|r| {
                    let primary = if r.primary { ", primary" } else { "" };
                    format!(
                        "{} ({}{primary}) via {} → {}",
                        r.name, r.role, r.field, r.collection
                    )
                })
                .collect();
            writeln!(out, "    subjects: {}", refs.join("; "))?;
        }
        other => writeln!(out, "    subjects: {other}")?,
    }
    writeln!(out, "    purposes: {}", collection.purposes.join(", "))?;
    if let Some(retention) = &collection.retention {
        writeln!(out, "    retention: {retention}")?;
    }
    writeln!(out, "    erasure: {}", collection.erasure)?;
    if let Some(reason) = &collection.archive {
        writeln!(
            out,
            "    archive duty: erasure answered by restriction ({reason})"
        )?;
    }
    let mut rows = vec![
        [
            "field",
            "type",
            "category",
            "classification",
            "protection",
            "subject",
            "purposes",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for field in &collection.fields {
        let mut name = field.name.clone();
        if field.required {
            name.push('*');
        }
        let mut protection = if field.encrypted {
            let why = match field.encryption_reason {
                EncryptionReason::Mandatory => " (mandatory)",
                EncryptionReason::Category => " (category)",
                EncryptionReason::Classification => " (classification)",
                _ => "",
            };
            format!("encrypted{why}")
        } else {
            "plain".to_owned()
        };
        if field.searchable {
            protection.push_str(", searchable");
        }
        let purposes = if field.purposes == collection.purposes {
            "(all)".to_owned()
        } else {
            field.purposes.join(", ")
        };
        rows.push(vec![
            name,
            field.field_type.to_string(),
            field.category.to_owned(),
            field.classification.to_string(),
            protection,
            field.subject.clone().unwrap_or_else(|| "-".to_owned()),
            purposes,
        ]);
    }
    write_table(out, "    ", &rows)
}

/// Left-aligned columns, two spaces apart, without trailing blanks.
fn write_table(out: &mut impl Write, indent: &str, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < row.len() {
                let pad = widths[c] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
