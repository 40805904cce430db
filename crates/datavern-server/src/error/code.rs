//! The stable error code table: every code the API answers with, its HTTP status, its problem
//! type URI and its title.
//!
//! Codes are part of the API contract: clients branch on them, so a code is never renamed or
//! given another status. New codes may be added. `docs/api.md` lists the table, and a
//! snapshot test fails when it changes.

use std::fmt;

use axum::http::StatusCode;
use datavern_core::access::{Denial, DenialKind};

/// The base of every problem type URI: `https://datavern.no/problems/<code>`.
pub const PROBLEM_TYPE_BASE: &str = "https://datavern.no/problems/";

/// Every error the API answers with. See [`Code::ALL`] for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    // ---- 400: fix the request ----
    /// The request is wrong in a way no more specific code describes.
    BadRequest,
    /// The body is not well-formed JSON.
    MalformedJson,
    /// A query parameter (cursor, limit, lookup) is malformed.
    InvalidQuery,
    /// A record id in the path is not a UUID.
    InvalidRecordId,
    /// A data subject request id in the path is not a UUID.
    InvalidRequestId,
    /// No `Datavern-Purpose` header.
    PurposeMissing,
    /// The purpose is not declared in the catalog.
    PurposeUnknown,
    /// A lookup on a field the collection does not have.
    FieldUnknown,
    /// A lookup on a field without a blind index.
    FieldNotSearchable,
    // ---- 401: who are you? ----
    /// No `Authorization` header.
    CredentialsMissing,
    /// The `Authorization` header is malformed, or the key or token is not recognised.
    CredentialsInvalid,
    // ---- 403: not allowed ----
    /// Access refused for a reason no more specific code describes.
    AccessDenied,
    /// The principal acts for a tenant the deployment does not serve.
    TenantUnknown,
    /// The principal may not invoke the purpose.
    PurposeNotAllowed,
    /// The collection is not processed for the purpose.
    PurposeNotServed,
    /// The collection or a field is classified above the principal's clearance.
    ClearanceInsufficient,
    /// A lookup on a field the purpose may not read.
    FieldNotReadable,
    /// A write of fields the purpose or clearance does not allow.
    FieldNotWritable,
    /// The purpose rests on consent and no consent is recorded.
    ConsentRequired,
    /// Processing of the record's data subject is restricted (GDPR Art. 18).
    ProcessingRestricted,
    /// The record's data subject objected to processing for the purpose (GDPR Art. 21).
    ObjectionUpheld,
    /// The catalog requires a role to record grants of consent to the purpose, and the caller
    /// lacks it.
    ConsentRecorderRequired,
    // ---- 404 ----
    /// No such route.
    RouteNotFound,
    /// The catalog has no such collection.
    CollectionUnknown,
    /// No record with this id, as far as the caller can see (also another tenant's record).
    RecordNotFound,
    /// No data subject request with this id in the caller's tenant.
    RequestNotFound,
    /// No data subject with this id in the caller's tenant.
    SubjectNotFound,
    // ---- 405, 412, 413, 415, 422 ----
    /// The route exists, but not with this method.
    MethodNotAllowed,
    /// `If-Match` names a version that is no longer current: someone changed the record.
    VersionConflict,
    /// The data subject request's state does not allow this step.
    IllegalTransition,
    /// The deadline cannot be extended (too late, too long, or the request has ended).
    ExtensionRefused,
    /// The body is larger than the configured limit.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// Well-formed JSON of the wrong shape (e.g. an array where an object is expected).
    InvalidBody,
    /// A record body breaks the collection's rules; `errors` lists every problem.
    InvalidRecord,
    /// An update that changes no field.
    EmptyUpdate,
    /// A subject reference names no record of the tenant in the referenced collection.
    ReferenceNotFound,
    /// A value passed validation but does not fit its column.
    ValueNotStorable,
    /// A data subject request body breaks a rule (type, identifier, parameters, months,
    /// reason); `errors` lists every problem.
    InvalidSubjectRequest,
    /// The identifier names no data subject of the tenant.
    SubjectUnknown,
    /// The server cannot resolve this kind of identifier to a data subject.
    SubjectNotResolvable,
    /// A consent event that cannot be recorded (a purpose that does not rest on consent, a
    /// grant without a notice version, …).
    ConsentInvalid,
    /// A consent given with a create that does not fit it.
    ConsentNotApplicable,
    /// An objection to a purpose not based on 6(1)(e) or 6(1)(f).
    PurposeNotObjectionable,
    /// A rectification's corrections cannot be applied (missing, another person's record, a
    /// field not about the subject, an invalid value); nothing was changed.
    CorrectionInvalid,
    /// No legal hold with this id in the tenant.
    HoldNotFound,
    /// The legal hold was released already.
    HoldAlreadyReleased,
    /// A legal hold's reason is empty or too long.
    HoldReasonInvalid,
    /// A legal hold's expiry is not in the future.
    HoldExpiryInvalid,
    // ---- 429 ----
    /// Too many requests from this client address or principal; `Retry-After` says when to
    /// try again.
    RateLimited,
    /// An active legal hold covers the record (on it, its collection or its data subject):
    /// it may not be changed or deleted; `detail` gives the hold's reason.
    LegalHold,
    /// The collection has archive duty: its records are never deleted.
    ArchiveDuty,
    /// A field the catalog marks unique already has this value in another record.
    DuplicateValue,
    // ---- 5xx ----
    /// Something failed inside the server; the cause is in the server's log.
    InternalError,
    /// The request took longer than the configured timeout.
    RequestTimeout,
    /// A database is unreachable or the pool is exhausted.
    DatabaseUnavailable,
    /// Readiness check: a database does not answer.
    NotReady,
    /// No executor for this type of data subject request is installed in this server.
    RequestTypeNotExecutable,
    /// The four-eyes rule: the principal who verified a data subject request may not also
    /// run it (erasure and rectification by default).
    FourEyesRequired,
}

