//! The data-quality report of an import: counts, every rejected row with where and why, the
//! identifiers that failed their checks, the duplicates by fødselsnummer, and throughput.
//!
//! **Invariant**: no value from the source is ever in the report: rows are named by their
//! number, problems by the field (a JSON pointer), the source column and a stable code, and
//! messages come from the validation that never repeats a value. A duplicate names the rows,
//! never the number they share.

use datavern_core::catalog::Kommunenummer;
use serde::Serialize;

/// Whether an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Validate, check and write.
    Apply,
    /// Validate and check everything, write nothing (no records, no checkpoint).
    DryRun,
}

/// What an import run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The import's id: a digest of the collection, tenant, source and mapping. A rerun of
    /// the same import (same source content, same mapping) has the same id and resumes.
    pub import_id: String,
    /// The collection written.
    pub collection: String,
    /// The tenant written for.
    pub tenant: Kommunenummer,
    /// The purpose of the processing.
    pub purpose: String,
    /// The source, e.g. `csv innbyggere.csv` or `table personer at postgres://…` (no
    /// password).
    pub source: String,
    /// Whether it wrote.
    pub mode: ImportMode,
    /// The run continued an import interrupted before: the rows up to this one were
    /// committed by earlier runs and skipped.
    pub resumed_after_row: Option<u64>,
    /// The import had been completed by an earlier run: nothing was read or written.
    pub already_done: bool,
    /// The whole source was read (else the run stopped after `--max-batches`).
    pub complete: bool,
    /// Rows read by this run.
    pub rows_read: u64,
    /// Records written by this run (in a dry run: that would have been written).
    pub imported: u64,
    /// Rows rejected by this run.
    pub rejected: u64,
    /// Transactions committed by this run.
    pub batches: u64,
    /// The rejected rows, in source order.
    pub rejections: Vec<RejectedRow>,
    /// Identifiers that failed their check digits or format (a subset of the rejections),
    /// per row and field.
    pub invalid_identifiers: Vec<InvalidIdentifier>,
    /// Rows whose fødselsnummer (or D-nummer) another row of the source or a stored record
    /// already has (rejected: a person is imported once).
    pub duplicates: Vec<Duplicate>,
    /// The fødselsnummer fields checked against the records already stored (by blind
    /// index, through the governed lookup); a field not listed was checked within the
    /// source only (it is not searchable, or the purpose may not look it up).
    pub checked_against_stored: Vec<String>,
    /// Wall time of the run, in seconds.
    pub elapsed_seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// The row's number in the source (1 = the first data row, after a CSV header).
    pub row: u64,
    /// Every problem found.
    pub problems: Vec<RowProblem>,
}

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// JSON pointer to the field (`/fodselsnummer`), or `""` for the row as a whole.
    pub pointer: String,
    /// The source column the field was read from, if the problem is with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A stable code: a validation code (`invalid_identifier`, `missing_field`, …), a
    /// conversion's (`invalid_date`, `wrong_type`), the source's (`wrong_column_count`,
    /// `invalid_utf8`), a duplicate's (`duplicate_in_source`, `already_stored`) or the
    /// store's refusal (`duplicate_value`, `reference_not_found`, …).
    pub code: String,
    /// What is wrong, never the value.
    pub message: String,
}

/// An identifier that failed its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidIdentifier {
    /// The row.
    pub row: u64,
    /// The field.
    pub field: String,
    /// The source column.
    pub column: Option<String>,
    /// Why (e.g. `not a valid fødselsnummer: first check digit does not match`).
    pub message: String,
}

/// Where the fødselsnummer of a row was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateOf {
    /// An earlier row of the source.
    Source,
    /// A record already stored.
    Stored,
}

/// A row rejected as a duplicate by fødselsnummer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The row.
    pub row: u64,
    /// The identifier field.
    pub field: String,
    /// Seen before in the source or among the stored records.
    pub of: DuplicateOf,
    /// The earlier row of the source with the same number (for `source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_row: Option<u64>,
}

impl RowProblem {
    /// A problem with `field`, read from `column`.
    pub(crate) fn at_field(
        field: &str,
        column: Option<&str>,
        code: &str,
        message: impl Into<String>,
    ) -> RowProblem {
        RowProblem {
            pointer: format!("/{}", field.replace('~', "~0").replace('/', "~1")),
            column: column.map(str::to_owned),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A problem with the row as a whole.
    pub(crate) fn at_row(code: &str, message: impl Into<String>) -> RowProblem {
        RowProblem {
            pointer: String::new(),
            column: None,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}
