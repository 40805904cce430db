//! What can go wrong with a governed record operation, beyond the database itself.

use datavern_core::access::{Denial, Operation};

/// A record operation that could not be done. Messages name collections, fields, record ids
/// and versions, never a value: record ids are pseudonyms, values are personal data.
///
/// [`code`](Self::code) is stable, for the HTTP API's error table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No record with this id in the tenant's collection, whether it does not exist at all or
    /// belongs to another tenant (the two are deliberately indistinguishable).
    #[error("there is no record with this id in collection `{collection}`")]
    NotFound {
        /// The collection.
        collection: String,
    },

    /// The update was made against a version that is no longer current (optimistic
    /// concurrency): someone else changed the record first.
    #[error(
        "the record was changed in the meantime: you sent version {expected}, it is now at \
         version {current}; read it again and reapply your change"
    )]
    VersionConflict {
        /// The version the caller expected.
        expected: i64,
        /// The record's current version.
        current: i64,
    },

    /// The grant names a collection the catalog given to [`Records`](super::Records) does not
    /// have.
    #[error("collection `{0}` is not in the catalog the records service was built with")]
    UnknownCollection(String),

    /// The grant is for another operation than the one called.
    #[error("the grant is for a {granted} operation, not a {called}")]
    WrongOperation {
        /// What the grant allows.
        granted: Operation,
        /// What was called.
        called: Operation,
    },

    /// A record validated for a create was passed to update, or the other way round.
    #[error("the record was validated for a {validated}, not for a {expected}")]
    WrongMode {
        /// The mode the record was validated in.
        validated: &'static str,
        /// The mode the operation needs.
        expected: &'static str,
    },

    /// The grant does not allow writing a field the record sets.
    #[error(transparent)]
    Denied(Box<Denial>),

    /// An update that changes no field.
    #[error("the update changes no field: give at least one field to change")]
    EmptyUpdate,

    /// A value passed validation but cannot be stored in its column.
    #[error("field `{field}` cannot be stored: {reason}")]
    Unstorable {
        /// The field.
        field: String,
        /// Why, and what to do.
        reason: String,
    },

    /// A subject reference names a record that does not exist in the referenced collection of
    /// the tenant.
    #[error(
        "field `{field}` refers to a record that does not exist in collection `{collection}`: \
         give the id of an existing record"
    )]
    ReferenceNotFound {
        /// The reference field.
        field: String,
        /// The collection it refers to.
        collection: String,
    },

    /// A stored field failed to decrypt: the ciphertext was altered, or moved from another
    /// record, field, subject or tenant, or its key is not the record's subject's.
    #[error(
        "field `{field}` of record {record} in collection `{collection}` failed to decrypt: \
         the stored ciphertext was altered or moved, or does not belong to the record's subject"
    )]
    Decryption {
        /// The collection.
        collection: String,
        /// The field.
        field: String,
        /// The record id.
        record: uuid::Uuid,
    },

    /// A stored value cannot be read back as its field's type.
    #[error(
        "field `{field}` of record {record} in collection `{collection}` holds a value that is \
         not a valid {field_type}"
    )]
    CorruptValue {
        /// The collection.
        collection: String,
        /// The field (or datavern column).
        field: String,
        /// The record id.
        record: uuid::Uuid,
        /// The field's type.
        field_type: &'static str,
    },

    /// The record has no primary subject id although its collection needs one.
    #[error("record {record} in collection `{collection}` has no primary subject")]
    MissingSubject {
        /// The collection.
        collection: String,
        /// The record id.
        record: uuid::Uuid,
    },

    /// A lookup matched more records than one answer may hold.
    #[error(
        "the lookup matches more than {limit} records; list the collection page by page instead"
    )]
    TooManyMatches {
        /// The most records a lookup returns.
        limit: usize,
    },

    /// A lookup on a field without a blind index, or on another field than the grant's.
    #[error(
        "field `{field}` cannot be looked up: it has no blind index, or the grant is for another field"
    )]
    NotSearchable {
        /// The field.
        field: String,
    },

    /// A batch create of more records than one transaction may hold.
    #[error(
        "the batch holds {given} records, more than the {max} one create_many may write; split it"
    )]
    BatchTooLarge {
        /// How many records were given.
        given: usize,
        /// The most one batch may hold.
        max: usize,
    },

    /// A list cursor that this service did not make.
    #[error("invalid cursor: pass the `next` cursor of the previous page unchanged")]
    InvalidCursor,

    /// No data subject with this id in the tenant: subject ids are the record ids of
    /// collections with `subjects: self`.
    #[error(
        "there is no data subject with this id: give the record id of a person (a record of a \
         collection with `subjects: self`)"
    )]
    SubjectNotFound,

    /// A consent event that cannot be recorded (unknown purpose, a purpose that does not
    /// rest on consent, a grant without a notice version, …).
    #[error(transparent)]
    Consent(#[from] datavern_core::consent::ConsentError),

    /// An objection to a purpose that is not declared, or whose lawful basis is not 6(1)(e)
    /// or 6(1)(f) (Art. 21(1) gives the right to object only to those).
    #[error(
        "cannot object to purpose `{purpose}`: {reason}; objections (GDPR Art. 21) cover \
         purposes based on 6(1)(e) or 6(1)(f)"
    )]
    NotObjectionable {
        /// The purpose given (only when it is a valid purpose id).
        purpose: String,
        /// Why: undeclared, or its lawful basis.
        reason: String,
    },

    /// A consent given with a create that does not fit it.
    #[error(
        "a consent given with a create must be a grant to the create's purpose `{purpose}`, and \
         the collection (`{collection}`) must hold persons (`subjects: self`): record consent \
         for an existing person with POST /v1/subjects/{{id}}/consents"
    )]
    ConsentNotApplicable {
        /// The collection.
        collection: String,
        /// The create's purpose.
        purpose: String,
    },

    /// An active legal hold covers the record (on the record, its collection or one of its
    /// data subjects): it may not be changed or deleted until the hold is released.
    #[error(
        "a legal hold covers this record in collection `{collection}` and keeps it unchanged: \
         {reason}; ask the data protection officer who placed it"
    )]
    Held {
        /// The collection.
        collection: String,
        /// The hold's reason (the DPO's text, shown to whoever is refused, never audited).
        reason: String,
    },

    /// The record's collection has archive duty: its records are preserved and never deleted.
    #[error(
        "collection `{collection}` has archive duty ({legal_reason}): its records are kept, not \
         deleted; a correction is kept as a new version"
    )]
    ArchiveDuty {
        /// The collection.
        collection: String,
        /// The catalog's legal reason for the duty.
        legal_reason: String,
    },

    /// A field the catalog marks `unique` already has this value in another record of the
    /// tenant. The message names the field, never the value.
    #[error(
        "field `{field}` is unique in collection `{collection}` and another record already has \
         this value"
    )]
    DuplicateValue {
        /// The collection.
        collection: String,
        /// The unique field.
        field: String,
    },

    /// A restriction or objection naming no subject, or more than one call may hold.
    #[error("give between 1 and {max} data subjects")]
    SubjectCount {
        /// The most one call takes.
        max: usize,
    },
}

