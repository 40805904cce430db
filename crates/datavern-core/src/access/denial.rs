//! Why access was refused: a stable code, a class the server maps to an HTTP status, and a
//! message that says what to fix without personal data.

use std::fmt;

use crate::catalog::{CollectionName, FieldName, Kommunenummer, PurposeId};
use crate::classification::Classification;

use super::grant::WithheldReason;
use super::request::ConsentState;

/// Why access was refused. Each variant has a stable [`code`](Denial::code) and a
/// [`kind`](Denial::kind); `Display` is a message for the caller that names what to fix and
/// holds no personal data (only catalog names, purposes, classifications and tenants).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// `collection_unknown`: the catalog has no such collection.
    CollectionUnknown {
        /// The name asked for, if it is a valid collection name (else it is not repeated).
        name: Option<CollectionName>,
        /// A close collection name, if there is one.
        suggestion: Option<CollectionName>,
    },
    /// `tenant_unknown`: the principal acts for a tenant the deployment does not serve.
    TenantUnknown {
        /// The principal's tenant.
        tenant: Kommunenummer,
    },
    /// `purpose_missing`: no `Datavern-Purpose` header.
    PurposeMissing {
        /// The collection.
        collection: CollectionName,
        /// The purposes it serves.
        served: Vec<PurposeId>,
    },
    /// `purpose_unknown`: the purpose is not declared in the catalog.
    PurposeUnknown {
        /// The purpose given, if it is a valid purpose id (else it is not repeated).
        given: Option<PurposeId>,
        /// A close declared purpose, if there is one.
        suggestion: Option<PurposeId>,
    },
    /// `purpose_not_allowed`: the principal may not invoke the purpose.
    PurposeNotAllowed {
        /// The purpose.
        purpose: PurposeId,
        /// The purposes the principal may invoke.
        allowed: Vec<PurposeId>,
    },
    /// `purpose_not_served`: the collection is not processed for the purpose.
    PurposeNotServed {
        /// The purpose.
        purpose: PurposeId,
        /// The collection.
        collection: CollectionName,
        /// The purposes it serves.
        served: Vec<PurposeId>,
    },
    /// `clearance_insufficient`: the collection (or, for delete and lookup, a field) is
    /// classified above the principal's clearance.
    ClearanceInsufficient {
        /// The collection.
        collection: CollectionName,
        /// The field, when a field's classification decided.
        field: Option<FieldName>,
        /// The classification needed.
        required: Classification,
        /// The principal's clearance.
        clearance: Classification,
    },
    /// `field_unknown`: a lookup on a field the collection does not have.
    FieldUnknown {
        /// The collection.
        collection: CollectionName,
        /// The field asked for, if it is a valid field name (else it is not repeated).
        field: Option<FieldName>,
        /// A close field name, if there is one.
        suggestion: Option<FieldName>,
    },
    /// `field_not_searchable`: a lookup on a field without a blind index.
    FieldNotSearchable {
        /// The collection.
        collection: CollectionName,
        /// The field.
        field: FieldName,
        /// The fields that can be looked up.
        searchable: Vec<FieldName>,
    },
    /// `field_not_readable`: a lookup on a field the purpose may not read. Searching by a
    /// value reveals it as much as reading it does.
    FieldNotReadable {
        /// The field.
        field: FieldName,
        /// The purpose.
        purpose: PurposeId,
        /// The purposes that may read the field.
        readable_for: Vec<PurposeId>,
    },
    /// `field_not_writable`: a write of fields the purpose or clearance does not allow.
    FieldNotWritable {
        /// The purpose.
        purpose: PurposeId,
        /// The fields refused, with why.
        fields: Vec<(FieldName, WithheldReason)>,
    },
    /// `tenant_mismatch`: the record belongs to another tenant. Reported exactly like a
    /// record that does not exist ([`DenialKind::NotFound`]), so that ids cannot be probed
    /// across tenants: "forbidden" would confirm that the id exists somewhere.
    TenantMismatch {
        /// The collection.
        collection: CollectionName,
    },
    /// `consent_required`: the purpose rests on consent and the data subject's consent is not
    /// recorded as granted.
    ConsentRequired {
        /// The purpose.
        purpose: PurposeId,
        /// The consent state given.
        state: ConsentState,
    },
    /// `processing_restricted`: processing of the record's data subject is restricted (GDPR
    /// Art. 18): writes are refused, and reads are allowed only for purposes the catalog marks
    /// `allowed_under_restriction`.
    ProcessingRestricted {
        /// The purpose.
        purpose: PurposeId,
        /// Whether a write (create, update, delete) was refused, rather than a read.
        write: bool,
    },
    /// `objection_upheld`: the data subject has objected (GDPR Art. 21) to processing for the
    /// purpose, whose lawful basis is 6(1)(e) or 6(1)(f).
    ObjectionUpheld {
        /// The purpose.
        purpose: PurposeId,
    },
}

