//! The store's error type.

use datavern_sql::SqlError;

use crate::schema::IncompatibleCatalog;

/// Everything that can go wrong in the store. Messages never contain passwords (URLs are
/// redacted), key material or personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The configuration cannot work; the message says what to change.
    #[error("invalid database configuration: {0}")]
    Config(String),

    /// A database could not be reached, a statement failed, or a migration is missing.
    #[error(transparent)]
    Sql(#[from] SqlError),

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

    /// Another run took over a resumable job (`dv_jobs`, see [`crate::jobs`]) while this one
    /// was working: this run's step was rolled back.
    #[error(
        "another run took over job {job}: this run stopped and its last step was rolled back; \
         run the job again when the other run has ended and it resumes after the last step \
         committed"
    )]
    JobSuperseded {
        /// The job's unique key.
        job: String,
    },

    /// A governed record operation could not be done (not found, version conflict, a value
    /// that cannot be stored, ciphertext that fails to decrypt, …); see its `code()`.
    #[error(transparent)]
    Record(#[from] crate::records::RecordError),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether the database could not be reached or stopped answering (could not connect,
    /// the pool timed out or is closed, the connection was refused or lost): the request
    /// may succeed when retried later, and nothing is wrong with it or with the data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Sql(err) => err.is_unavailable(),
            _ => false,
        }
    }
}

/// An error with its causes, on one line, `: `-separated, for logs.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    datavern_sql::report(err)
}
