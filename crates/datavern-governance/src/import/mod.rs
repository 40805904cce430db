//! `datavern import`: rows from a legacy system (a CSV file, or a table of another database)
//! written through the governed path, as if each had come through the API (`docs/import.md`).
//!
//! - [`mapping`]: the mapping file, source column → catalog field with per-column
//!   conversions (trimming, empty cells, date formats, decimal commas), checked against the
//!   collection and the source before any row is read.
//! - [`source`]: the rows, numbered from 1 in a stable order: a CSV file with a header row,
//!   or a table read through `datavern_sql::SourceTable`.
//! - [`run`]: the run: the access decision for creating records for the purpose, then per
//!   batch `record::validate` (the API's validation, identifiers included), duplicates by
//!   fødselsnummer within the source and among the stored records (the governed lookup, by
//!   blind index), and one `Records::create_many_checkpointed` transaction with the records'
//!   encryption, audit entries and outbox events and the import's checkpoint in `dv_jobs`.
//! - [`report`]: the data-quality report.
//!
//! **Invariant**: a rerun of an interrupted import (same source content, same mapping:
//! the same import id) resumes after the last batch committed and never writes a row twice,
//! since the checkpoint commits with the batch. **Invariant**: nothing from the source's
//! values reaches the report, a log line, an error or an audit entry; rows are named by
//! number, problems by field, column and code. **Invariant**: a refused import (unknown
//! collection, field or column, a required field left unmapped, a purpose that may not
//! write) writes no record; the refusal is audited (`import.refused`).

pub mod error;
pub mod mapping;
pub mod report;
pub mod run;
pub mod source;

pub use self::error::ImportError;
pub use self::mapping::Mapping;
pub use self::report::{
    Duplicate, DuplicateOf, ImportMode, ImportReport, InvalidIdentifier, RejectedRow, RowProblem,
};
pub use self::run::{DEFAULT_BATCH_SIZE, IMPORT_JOB, ImportOptions, Importer, Progress};
pub use self::source::Source;
