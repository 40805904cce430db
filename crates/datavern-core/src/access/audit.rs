//! The facts an audit entry records about an access decision: who, where, what, for which
//! purpose, the outcome, and which fields (names only, never values).

use serde::Serialize;

use crate::catalog::{CollectionName, FieldName, Kommunenummer, PurposeId};

use super::denial::Denial;
use super::principal::{Principal, PrincipalId};
use super::request::{AccessRequest, Operation};

/// What an audit entry records about one access decision. Holds names and ids only: no
/// personal data, no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFacts {
    /// Who asked.
    pub principal: PrincipalId,
    /// The principal's tenant: the audit log the entry belongs to.
    pub tenant: Kommunenummer,
    /// The operation asked for.
    pub operation: Operation,
    /// The collection named, if it is a valid collection name (it may not exist).
    pub collection: Option<CollectionName>,
    /// The purpose given, if it is a valid purpose id (it may not be declared).
    pub purpose: Option<PurposeId>,
    /// Granted, or denied with a code.
    pub outcome: Outcome,
    /// The fields touched (read, written, searched or deleted).
    pub fields: Vec<FieldName>,
    /// The fields withheld from a read.
    pub withheld: Vec<FieldName>,
}

/// The outcome of an access decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Access was granted.
    Granted,
    /// Access was denied, with the denial's code.
    Denied(&'static str),
}

impl AuditFacts {
    /// The facts for a denied request.
    ///
    /// A name the catalog does not know (the collection of `collection_unknown`, the purpose
    /// of `purpose_unknown`, the field of `field_unknown`) is left out: it is the caller's
    /// input, and the audit log is permanent.
    pub fn denied(principal: &Principal, request: &AccessRequest<'_>, denial: &Denial) -> Self {
        let collection = CollectionName::parse(request.collection())
            .ok()
            .filter(|_| !matches!(denial, Denial::CollectionUnknown { .. }));
        AuditFacts {
            principal: principal.id().clone(),
            tenant: principal.tenant(),
            operation: request.operation(),
            collection,
            purpose: request
                .purpose()
                .and_then(|p| PurposeId::parse(p.trim()).ok())
                .filter(|_| !matches!(denial, Denial::PurposeUnknown { .. })),
            outcome: Outcome::Denied(denial.code()),
            fields: request
                .lookup_field()
                .and_then(|f| FieldName::parse(f).ok())
                .filter(|_| {
                    !matches!(
                        denial,
                        Denial::FieldUnknown { .. } | Denial::CollectionUnknown { .. }
                    )
                })
                .into_iter()
                .collect(),
            withheld: Vec::new(),
        }
    }

    /// The same facts with `fields` as the fields touched (e.g. those a create or update
    /// actually wrote).
    pub fn with_fields<'a>(mut self, fields: impl IntoIterator<Item = &'a FieldName>) -> Self {
        self.fields = fields.into_iter().cloned().collect();
        self
    }
}

impl Outcome {
    /// `granted` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Granted => "granted",
            Outcome::Denied(_) => "denied",
        }
    }

    /// The denial code, if denied.
    pub fn denial_code(self) -> Option<&'static str> {
        match self {
            Outcome::Granted => None,
            Outcome::Denied(code) => Some(code),
        }
    }
}
