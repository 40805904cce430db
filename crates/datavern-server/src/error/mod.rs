//! The API's one error type, rendered as RFC 9457 `application/problem+json`.
//!
//! Every error response has `type` (`https://datavern.no/problems/<code>`), `title`,
//! `status`, `detail` (what went wrong and what to do), `instance` (the route template the
//! request matched, never the path or query sent, which may hold values), `code` (the stable
//! machine code from
//! [`Code`]) and, for record bodies, `errors`: one entry per problem, each with a JSON
//! `pointer` into the body, a `code` and a `detail`.
//!
//! 5xx causes are logged in full where the error is turned into a response; the client gets a
//! generic detail and the request id (`x-request-id`) to quote.

mod code;

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datavern_core::access::Denial;
use datavern_core::consent::ConsentError;
use datavern_core::record::RecordProblems;
use datavern_governance::HoldError;
use datavern_governance::rights::RightsError;
use datavern_store::audit::AuditLogError;
use datavern_store::{RecordError, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use self::code::{Code, PROBLEM_TYPE_BASE};

/// The media type of problem details (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `detail` of every 500: the cause is in the log, never in the response.
const INTERNAL_DETAIL: &str = "an internal error occurred; it has been logged. Quote the \
                               x-request-id response header when you report it";

/// An error answered to the client: a [`Code`], a detail for the caller, optional field
/// problems and extension members, and (for 5xx) the cause, which is logged and never sent.
pub struct ApiError {
    code: Code,
    detail: String,
    errors: Vec<FieldError>,
    extensions: Map<String, Value>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// An RFC 9457 problem details object, as sent on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "https://datavern.no/problems/purpose_missing",
    "title": "Purpose missing",
    "status": 400,
    "detail": "no purpose given: send the purpose of processing in the Datavern-Purpose header; collection `innbyggere` serves `innbyggerregister` and `kommunikasjon`",
    "instance": "/v1/collections/innbyggere/records",
    "code": "purpose_missing"
}))]
pub struct Problem {
    /// The problem type URI: `https://datavern.no/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, and what to change.
    pub detail: String,
    /// The route template the request matched, e.g.
    /// `/v1/collections/{collection}/records/{id}` (never the path sent, which is input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The stable machine code (see the error code table in `docs/api.md`).
    pub code: String,
    /// For a record body or a query: every problem found, one per field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members (e.g. `checks` on a readiness failure).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extensions: Map<String, Value>,
}

/// One problem with one member of a request body (or one query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// A JSON pointer (RFC 6901) to the member, e.g. `/fodselsnummer`.
    pub pointer: String,
    /// The problem's stable code, e.g. `invalid_identifier`.
    pub code: String,
    /// What is wrong and what to send instead; never repeats the value sent.
    pub detail: String,
}

impl ApiError {
    /// An error with `code` and a detail for the caller (which must hold no personal data or
    /// secrets).
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: Map::new(),
            source: None,
        }
    }

    /// A 500 whose cause is logged in full and never sent.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        ApiError::new(Code::InternalError, INTERNAL_DETAIL).with_source(cause)
    }

    /// Adds field problems.
    pub fn with_errors(mut self, errors: impl IntoIterator<Item = FieldError>) -> Self {
        self.errors.extend(errors);
        self
    }

    /// Adds an extension member to the problem object.
    pub fn with_extension(mut self, name: &str, value: Value) -> Self {
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// Records the cause (logged for 5xx answers, never sent).
    pub fn with_source(
        mut self,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(cause.into());
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The detail sent to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The problem object this error is rendered as (without `instance`, which the problem
    /// middleware fills in from the request).
    pub fn to_problem(&self) -> Problem {
        Problem {
            problem_type: self.code.type_uri(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            instance: None,
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
            extensions: self.extensions.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("errors", &self.errors.len())
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(
                    code = %self.code,
                    error = %report(source.as_ref()),
                    "Request failed"
                ),
                None => tracing::warn!(code = %self.code, detail = %self.detail, "Request failed"),
            }
        }
        problem_response(self.to_problem())
    }
}

/// The response for a problem: status, `application/problem+json`, `WWW-Authenticate` on
/// 401, and the problem itself as a response extension so the problem middleware can add the
/// `instance`.
pub(crate) fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if problem.code == Code::CredentialsInvalid.as_str() {
            r#"Bearer realm="datavern", error="invalid_token""#
        } else {
            r#"Bearer realm="datavern""#
        };
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response.extensions_mut().insert(problem);
    response
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        ApiError::new(Code::for_denial(&denial), denial_detail(denial))
    }
}

/// The caller's message for a denial. A name the catalog does not know (a collection in the
/// path, a purpose in the header, a looked-up field) is the caller's input and is not
/// repeated; a suggestion is a catalog name and is kept.
fn denial_detail(denial: Denial) -> String {
    let without_input = match denial {
        Denial::CollectionUnknown { suggestion, .. } => Denial::CollectionUnknown {
            name: None,
            suggestion,
        },
        Denial::PurposeUnknown { suggestion, .. } => Denial::PurposeUnknown {
            given: None,
            suggestion,
        },
        Denial::FieldUnknown {
            collection,
            suggestion,
            ..
        } => Denial::FieldUnknown {
            collection,
            field: None,
            suggestion,
        },
        other => other,
    };
    without_input.to_string()
}

