//! The dialect layer's error type.

use std::fmt;

use crate::backend::Backend;

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

/// Everything that can go wrong reaching a database or running a statement. Messages never
/// contain passwords (URLs are redacted), key material or personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
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

    /// Another process held a schema lock ([`SchemaLock`](crate::SchemaLock)) for longer
    /// than its timeout.
    #[error("another process has been {what} for over {seconds} s; try again")]
    LockTimeout {
        /// What the lock serializes ("applying the catalog to this database").
        what: &'static str,
        /// How long was waited.
        seconds: u32,
    },

    /// Another process holds a session lock ([`Database::lock_session`]) that this one asked
    /// for without waiting.
    ///
    /// [`Database::lock_session`]: crate::Database::lock_session
    #[error("another process is {what} on this database; wait for it to finish, or stop it")]
    LockHeld {
        /// What the lock serializes ("migrating the catalog").
        what: &'static str,
    },

    /// A statement failed, or its result could not be decoded.
    #[error(transparent)]
    Statement(#[from] sqlx::Error),

    /// A logical dump could not be written or loaded: `0` says what and why (table and
    /// file names, never values).
    #[error("{0}")]
    Dump(String),

    /// A copy between databases could not go on: `0` says what and why (table and column
    /// names, never values).
    #[error("{0}")]
    Copy(String),

    /// A time or date cannot cross between the time libraries or into a column (out of
    /// range); never replaced by a default.
    #[error(transparent)]
    Time(#[from] crate::at::TimeError),
}

/// The dialect layer's result type.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;

impl SqlError {
    /// A value read from the database that cannot be decoded into what it should be: `err`
    /// says why (column names, never values).
    pub fn decode(err: impl std::error::Error + Send + Sync + 'static) -> SqlError {
        SqlError::Statement(sqlx::Error::Decode(Box::new(err)))
    }

    /// Whether the database could not be reached or stopped answering (could not connect,
    /// the pool timed out or is closed, the connection was refused or lost): the request
    /// may succeed when retried later, and nothing is wrong with it or with the data.
    pub fn is_unavailable(&self) -> bool {
        use std::io::ErrorKind;
        match self {
            SqlError::Connect { .. } => true,
            SqlError::Statement(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed,
            ) => true,
            SqlError::Statement(sqlx::Error::Io(io)) => matches!(
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

    /// Whether a statement broke a unique constraint (another writer inserted the same key
    /// first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, SqlError::Statement(sqlx::Error::Database(db)) if db.is_unique_violation())
    }

    /// Whether a row or one of its columns could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(
            self,
            SqlError::Statement(sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_))
        )
    }
}

/// An error with its causes, on one line, `: `-separated, for logs.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
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

    use super::SqlError;

    fn check(err: sqlx::Error, expected: bool) {
        let label = err.to_string();
        assert_eq!(SqlError::from(err).is_unavailable(), expected, "{label}");
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
        assert!(!SqlError::Config("no url".to_owned()).is_unavailable());
    }
}
