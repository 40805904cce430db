//! What can go wrong with a data subject request.

use datavern_core::dsr::{ExtensionError, IllegalTransition};
use uuid::Uuid;

use datavern_store::StoreError;

/// A request operation that failed. Messages hold ids and states, never personal values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No request with this id in the tenant (another tenant's request is answered alike).
    #[error("no data subject request {0} in this tenant")]
    NotFound(Uuid),
    /// The request's state does not allow the move.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The extension is not allowed (months, total, or too late).
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    /// An extension of a request that has ended.
    #[error("a request that is {state} has ended and its deadline cannot be extended")]
    Ended {
        /// The final state.
        state: datavern_core::dsr::RequestState,
    },
    /// A rejection without a reason.
    #[error("a rejection needs a reason the data subject can be told (Art. 12(4))")]
    MissingReason,
    /// The identifier resolved to no subject.
    #[error("no data subject matches the identifier in this tenant")]
    UnknownSubject,
    /// Someone else moved the request between reading and writing it; read it again.
    #[error("the request was changed concurrently; read it again and retry")]
    Concurrent,
    /// A stored row could not be read back (a column holds a value this version does not
    /// know).
    #[error("stored data subject request {id} is unreadable: {problem}")]
    Corrupt {
        /// The request.
        id: Uuid,
        /// What is wrong with the row (column names, never values).
        problem: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<datavern_sql::SqlError> for RequestError {
    fn from(err: datavern_sql::SqlError) -> Self {
        RequestError::Store(StoreError::from(err))
    }
}

impl RequestError {
    /// A stable code: `request_not_found`, `illegal_transition`, `extension_refused`,
    /// `request_ended`, `reason_missing`, `subject_unknown`, `concurrent_change`, `corrupt`, `store`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::NotFound(_) => "request_not_found",
            RequestError::IllegalTransition(_) => "illegal_transition",
            RequestError::Extension(_) => "extension_refused",
            RequestError::Ended { .. } => "request_ended",
            RequestError::MissingReason => "reason_missing",
            RequestError::UnknownSubject => "subject_unknown",
            RequestError::Concurrent => "concurrent_change",
            RequestError::Corrupt { .. } => "corrupt",
            RequestError::Store(_) => "store",
        }
    }
}