/// The caller's message for a consent that cannot be recorded: a purpose, channel or
/// action the catalog or the API does not know is the caller's input and is not repeated.
pub(crate) fn consent_detail(err: &ConsentError) -> String {
    match err {
        ConsentError::UnknownPurpose(_) => {
            "the purpose is not declared in the catalog; GET /v1/catalog lists them".to_owned()
        }
        ConsentError::UnknownChannel(_) => {
            "unknown channel: use web, app, paper, phone, in_person, email or api".to_owned()
        }
        ConsentError::UnknownAction(_) => "unknown action: use grant or withdraw".to_owned(),
        other => other.to_string(),
    }
}

impl From<RecordProblems> for ApiError {
    fn from(problems: RecordProblems) -> Self {
        let detail = match problems.len() {
            1 => "the record has 1 problem; see `errors`".to_owned(),
            n => format!("the record has {n} problems; see `errors`"),
        };
        ApiError::new(Code::InvalidRecord, detail).with_errors(problems.iter().map(|p| {
            FieldError {
                pointer: p.path.clone(),
                code: p.code.as_str().to_owned(),
                detail: p.message.clone(),
            }
        }))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Record(record) => record.into(),
            StoreError::Audit(AuditLogError::InvalidQuery(detail)) => {
                ApiError::new(Code::InvalidQuery, detail)
            }
            // Could not connect, pool timed out or closed, connection refused or lost: a
            // retry may succeed, so 503 rather than 500.
            err if err.is_unavailable() => ApiError::new(
                Code::DatabaseUnavailable,
                "the database is unavailable; try again shortly",
            )
            .with_source(err),
            err => ApiError::internal(err),
        }
    }
}

impl From<datavern_governance::Error> for ApiError {
    fn from(err: datavern_governance::Error) -> Self {
        match err {
            datavern_governance::Error::Store(store) => store.into(),
            datavern_governance::Error::Rights(rights) => rights.into(),
            datavern_governance::Error::Hold(hold) => hold.into(),
            err => ApiError::internal(err),
        }
    }
}

impl From<HoldError> for ApiError {
    fn from(hold: HoldError) -> Self {
        let code = match &hold {
            HoldError::NotFound => Code::HoldNotFound,
            HoldError::AlreadyReleased => Code::HoldAlreadyReleased,
            HoldError::UnknownCollection(_) => {
                // The name is the caller's: not repeated.
                return ApiError::new(
                    Code::CollectionUnknown,
                    "`collection` is not a collection of the catalog: a hold must name \
                     a governed collection; GET /v1/catalog lists them",
                );
            }
            HoldError::Reason => Code::HoldReasonInvalid,
            HoldError::ExpiryPassed => Code::HoldExpiryInvalid,
            _ => Code::BadRequest,
        };
        ApiError::new(code, hold.to_string())
    }
}