/// How the server should answer a denial; it maps these to HTTP statuses (400, 403, 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenialKind {
    /// The request itself is wrong (a missing or undeclared purpose, a lookup on a field that
    /// cannot be looked up): fix the request.
    InvalidRequest,
    /// The request is well-formed but this principal may not do it.
    Forbidden,
    /// Answer as if the target did not exist.
    NotFound,
}

impl Denial {
    /// Every code, in the order of the variants.
    pub const CODES: [&'static str; 15] = [
        "collection_unknown",
        "tenant_unknown",
        "purpose_missing",
        "purpose_unknown",
        "purpose_not_allowed",
        "purpose_not_served",
        "clearance_insufficient",
        "field_unknown",
        "field_not_searchable",
        "field_not_readable",
        "field_not_writable",
        "tenant_mismatch",
        "consent_required",
        "processing_restricted",
        "objection_upheld",
    ];

    /// The stable machine code, e.g. `purpose_not_allowed`.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::CollectionUnknown { .. } => "collection_unknown",
            Denial::TenantUnknown { .. } => "tenant_unknown",
            Denial::PurposeMissing { .. } => "purpose_missing",
            Denial::PurposeUnknown { .. } => "purpose_unknown",
            Denial::PurposeNotAllowed { .. } => "purpose_not_allowed",
            Denial::PurposeNotServed { .. } => "purpose_not_served",
            Denial::ClearanceInsufficient { .. } => "clearance_insufficient",
            Denial::FieldUnknown { .. } => "field_unknown",
            Denial::FieldNotSearchable { .. } => "field_not_searchable",
            Denial::FieldNotReadable { .. } => "field_not_readable",
            Denial::FieldNotWritable { .. } => "field_not_writable",
            Denial::TenantMismatch { .. } => "tenant_mismatch",
            Denial::ConsentRequired { .. } => "consent_required",
            Denial::ProcessingRestricted { .. } => "processing_restricted",
            Denial::ObjectionUpheld { .. } => "objection_upheld",
        }
    }

    /// How the server should answer.
    pub fn kind(&self) -> DenialKind {
        match self {
            Denial::CollectionUnknown { .. } | Denial::TenantMismatch { .. } => {
                DenialKind::NotFound
            }
            Denial::PurposeMissing { .. }
            | Denial::PurposeUnknown { .. }
            | Denial::FieldUnknown { .. }
            | Denial::FieldNotSearchable { .. } => DenialKind::InvalidRequest,
            Denial::TenantUnknown { .. }
            | Denial::PurposeNotAllowed { .. }
            | Denial::PurposeNotServed { .. }
            | Denial::ClearanceInsufficient { .. }
            | Denial::FieldNotReadable { .. }
            | Denial::FieldNotWritable { .. }
            | Denial::ConsentRequired { .. }
            | Denial::ProcessingRestricted { .. }
            | Denial::ObjectionUpheld { .. } => DenialKind::Forbidden,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::CollectionUnknown { name, suggestion } => {
                match name {
                    Some(name) => write!(f, "there is no collection `{name}`")?,
                    None => f.write_str("there is no such collection")?,
                }
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => f.write_str("; GET /v1/catalog lists the collections"),
                }
            }
            Denial::TenantUnknown { tenant } => write!(
                f,
                "your credentials act for tenant {tenant}, which this deployment does not \
                 serve; ask the operator to add it to the catalog or to correct the credentials"
            ),
            Denial::PurposeMissing { collection, served } => write!(
                f,
                "no purpose given: send the purpose of processing in the Datavern-Purpose \
                 header; collection `{collection}` serves {}",
                list(served)
            ),
            Denial::PurposeUnknown { given, suggestion } => {
                match given {
                    Some(given) => write!(f, "purpose `{given}` is not declared in the catalog")?,
                    None => f.write_str(
                        "the Datavern-Purpose header is not a purpose id (lowercase letters, \
                         digits, `_` and `-`)",
                    )?,
                }
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => f.write_str("; GET /v1/catalog lists the purposes"),
                }
            }
            Denial::PurposeNotAllowed { purpose, allowed } => {
                write!(f, "your credentials do not allow purpose `{purpose}`; ")?;
                if allowed.is_empty() {
                    f.write_str("they allow no purpose")?;
                } else {
                    write!(f, "they allow {}", list(allowed))?;
                }
                f.write_str(" (ask the administrator to grant the purpose if your task needs it)")
            }
            Denial::PurposeNotServed {
                purpose,
                collection,
                served,
            } => write!(
                f,
                "collection `{collection}` is not processed for purpose `{purpose}`; it serves {}",
                list(served)
            ),
            Denial::ClearanceInsufficient {
                collection,
                field,
                required,
                clearance,
            } => {
                match field {
                    Some(field) => write!(f, "field `{field}` of collection `{collection}`")?,
                    None => write!(f, "collection `{collection}`")?,
                }
                write!(
                    f,
                    " is classified {required}, above your clearance {clearance}; a principal \
                     cleared for {required} is needed"
                )
            }
            Denial::FieldUnknown {
                collection,
                field,
                suggestion,
            } => {
                match field {
                    Some(field) => write!(f, "collection `{collection}` has no field `{field}`")?,
                    None => write!(f, "collection `{collection}` has no such field")?,
                }
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                Ok(())
            }
            Denial::FieldNotSearchable {
                collection,
                field,
                searchable,
            } => {
                write!(
                    f,
                    "field `{field}` of collection `{collection}` cannot be looked up (it has \
                     no blind index); "
                )?;
                if searchable.is_empty() {
                    f.write_str("the collection has no searchable field")
                } else {
                    write!(f, "look up by {} instead", list(searchable))
                }
            }
            Denial::FieldNotReadable {
                field,
                purpose,
                readable_for,
            } => write!(
                f,
                "purpose `{purpose}` may not read field `{field}`, so it may not search by it \
                 either; the field is readable for {}",
                list(readable_for)
            ),
            Denial::FieldNotWritable { purpose, fields } => {
                write!(f, "purpose `{purpose}` may not write ")?;
                for (i, (field, reason)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{field}` ({})", reason.explanation())?;
                }
                f.write_str("; remove these fields from the body or use a purpose that may")
            }
            Denial::TenantMismatch { collection } => {
                write!(
                    f,
                    "there is no record with this id in collection `{collection}`"
                )
            }
            Denial::ConsentRequired { purpose, state } => {
                write!(
                    f,
                    "purpose `{purpose}` rests on the data subject's consent (GDPR Art. 6(1)(a) \
                     or 9(2)(a)), and "
                )?;
                match state {
                    ConsentState::NotGranted => {
                        f.write_str("consent has not been given or was withdrawn")?;
                    }
                    ConsentState::Granted | ConsentState::Unknown | ConsentState::Deferred => {
                        f.write_str("no granted consent is recorded")?;
                    }
                }
                f.write_str("; record the consent first, or use a purpose with another basis")
            }
            Denial::ProcessingRestricted { purpose, write } => {
                f.write_str(
                    "processing of this record's data subject is restricted (GDPR Art. 18) until \
                     the restriction is lifted: ",
                )?;
                if *write {
                    f.write_str("the record cannot be created, changed or deleted")
                } else {
                    write!(
                        f,
                        "purpose `{purpose}` is not allowed under restriction (only purposes \
                         marked `allowed_under_restriction`, such as legal claims or storage, \
                         may read it)"
                    )
                }
            }
            Denial::ObjectionUpheld { purpose } => write!(
                f,
                "this record's data subject has objected to processing for purpose `{purpose}` \
                 (GDPR Art. 21), whose basis is 6(1)(e) or 6(1)(f): it is not processed for that \
                 purpose unless the objection is lifted"
            ),
        }
    }
}

impl std::error::Error for Denial {}

/// `` `a`, `b` and `c` `` (or `none` when empty).
fn list<T: fmt::Display>(items: &[T]) -> String {
    match items {
        [] => "none".to_owned(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|i| format!("`{i}`")).collect();
            format!("{} and `{last}`", init.join(", "))
        }
    }
}
