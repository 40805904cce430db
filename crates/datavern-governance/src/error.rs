//! The governance services' error: a store failure, or the rule that refused.

use datavern_store::StoreError;

use crate::holds::HoldError;
use crate::rights::RightsError;

/// Why a governance service could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed or refused (database unavailable, a record error, the audit log).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A legal hold could not be placed or released; see its `code()`.
    #[error(transparent)]
    Hold(#[from] HoldError),

    /// A data subject request could not be carried out (unknown subject, a correction that
    /// does not validate or is not the subject's record); see its `code()`.
    #[error(transparent)]
    Rights(#[from] RightsError),
}

/// The governance services' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the database could not be reached or stopped answering: the request may
    /// succeed when retried later (see [`StoreError::is_unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Store(err) => err.is_unavailable(),
            _ => false,
        }
    }
}

impl From<datavern_store::RecordError> for Error {
    fn from(err: datavern_store::RecordError) -> Self {
        Error::Store(err.into())
    }
}

impl From<datavern_sql::SqlError> for Error {
    fn from(err: datavern_sql::SqlError) -> Self {
        Error::Store(err.into())
    }
}

impl From<datavern_store::audit::AuditLogError> for Error {
    fn from(err: datavern_store::audit::AuditLogError) -> Self {
        Error::Store(err.into())
    }
}

impl From<datavern_crypto::Error> for Error {
    fn from(err: datavern_crypto::Error) -> Self {
        Error::Store(err.into())
    }
}
