//! Why a data subject request could not be carried out.

use datavern_core::classification::Classification;
use uuid::Uuid;

/// A data subject request that cannot be carried out as asked. Messages name collections,
/// fields and record ids, never values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RightsError {
    /// No person collection has a record with this fødselsnummer, or the subject id names
    /// no person in the tenant.
    #[error(
        "no data subject with this identifier in tenant {tenant}: check the fødselsnummer or \
         subject id"
    )]
    SubjectNotFound {
        /// The tenant searched.
        tenant: String,
    },
    /// The request names no subject.
    #[error("the request names no data subject: give at least one subject id")]
    NoSubjects,
    /// A correction names a collection the catalog does not have, or one about no person.
    #[error("collection `{0}` is not a collection of personal data in the catalog")]
    UnknownCollection(String),
    /// A correction names a record that is not one of the subject's (or does not exist).
    #[error("record {record} of collection `{collection}` is not a record of this data subject")]
    NotSubjectsRecord {
        /// The collection.
        collection: String,
        /// The record id.
        record: Uuid,
    },
    /// A correction changes a field the subject's role in the record does not cover (a
    /// subject reference, or a field attributed to another person).
    #[error(
        "field `{field}` of collection `{collection}` cannot be corrected in this request: {why}"
    )]
    FieldNotCorrectable {
        /// The collection.
        collection: String,
        /// The field.
        field: String,
        /// Why.
        why: &'static str,
    },
    /// A correction's values do not validate against the catalog.
    #[error("the correction of `{collection}` record {record} is invalid: {problems}")]
    InvalidCorrection {
        /// The collection.
        collection: String,
        /// The record id.
        record: Uuid,
        /// The problems, as the record validator words them (paths and rules, no values).
        problems: String,
    },
    /// A correction changes nothing.
    #[error("the correction of `{collection}` record {record} names no field")]
    EmptyCorrection {
        /// The collection.
        collection: String,
        /// The record id.
        record: Uuid,
    },
    /// The portability archive could not be written.
    #[error("cannot write the portability export: {0}")]
    Export(String),
    /// A rectification request run without corrections.
    #[error(
        "a rectification is run with its corrections: give, for each record, the collection, \
         the record id and the corrected fields"
    )]
    NothingToCorrect,
    /// A restriction request without its ground (Art. 18(1)).
    #[error("the restriction request names no ground of Art. 18(1)")]
    NoGround,
    /// An objection names a purpose id that is not valid.
    #[error("`{0}` is not a purpose id")]
    UnknownPurpose(String),
    /// A request type this version cannot carry out.
    #[error("{0} requests cannot be carried out by this version")]
    NotExecutable(&'static str),
    /// The right would return or change fields classified above the runner's clearance (or
    /// the deployment's accreditation).
    #[error(
        "running this request needs clearance {required}: it reaches {} classified above \
         {clearance}; a principal with clearance {required} or higher must run it",
        fields.join(", ")
    )]
    ClearanceInsufficient {
        /// The clearance needed.
        required: Classification,
        /// The runner's clearance (capped by the accreditation).
        clearance: Classification,
        /// The fields above it, as `collection.field`.
        fields: Vec<String>,
    },
    /// The four-eyes rule: the runner verified the request themselves.
    #[error(
        "{request_type} requests need four eyes: {runner} verified this request and may not \
         also run it; another principal with the role `dpo` runs it (or verifies a new one)"
    )]
    FourEyesRequired {
        /// The request type.
        request_type: &'static str,
        /// The runner, who is also the verifier.
        runner: String,
    },
}

impl RightsError {
    /// A stable code for the HTTP API's error table.
    pub fn code(&self) -> &'static str {
        match self {
            RightsError::SubjectNotFound { .. } => "subject_not_found",
            RightsError::NoSubjects => "subject_missing",
            RightsError::UnknownCollection(_) => "collection_unknown",
            RightsError::NotSubjectsRecord { .. } => "record_not_of_subject",
            RightsError::FieldNotCorrectable { .. } => "field_not_correctable",
            RightsError::InvalidCorrection { .. } => "correction_invalid",
            RightsError::EmptyCorrection { .. } => "correction_empty",
            RightsError::Export(_) => "export_failed",
            RightsError::NothingToCorrect => "corrections_missing",
            RightsError::NoGround => "invalid_subject_request",
            RightsError::UnknownPurpose(_) => "purpose_unknown",
            RightsError::NotExecutable(_) => "request_type_not_executable",
            RightsError::ClearanceInsufficient { .. } => "clearance_insufficient",
            RightsError::FourEyesRequired { .. } => "four_eyes_required",
        }
    }
}
