//! What can go wrong with a backup, a restore or a repository.

use datavern_sql::SqlError;
use datavern_store::StoreError;

/// A rule that refused a backup operation: the operator can fix what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The repository's location may not hold a collection in the backup.
    Residency,
    /// A restore into a database that already holds tables.
    TargetNotEmpty,
    /// The repository's password (unwrapped by the KEK) does not open it.
    WrongPassword,
    /// A snapshot under legal hold cannot be forgotten.
    SnapshotHeld,
    /// No snapshot with that id (or of that kind).
    NoSuchSnapshot,
    /// The repository has not been initialized (`datavern backup init`).
    NotInitialized,
    /// The repository or its password file exists already.
    AlreadyInitialized,
    /// The repository's data does not check out: missing or damaged packs, indexes or
    /// snapshot files.
    Damaged,
}

impl Refusal {
    /// The stable code, as audited and printed.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Residency => "residency",
            Refusal::TargetNotEmpty => "target_not_empty",
            Refusal::WrongPassword => "wrong_password",
            Refusal::SnapshotHeld => "snapshot_held",
            Refusal::NoSuchSnapshot => "no_such_snapshot",
            Refusal::NotInitialized => "not_initialized",
            Refusal::AlreadyInitialized => "already_initialized",
            Refusal::Damaged => "repository_damaged",
        }
    }
}

/// A backup operation's error. Messages name repositories (without credentials), snapshots,
/// tables and collections, never values or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The configuration or the arguments cannot work; the message says what to change.
    #[error("{0}")]
    Config(String),

    /// A rule refused the operation.
    #[error("{message}")]
    Refused {
        /// Which rule.
        refusal: Refusal,
        /// What was refused and what to do.
        message: String,
    },

    /// The repository could not be read or written.
    #[error("backup repository: {0}")]
    Repository(String),

    /// The live store failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A database failed while dumping or loading.
    #[error(transparent)]
    Sql(#[from] SqlError),

    /// The repository password could not be wrapped or unwrapped.
    #[error("repository password: {0}")]
    Key(#[from] datavern_crypto::Error),

    /// A local file or directory could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl BackupError {
    /// A refusal by `refusal` saying `message`.
    pub fn refused(refusal: Refusal, message: impl Into<String>) -> Self {
        BackupError::Refused {
            refusal,
            message: message.into(),
        }
    }

    /// The rule that refused, if a rule did.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            BackupError::Refused { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BackupError::Io {
            what: what.into(),
            source,
        }
    }

    /// rustic's error, classified: a wrong password is a refusal, the rest a repository
    /// failure with rustic's message (which names files and ids, never data).
    pub(crate) fn rustic(err: &rustic_core::RusticError) -> Self {
        if err.is_incorrect_password() {
            return BackupError::refused(
                Refusal::WrongPassword,
                "the repository password does not open this repository: the password file \
                 belongs to another repository, or the repository was re-created",
            );
        }
        BackupError::Repository(err.display_log())
    }
}

/// A backup operation's result.
pub type Result<T, E = BackupError> = std::result::Result<T, E>;
