//! What can go wrong writing, sealing, checkpointing, exporting or reading the audit log.
//! What verification *finds* is not an error: it is a [`VerifyReport`](super::VerifyReport).

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::StoreError;

/// An audit log operation failed. Messages carry ids, sizes and positions, never personal
/// values or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditLogError {
    /// The entry cannot be stored as it is (a value longer than its column, an empty
    /// principal); the message says which.
    #[error("invalid audit entry: {0}")]
    InvalidEntry(String),

    /// The group commit that carried this entry failed, so the entry was not written; every
    /// entry of the batch gets this error (fail closed: the read it records must fail too).
    #[error("the audit entry could not be written")]
    BatchFailed(#[source] Arc<StoreError>),

    /// The audit log was shut down; nothing more is recorded.
    #[error("the audit log is shut down")]
    Closed,

    /// The stored chain is not in a state the sealer may extend: its head does not match the
    /// last sealed entry, or a column cannot be read. Run `datavern audit verify`.
    #[error("cannot seal the audit log: {0}")]
    Corrupt(String),

    /// A stored entry names an action or outcome this version does not know (written by a
    /// newer version); the chain still verifies, since it hashes the stored names.
    #[error("audit entry {id} names an action or outcome this version does not know")]
    UnknownName {
        /// The entry's row id.
        id: i64,
    },

    /// Signing or parsing a checkpoint failed.
    #[error("audit checkpoint: {0}")]
    Checkpoint(#[from] datavern_crypto::audit::AuditError),

    /// Reading or writing an export file failed.
    #[error("cannot {action} {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// An export file is not in the export format (a line that is not JSON, a missing
    /// header); verification of a well-formed but altered file is a report, not this error.
    #[error("not a datavern audit export: line {line}: {problem}")]
    ExportFormat {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: String,
    },

    /// A query filter cannot be used (a bad cursor, an empty time range).
    #[error("invalid audit query: {0}")]
    InvalidQuery(String),
}
