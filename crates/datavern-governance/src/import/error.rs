//! Why an import did not run to its end: refused before any row was written (fix the
//! request), the source could not be read, or the store failed.

use crate::Error;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Refused before any row was written: the mapping, the source's columns, the collection
    /// or the access decision. `problems` lists every problem, each saying what to fix.
    #[error("import refused ({code}): {}", problems.join("; "))]
    Refused {
        /// A stable code: `mapping_invalid`, `collection_unknown`, `source_unreadable`,
        /// `unknown_column`, or the access decision's denial code.
        code: &'static str,
        /// Every problem, each with what to fix.
        problems: Vec<String>,
    },

    /// The source could not be read (the file or database went away mid-run). The batches
    /// committed before stay, and a rerun resumes after them.
    #[error("cannot read the import source: {0}")]
    Source(String),

    /// The store failed (database unavailable, another run took the import over). The
    /// batches committed before stay, and a rerun resumes after them.
    #[error(transparent)]
    Store(#[from] Error),
}

impl ImportError {
    /// A refusal with one problem.
    pub(crate) fn refused(code: &'static str, problem: impl Into<String>) -> ImportError {
        ImportError::Refused {
            code,
            problems: vec![problem.into()],
        }
    }

    /// The refusal's code, if it is one.
    pub fn refusal_code(&self) -> Option<&'static str> {
        match self {
            ImportError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<datavern_store::StoreError> for ImportError {
    fn from(err: datavern_store::StoreError) -> Self {
        ImportError::Store(err.into())
    }
}