impl Code {
    /// Every code, grouped by status.
    pub const ALL: [Code; 59] = [
        Code::BadRequest,
        Code::MalformedJson,
        Code::InvalidQuery,
        Code::InvalidRecordId,
        Code::PurposeMissing,
        Code::PurposeUnknown,
        Code::FieldUnknown,
        Code::FieldNotSearchable,
        Code::CredentialsMissing,
        Code::CredentialsInvalid,
        Code::AccessDenied,
        Code::TenantUnknown,
        Code::PurposeNotAllowed,
        Code::PurposeNotServed,
        Code::ClearanceInsufficient,
        Code::FieldNotReadable,
        Code::FieldNotWritable,
        Code::ConsentRequired,
        Code::RouteNotFound,
        Code::CollectionUnknown,
        Code::RecordNotFound,
        Code::MethodNotAllowed,
        Code::VersionConflict,
        Code::PayloadTooLarge,
        Code::UnsupportedMediaType,
        Code::InvalidBody,
        Code::InvalidRecord,
        Code::EmptyUpdate,
        Code::ReferenceNotFound,
        Code::ValueNotStorable,
        Code::HoldNotFound,
        Code::HoldAlreadyReleased,
        Code::HoldReasonInvalid,
        Code::HoldExpiryInvalid,
        Code::InternalError,
        Code::RequestTimeout,
        Code::DatabaseUnavailable,
        Code::NotReady,
        Code::InvalidRequestId,
        Code::RequestNotFound,
        Code::IllegalTransition,
        Code::ExtensionRefused,
        Code::InvalidSubjectRequest,
        Code::SubjectUnknown,
        Code::SubjectNotResolvable,
        Code::RequestTypeNotExecutable,
        Code::ProcessingRestricted,
        Code::ObjectionUpheld,
        Code::ConsentRecorderRequired,
        Code::SubjectNotFound,
        Code::ConsentInvalid,
        Code::ConsentNotApplicable,
        Code::PurposeNotObjectionable,
        Code::CorrectionInvalid,
        Code::RateLimited,
        Code::LegalHold,
        Code::ArchiveDuty,
        Code::DuplicateValue,
        Code::FourEyesRequired,
    ];

