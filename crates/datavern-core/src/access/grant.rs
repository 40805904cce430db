//! What access was granted: which fields may be read and written, which are withheld, and
//! what remains to check per record.

use serde::Serialize;

use crate::catalog::{CollectionName, FieldName, Kommunenummer, PurposeId};
use crate::classification::Classification;

use super::audit::{AuditFacts, Outcome};
use super::denial::Denial;
use super::principal::PrincipalId;
use super::request::{ConsentState, Operation};

/// Access granted for one request: the operation may proceed, touching only the fields listed
/// here.
///
/// Fields are in catalog order. A field is **readable** when the purpose may read it (the
/// field's `purposes`, or the collection's when it declares none) and its classification is
/// within the principal's clearance; every other field is **withheld**, listed with the
/// reason so the response can say which fields it leaves out. The same rule decides which
/// fields may be **written** (see `docs/access.md`: writing a value is processing it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub(super) principal: PrincipalId,
    pub(super) tenant: Kommunenummer,
    pub(super) operation: Operation,
    pub(super) collection: CollectionName,
    pub(super) purpose: PurposeId,
    pub(super) clearance: Classification,
    pub(super) readable: Vec<FieldName>,
    pub(super) withheld: Vec<Withheld>,
    pub(super) lookup_field: Option<FieldName>,
    pub(super) consent: ConsentCheck,
}

/// A field left out of a response, or refused in a write, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// The field.
    pub field: FieldName,
    /// Why.
    pub reason: WithheldReason,
}

/// Why a field is withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WithheldReason {
    /// The purpose is not among the field's purposes (e.g. a fødselsnummer outside purposes
    /// that need secure identification). Takes precedence when both apply.
    Purpose,
    /// The field is classified above the principal's clearance.
    Clearance,
}

/// What the consent rule still requires once access is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentCheck {
    /// The purpose does not rest on consent, or the operation is a delete (which never needs
    /// consent).
    NotRequired,
    /// The purpose rests on consent, and the subject's consent was given as granted.
    Granted,
    /// The purpose rests on consent and the operation (list, lookup) returns records of
    /// subjects not known in advance, or the caller left the check to the store
    /// ([`ConsentState::Deferred`]): the caller must keep only records whose subject has
    /// granted consent, by [`Grant::admits`].
    PerRecord,
}

impl Grant {
    /// The grant of an operator's migration that writes whole collections into a new
    /// installation (`datavern migrate copy --mask`): create in `collection` of `tenant`,
    /// every field writable, no consent check (a masked copy carries no consents, and its
    /// values are synthetic), under the collection's first purpose, which its audit entries
    /// name. `None` when the catalog has no such collection or tenant.
    ///
    /// Never made from a request: the decision point ([`super::decide`]) is the only way to a
    /// grant for an application or a person.
    pub fn for_migration(
        catalog: &crate::catalog::Catalog,
        principal: PrincipalId,
        tenant: Kommunenummer,
        collection: &str,
    ) -> Option<Grant> {
        let collection = catalog.collection(collection)?;
        catalog.deployment().tenant(&tenant)?;
        let purpose = collection.purposes().first()?.clone();
        Some(Grant {
            principal,
            tenant,
            operation: Operation::Create,
            collection: collection.name().clone(),
            purpose,
            clearance: catalog.deployment().accreditation(),
            readable: collection
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            withheld: Vec::new(),
            lookup_field: None,
            consent: ConsentCheck::NotRequired,
        })
    }

    /// The principal granted.
    pub fn principal(&self) -> &PrincipalId {
        &self.principal
    }

    /// The tenant the operation runs in (the principal's).
    pub fn tenant(&self) -> Kommunenummer {
        self.tenant
    }

    /// The operation granted.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The collection.
    pub fn collection(&self) -> &CollectionName {
        &self.collection
    }

    /// The purpose the access is for.
    pub fn purpose(&self) -> &PurposeId {
        &self.purpose
    }

    /// The fields the caller may read (and write), in catalog order.
    pub fn readable(&self) -> &[FieldName] {
        &self.readable
    }

    /// The fields the caller may write, in catalog order: the same as
    /// [`readable`](Self::readable).
    pub fn writable(&self) -> &[FieldName] {
        &self.readable
    }

    /// The fields withheld from the caller, with why, in catalog order.
    pub fn withheld(&self) -> &[Withheld] {
        &self.withheld
    }

    /// Whether the caller may read `field`.
    pub fn may_read(&self, field: &str) -> bool {
        self.readable.iter().any(|f| f == field)
    }

    /// Whether the caller may write `field`.
    pub fn may_write(&self, field: &str) -> bool {
        self.may_read(field)
    }

    /// The field searched, for a lookup.
    pub fn lookup_field(&self) -> Option<&FieldName> {
        self.lookup_field.as_ref()
    }

    /// What the consent rule still requires.
    pub fn consent(&self) -> ConsentCheck {
        self.consent
    }

    /// Whether a record whose subject's consent is `state` may be returned: always, unless
    /// the purpose rests on consent and the records are checked one by one
    /// ([`ConsentCheck::PerRecord`]), in which case only if consent is granted.
    pub fn admits(&self, state: ConsentState) -> bool {
        match self.consent {
            ConsentCheck::NotRequired | ConsentCheck::Granted => true,
            ConsentCheck::PerRecord => state == ConsentState::Granted,
        }
    }

    /// Checks that every field a create or update writes may be written (names that are not
    /// fields of the collection are left to record validation). A delete writes no single
    /// field: its clearance was checked when it was granted.
    pub fn check_write<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Result<(), Denial> {
        let refused: Vec<(FieldName, WithheldReason)> = fields
            .into_iter()
            .filter_map(|name| {
                self.withheld
                    .iter()
                    .find(|w| w.field == name)
                    .map(|w| (w.field.clone(), w.reason))
            })
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(Denial::FieldNotWritable {
                purpose: self.purpose.clone(),
                fields: refused,
            })
        }
    }

    /// The facts an audit entry for this operation records, with `fields` set to what the
    /// operation may touch: the readable fields for read, list and lookup; the writable ones
    /// for create and update (narrow them to what was written with
    /// [`AuditFacts::with_fields`]); every field for delete.
    pub fn audit(&self) -> AuditFacts {
        let fields = match self.operation {
            Operation::Delete => self
                .readable
                .iter()
                .chain(self.withheld.iter().map(|w| &w.field))
                .cloned()
                .collect(),
            _ => self.readable.clone(),
        };
        AuditFacts {
            principal: self.principal.clone(),
            tenant: self.tenant,
            operation: self.operation,
            collection: Some(self.collection.clone()),
            purpose: Some(self.purpose.clone()),
            outcome: Outcome::Granted,
            fields,
            withheld: match self.operation {
                Operation::Delete => Vec::new(),
                _ => self.withheld.iter().map(|w| w.field.clone()).collect(),
            },
        }
    }

    /// The principal's clearance the grant was computed for.
    pub fn clearance(&self) -> Classification {
        self.clearance
    }
}

impl WithheldReason {
    /// A stable lowercase name: `purpose` or `clearance`.
    pub fn as_str(self) -> &'static str {
        match self {
            WithheldReason::Purpose => "purpose",
            WithheldReason::Clearance => "clearance",
        }
    }

    /// A short explanation for messages.
    pub fn explanation(self) -> &'static str {
        match self {
            WithheldReason::Purpose => "not among the field's purposes",
            WithheldReason::Clearance => "classified above your clearance",
        }
    }
}
