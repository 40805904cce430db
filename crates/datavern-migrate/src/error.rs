//! The migration error: a refusal that says what to fix, or a failure of a database.

use datavern_sql::SqlError;
use datavern_store::StoreError;

/// A catalog migration refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A rule refused the step; nothing was changed.
    #[error("{message}")]
    Refused {
        /// The stable code (`catalog_invalid`, `checksum_mismatch`, `migration_open`…).
        code: Refusal,
        /// What is wrong and what to do.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a migration step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The new catalog does not parse or validate (residency included).
    CatalogInvalid,
    /// No catalog version is recorded yet: nothing to migrate from.
    NoCatalogVersion,
    /// The plan was made against another catalog version than the one in force.
    ChecksumMismatch,
    /// A change the migrations cannot make yet.
    Unsupported,
    /// Another migration is open.
    MigrationOpen,
    /// No migration is open (complete or abort without apply).
    NoMigration,
    /// The migration is not in a state that allows the step.
    WrongState,
    /// Another process is migrating.
    Locked,
    /// Stored values would not convert to a field's new type.
    InvalidValues,
    /// The new catalog is the one in force.
    NothingToDo,
}

impl Refusal {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::CatalogInvalid => "catalog_invalid",
            Refusal::NoCatalogVersion => "no_catalog_version",
            Refusal::ChecksumMismatch => "checksum_mismatch",
            Refusal::Unsupported => "change_unsupported",
            Refusal::MigrationOpen => "migration_open",
            Refusal::NoMigration => "no_migration",
            Refusal::WrongState => "migration_state",
            Refusal::Locked => "migration_locked",
            Refusal::InvalidValues => "invalid_values",
            Refusal::NothingToDo => "nothing_to_do",
        }
    }
}

impl MigrateError {
    /// A refusal with `code` and `message`.
    pub fn refused(code: Refusal, message: impl Into<String>) -> Self {
        MigrateError::Refused {
            code,
            message: message.into(),
        }
    }

    /// The refusal, if a rule refused.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            MigrateError::Refused { code, .. } => Some(*code),
            MigrateError::Store(_) => None,
        }
    }
}

impl From<SqlError> for MigrateError {
    fn from(err: SqlError) -> Self {
        match err {
            SqlError::LockHeld { what } => MigrateError::refused(
                Refusal::Locked,
                format!("another process is {what} on this database; wait for it to finish"),
            ),
            err => MigrateError::Store(StoreError::Sql(err)),
        }
    }
}

/// The crate's result.
pub type Result<T, E = MigrateError> = std::result::Result<T, E>;