    /// The stable machine code, e.g. `purpose_not_allowed`.
    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        self.row().1
    }

    /// A short, fixed summary of the problem type (RFC 9457 `title`).
    pub fn title(self) -> &'static str {
        self.row().2
    }

    /// The problem type URI (RFC 9457 `type`): `https://datavern.no/problems/<code>`.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.as_str())
    }

    /// The code for an access denial. `tenant_mismatch` becomes [`Code::RecordNotFound`]: a
    /// record of another tenant is answered exactly like one that does not exist, so that ids
    /// cannot be probed across tenants.
    pub fn for_denial(denial: &Denial) -> Code {
        if matches!(denial, Denial::TenantMismatch { .. }) {
            return Code::RecordNotFound;
        }
        if let Some(code) = Code::ALL.into_iter().find(|c| c.as_str() == denial.code()) {
            return code;
        }
        // A denial the core added after this table: refused with its message and the
        // generic code of its kind until it gets a code of its own here.
        match denial.kind() {
            DenialKind::NotFound => Code::RecordNotFound,
            DenialKind::InvalidRequest => Code::BadRequest,
            _ => Code::AccessDenied,
        }
    }

    fn row(self) -> (&'static str, StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Code::BadRequest => ("bad_request", S::BAD_REQUEST, "Bad request"),
            Code::MalformedJson => ("malformed_json", S::BAD_REQUEST, "Malformed JSON"),
            Code::InvalidQuery => ("invalid_query", S::BAD_REQUEST, "Invalid query parameter"),
            Code::InvalidRecordId => ("invalid_record_id", S::BAD_REQUEST, "Invalid record id"),
            Code::PurposeMissing => ("purpose_missing", S::BAD_REQUEST, "Purpose missing"),
            Code::PurposeUnknown => ("purpose_unknown", S::BAD_REQUEST, "Unknown purpose"),
            Code::FieldUnknown => ("field_unknown", S::BAD_REQUEST, "Unknown field"),
            Code::FieldNotSearchable => (
                "field_not_searchable",
                S::BAD_REQUEST,
                "Field cannot be looked up",
            ),
            Code::CredentialsMissing => (
                "credentials_missing",
                S::UNAUTHORIZED,
                "Authentication required",
            ),
            Code::CredentialsInvalid => (
                "credentials_invalid",
                S::UNAUTHORIZED,
                "Invalid credentials",
            ),
            Code::AccessDenied => ("access_denied", S::FORBIDDEN, "Access denied"),
            Code::TenantUnknown => ("tenant_unknown", S::FORBIDDEN, "Tenant not served"),
            Code::PurposeNotAllowed => (
                "purpose_not_allowed",
                S::FORBIDDEN,
                "Purpose not allowed for these credentials",
            ),
            Code::PurposeNotServed => (
                "purpose_not_served",
                S::FORBIDDEN,
                "Collection not processed for this purpose",
            ),
            Code::ClearanceInsufficient => (
                "clearance_insufficient",
                S::FORBIDDEN,
                "Clearance insufficient",
            ),
            Code::FieldNotReadable => (
                "field_not_readable",
                S::FORBIDDEN,
                "Field not readable for this purpose",
            ),
            Code::FieldNotWritable => (
                "field_not_writable",
                S::FORBIDDEN,
                "Field not writable for this purpose",
            ),
            Code::ConsentRequired => ("consent_required", S::FORBIDDEN, "Consent required"),
            Code::ProcessingRestricted => (
                "processing_restricted",
                S::FORBIDDEN,
                "Processing restricted",
            ),
            Code::ObjectionUpheld => ("objection_upheld", S::FORBIDDEN, "Data subject objected"),
            Code::ConsentRecorderRequired => (
                "consent_recorder_required",
                S::FORBIDDEN,
                "Consent recorder role required",
            ),
            Code::FourEyesRequired => (
                "four_eyes_required",
                S::FORBIDDEN,
                "A second principal must run this request",
            ),
            Code::SubjectNotFound => ("subject_not_found", S::NOT_FOUND, "Data subject not found"),
            Code::ConsentInvalid => (
                "consent_invalid",
                S::UNPROCESSABLE_ENTITY,
                "Consent cannot be recorded",
            ),
            Code::ConsentNotApplicable => (
                "consent_not_applicable",
                S::UNPROCESSABLE_ENTITY,
                "Consent does not fit the create",
            ),
            Code::PurposeNotObjectionable => (
                "purpose_not_objectionable",
                S::UNPROCESSABLE_ENTITY,
                "Purpose not open to objection",
            ),
            Code::RouteNotFound => ("route_not_found", S::NOT_FOUND, "No such route"),
            Code::CollectionUnknown => ("collection_unknown", S::NOT_FOUND, "Unknown collection"),
            Code::RecordNotFound => ("record_not_found", S::NOT_FOUND, "Record not found"),
            Code::MethodNotAllowed => (
                "method_not_allowed",
                S::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ),
            Code::VersionConflict => (
                "version_conflict",
                S::PRECONDITION_FAILED,
                "Version conflict",
            ),
            Code::PayloadTooLarge => (
                "payload_too_large",
                S::PAYLOAD_TOO_LARGE,
                "Request body too large",
            ),
            Code::UnsupportedMediaType => (
                "unsupported_media_type",
                S::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
            ),
            Code::InvalidBody => (
                "invalid_body",
                S::UNPROCESSABLE_ENTITY,
                "Request body has the wrong shape",
            ),
            Code::InvalidRecord => ("invalid_record", S::UNPROCESSABLE_ENTITY, "Invalid record"),
            Code::EmptyUpdate => (
                "empty_update",
                S::UNPROCESSABLE_ENTITY,
                "Update changes nothing",
            ),
            Code::ReferenceNotFound => (
                "reference_not_found",
                S::UNPROCESSABLE_ENTITY,
                "Referenced record not found",
            ),
            Code::HoldNotFound => ("hold_not_found", S::NOT_FOUND, "Legal hold not found"),
            Code::HoldAlreadyReleased => (
                "hold_already_released",
                S::CONFLICT,
                "Legal hold already released",
            ),
            Code::HoldReasonInvalid => (
                "hold_reason_invalid",
                S::BAD_REQUEST,
                "Invalid legal hold reason",
            ),
            Code::HoldExpiryInvalid => (
                "hold_expiry_invalid",
                S::BAD_REQUEST,
                "Invalid legal hold expiry",
            ),
            Code::LegalHold => ("legal_hold", S::CONFLICT, "Record under legal hold"),
            Code::ArchiveDuty => ("archive_duty", S::CONFLICT, "Record under archive duty"),
            Code::DuplicateValue => ("duplicate_value", S::CONFLICT, "Value already taken"),
            Code::ValueNotStorable => (
                "value_not_storable",
                S::UNPROCESSABLE_ENTITY,
                "Value cannot be stored",
            ),
            Code::RateLimited => ("rate_limited", S::TOO_MANY_REQUESTS, "Too many requests"),
            Code::InternalError => (
                "internal_error",
                S::INTERNAL_SERVER_ERROR,
                "Internal server error",
            ),
            Code::RequestTimeout => (
                "request_timeout",
                S::SERVICE_UNAVAILABLE,
                "Request timed out",
            ),
            Code::DatabaseUnavailable => (
                "database_unavailable",
                S::SERVICE_UNAVAILABLE,
                "Database unavailable",
            ),
            Code::NotReady => ("not_ready", S::SERVICE_UNAVAILABLE, "Not ready"),
            Code::InvalidRequestId => (
                "invalid_request_id",
                S::BAD_REQUEST,
                "Invalid data subject request id",
            ),
            Code::RequestNotFound => (
                "request_not_found",
                S::NOT_FOUND,
                "Data subject request not found",
            ),
            Code::IllegalTransition => (
                "illegal_transition",
                S::CONFLICT,
                "Step not allowed in the request's state",
            ),
            Code::ExtensionRefused => (
                "extension_refused",
                S::CONFLICT,
                "Deadline cannot be extended",
            ),
            Code::InvalidSubjectRequest => (
                "invalid_subject_request",
                S::UNPROCESSABLE_ENTITY,
                "Invalid data subject request",
            ),
            Code::SubjectUnknown => (
                "subject_unknown",
                S::UNPROCESSABLE_ENTITY,
                "Unknown data subject",
            ),
            Code::SubjectNotResolvable => (
                "subject_not_resolvable",
                S::UNPROCESSABLE_ENTITY,
                "Identifier cannot be resolved",
            ),
            Code::RequestTypeNotExecutable => (
                "request_type_not_executable",
                S::NOT_IMPLEMENTED,
                "Request type not executable",
            ),
            Code::CorrectionInvalid => (
                "correction_invalid",
                S::UNPROCESSABLE_ENTITY,
                "Corrections cannot be applied",
            ),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
