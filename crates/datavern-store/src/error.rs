//! The store's error type.

use std::fmt;

use crate::backend::Backend;
use crate::schema::IncompatibleCatalog;

/// Which of a store's two databases something concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatabaseRole {
    /// The data database: collection tables, audit log, outbox, jobs.
    Data,
    /// The key store: wrapped subject keys and blind-index root keys.
    Keys,
}

impl DatabaseRole {
    /// The lowercase name, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseRole::Data => "data",
            DatabaseRole::Keys => "keys",
        }
    }
}

impl fmt::Display for DatabaseRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatabaseRole::Data => "data",
            DatabaseRole::Keys => "key store",
        })
    }
}

/// Everything that can go wrong in the store. Messages never contain passwords (URLs are
/// redacted), key material or personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The configuration cannot work; the message says what to change.
    #[error("invalid database configuration: {0}")]
    Config(String),

    /// A database could not be reached (network, authentication, TLS, missing database).
    #[error("cannot connect to the {role} database ({backend} at {url})")]
    Connect {
        /// Which database.
        role: DatabaseRole,
        /// Its backend.
        backend: Backend,
        /// Its URL, password redacted.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// Applying the internal migrations failed.
    #[error("cannot migrate the {role} database")]
    Migrate {
        /// Which database.
        role: DatabaseRole,
        /// What sqlx reported.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// The database lacks internal migrations this version needs, and the store was opened
    /// without migrating (as a serving role that may not change the schema).
    #[error(
        "the {role} database is not migrated: {missing} migration(s) missing, the first \
         {first}; run the migrations as the owner (database.migration_url, or `datavern db \
         migrate`)"
    )]
    NotMigrated {
        /// Which database.
        role: DatabaseRole,
        /// How many migrations are missing.
        missing: usize,
        /// The first missing version.
        first: i64,
    },

    /// The data and key store configurations reach the same database.
    #[error(
        "the key store is the same database as the data ({url}): give the key store its own \
         database (embedded: keys.db beside data.db) so that a copy of the data never holds \
         the keys that decrypt it"
    )]
    KeyStoreNotSeparate {
        /// The data database's URL, password redacted.
        url: String,
    },

    /// The catalog changes existing collections in ways the store cannot apply yet.
    #[error(transparent)]
    IncompatibleCatalog(#[from] IncompatibleCatalog),

    /// A collection table disagrees with the registry (`dv_collections`): it was changed or
    /// dropped outside datavern.
    #[error("table {table} of collection \"{collection}\" does not match the registry: {problem}")]
    SchemaDrift {
        /// The collection.
        collection: String,
        /// Its table.
        table: String,
        /// What differs.
        problem: String,
    },

    /// The subject's keys were destroyed (crypto-shredded); no new key is made for it.
    #[error(
        "the data keys of subject {subject} in tenant {tenant} were destroyed (erasure); \
         no new key is created for an erased subject"
    )]
    SubjectKeyDestroyed {
        /// The tenant.
        tenant: String,
        /// The subject id.
        subject: String,
    },

    /// A key handed to the key store is not the kind or version expected.
    #[error("invalid key for the key store: {0}")]
    InvalidKey(String),

    /// A stored wrapped key failed to parse, or wrapping a new key failed.
    #[error(transparent)]
    Crypto(#[from] datavern_crypto::Error),

    /// Writing, sealing, checkpointing, exporting or querying the audit log failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditLogError),

    /// A governed record operation could not be done (not found, version conflict, a value
    /// that cannot be stored, ciphertext that fails to decrypt, …); see its `code()`.
    #[error(transparent)]
    Record(#[from] crate::records::RecordError),

    /// A legal hold could not be placed or released; see its `code()`.
    #[error(transparent)]
    Hold(#[from] crate::holds::HoldError),

    /// A data subject request could not be carried out (unknown subject, a correction that
    /// does not validate or is not the subject's record); see its `code()`.
    #[error(transparent)]
    Rights(#[from] crate::rights::RightsError),

    /// A database operation failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether the database could not be reached or stopped answering (could not connect,
    /// the pool timed out or is closed, the connection was refused or lost): the request
    /// may succeed when retried later, and nothing is wrong with it or with the data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Database(err) => is_unavailable(err),
            _ => false,
        }
    }
}

fn is_unavailable(err: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::BrokenPipe
                | ErrorKind::TimedOut
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// An error with its causes, on one line, `: `-separated, for logs.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::{Error as IoError, ErrorKind};

    use super::StoreError;

    fn check(err: sqlx::Error, expected: bool) {
        let label = err.to_string();
        assert_eq!(
            StoreError::Database(err).is_unavailable(),
            expected,
            "{label}"
        );
    }

    #[test]
    fn lost_or_unreachable_database_is_unavailable() {
        check(sqlx::Error::PoolTimedOut, true);
        check(sqlx::Error::PoolClosed, true);
        check(
            sqlx::Error::Io(IoError::from(ErrorKind::ConnectionRefused)),
            true,
        );
        check(
            sqlx::Error::Io(IoError::from(ErrorKind::ConnectionReset)),
            true,
        );
        check(
            sqlx::Error::Io(IoError::from(ErrorKind::UnexpectedEof)),
            true,
        );
    }

    #[test]
    fn failed_statement_or_bad_config_is_not_unavailable() {
        check(sqlx::Error::RowNotFound, false);
        check(
            sqlx::Error::Protocol("unexpected message".to_owned()),
            false,
        );
        check(
            sqlx::Error::Io(IoError::from(ErrorKind::PermissionDenied)),
            false,
        );
        assert!(!StoreError::Config("no url".to_owned()).is_unavailable());
    }
}