impl From<RightsError> for ApiError {
    fn from(err: RightsError) -> Self {
        // The executors' messages name collections, fields and ids, never values.
        let detail = err.to_string();
        match err {
            RightsError::SubjectNotFound { .. } => ApiError::new(Code::SubjectUnknown, detail),
            RightsError::NoSubjects | RightsError::NoGround => {
                ApiError::new(Code::InvalidSubjectRequest, detail)
            }
            // The names below come from the request body: not repeated.
            RightsError::UnknownCollection(_) => ApiError::new(
                Code::CollectionUnknown,
                "a collection named in the request is not a collection of personal data in \
                 the catalog; GET /v1/catalog lists them",
            ),
            RightsError::UnknownPurpose(_) => ApiError::new(
                Code::PurposeUnknown,
                "a purpose named in the request is not a purpose id of the catalog; GET \
                 /v1/catalog lists them",
            ),
            RightsError::NotExecutable(_) => ApiError::new(Code::RequestTypeNotExecutable, detail),
            RightsError::NotSubjectsRecord { .. }
            | RightsError::FieldNotCorrectable { .. }
            | RightsError::InvalidCorrection { .. }
            | RightsError::EmptyCorrection { .. }
            | RightsError::NothingToCorrect => ApiError::new(Code::CorrectionInvalid, detail),
            RightsError::ClearanceInsufficient {
                required, fields, ..
            } => ApiError::new(Code::ClearanceInsufficient, detail)
                .with_extension("required_clearance", Value::from(required.as_str()))
                .with_extension("fields", Value::from(fields)),
            RightsError::FourEyesRequired { .. } => ApiError::new(Code::FourEyesRequired, detail),
            other => ApiError::internal(other),
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        // The store's messages name collections, fields, ids and versions, never values.
        let detail = err.to_string();
        match err {
            RecordError::NotFound { .. } => ApiError::new(Code::RecordNotFound, detail),
            RecordError::VersionConflict { .. } => ApiError::new(Code::VersionConflict, detail),
            RecordError::UnknownCollection(_) => ApiError::new(Code::CollectionUnknown, detail),
            RecordError::Denied(denial) => ApiError::from(*denial),
            RecordError::EmptyUpdate => ApiError::new(Code::EmptyUpdate, detail),
            RecordError::Unstorable { ref field, .. } => {
                let pointer = pointer(field);
                ApiError::new(Code::ValueNotStorable, detail.clone()).with_errors([FieldError {
                    pointer,
                    code: Code::ValueNotStorable.as_str().to_owned(),
                    detail,
                }])
            }
            RecordError::ReferenceNotFound { ref field, .. } => {
                let pointer = pointer(field);
                ApiError::new(Code::ReferenceNotFound, detail.clone()).with_errors([FieldError {
                    pointer,
                    code: Code::ReferenceNotFound.as_str().to_owned(),
                    detail,
                }])
            }
            RecordError::TooManyMatches { .. } | RecordError::InvalidCursor => {
                ApiError::new(Code::InvalidQuery, detail)
            }
            RecordError::SubjectNotFound => ApiError::new(Code::SubjectNotFound, detail),
            RecordError::Consent(datavern_core::consent::ConsentError::RecorderRoleRequired {
                ..
            }) => ApiError::new(Code::ConsentRecorderRequired, detail),
            RecordError::Consent(ref consent) => {
                ApiError::new(Code::ConsentInvalid, consent_detail(consent))
            }
            RecordError::Held { .. } => ApiError::new(Code::LegalHold, detail),
            RecordError::ArchiveDuty { .. } => ApiError::new(Code::ArchiveDuty, detail),
            RecordError::DuplicateValue { ref field, .. } => {
                let pointer = pointer(field);
                ApiError::new(Code::DuplicateValue, detail.clone()).with_errors([FieldError {
                    pointer,
                    code: Code::DuplicateValue.as_str().to_owned(),
                    detail,
                }])
            }
            RecordError::ConsentNotApplicable { .. } => {
                ApiError::new(Code::ConsentNotApplicable, detail)
            }
            RecordError::NotObjectionable { .. } => {
                ApiError::new(Code::PurposeNotObjectionable, detail)
            }
            RecordError::SubjectCount { .. } => ApiError::new(Code::BadRequest, detail),
            // No route sends a batch yet; one that does must split it, as the message says.
            RecordError::BatchTooLarge { .. } => ApiError::new(Code::PayloadTooLarge, detail),
            // A wrong grant or mode is this crate's bug; a decryption failure, a corrupt value
            // or a record without subject is stored data gone wrong: logged in full, never
            // sent.
            other => ApiError::internal(other),
        }
    }
}

/// The JSON pointer of a top-level member (RFC 6901).
fn pointer(member: &str) -> String {
    format!("/{}", member.replace('~', "~0").replace('/', "~1"))
}

/// An error and its causes on one line, `: `-separated.
pub(crate) fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use datavern_sql::{Database, DatabaseConfig, DatabaseRole};
    use datavern_store::StoreError;

    use super::{ApiError, Code};

    /// A SQLite database in a temporary directory.
    async fn sqlite() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let config = DatabaseConfig::sqlite_file(dir.path().join("data.db"));
        let db = Database::connect(&config, DatabaseRole::Data)
            .await
            .unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn unreachable_database_is_503_database_unavailable() {
        let (_dir, db) = sqlite().await;
        db.close().await;
        let closed = db.ping().await.unwrap_err();
        let nobody_listens = DatabaseConfig::new("postgres://postgres@127.0.0.1:1/datavern")
            .unwrap()
            .with_acquire_timeout(Duration::from_secs(5));
        let refused = Database::connect(&nobody_listens, DatabaseRole::Data)
            .await
            .unwrap_err();
        for err in [closed, refused] {
            let api = ApiError::from(StoreError::from(err));
            assert_eq!(api.code(), Code::DatabaseUnavailable);
        }
    }

    #[test]
    fn oversized_batch_is_413_payload_too_large() {
        let err = datavern_store::records::RecordError::BatchTooLarge {
            given: 1001,
            max: 1000,
        };
        let api = ApiError::from(err);
        assert_eq!(api.code(), Code::PayloadTooLarge);
        assert!(api.detail().contains("1000"), "{}", api.detail());
    }

    #[tokio::test]
    async fn other_database_error_is_500_internal() {
        let (_dir, db) = sqlite().await;
        let mut pooled = db.acquire().await.unwrap();
        let err = pooled
            .conn()
            .execute_raw("SELECT * FROM no_such_table")
            .await
            .unwrap_err();
        let api = ApiError::from(StoreError::from(err));
        assert_eq!(api.code(), Code::InternalError);
    }
}