impl RecordError {
    /// A stable code for the error, for the HTTP API's error table.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::NotFound { .. } => "record_not_found",
            RecordError::VersionConflict { .. } => "version_conflict",
            RecordError::UnknownCollection(_) => "collection_unknown",
            RecordError::WrongOperation { .. } => "wrong_operation",
            RecordError::WrongMode { .. } => "wrong_mode",
            RecordError::Denied(denial) => denial.code(),
            RecordError::EmptyUpdate => "empty_update",
            RecordError::Unstorable { .. } => "value_not_storable",
            RecordError::ReferenceNotFound { .. } => "reference_not_found",
            RecordError::Decryption { .. } => "field_decryption_failed",
            RecordError::CorruptValue { .. } => "stored_value_corrupt",
            RecordError::MissingSubject { .. } => "record_without_subject",
            RecordError::TooManyMatches { .. } => "too_many_matches",
            RecordError::NotSearchable { .. } => "field_not_searchable",
            RecordError::InvalidCursor => "invalid_cursor",
            RecordError::BatchTooLarge { .. } => "batch_too_large",
            RecordError::SubjectNotFound => "subject_not_found",
            RecordError::Consent(datavern_core::consent::ConsentError::RecorderRoleRequired {
                ..
            }) => "consent_recorder_required",
            RecordError::Consent(_) => "consent_invalid",
            RecordError::NotObjectionable { .. } => "purpose_not_objectionable",
            RecordError::SubjectCount { .. } => "invalid_subjects",
            RecordError::ConsentNotApplicable { .. } => "consent_not_applicable",
            RecordError::Held { .. } => "legal_hold",
            RecordError::ArchiveDuty { .. } => "archive_duty",
            RecordError::DuplicateValue { .. } => "duplicate_value",
        }
    }
}
