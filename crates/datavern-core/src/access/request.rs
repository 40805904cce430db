//! What is asked: an operation on a collection, for a purpose, in a tenant.

use std::fmt;

use serde::Serialize;

use crate::catalog::Kommunenummer;

/// The operations on records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create a record.
    Create,
    /// Read one record by id.
    Read,
    /// Change fields of one record.
    Update,
    /// Delete one record.
    Delete,
    /// List records (a page at a time).
    List,
    /// Find records by the exact value of a searchable field (blind index).
    Lookup,
}

/// The data subject's consent to a purpose whose lawful basis is consent, as the caller knows
/// it. The server passes [`ConsentState::Deferred`]: the store's consent register is read in
/// the statement that reads the record (`datavern_governance::controls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    /// Consent to the purpose is recorded and not withdrawn.
    Granted,
    /// Consent was refused, never given or withdrawn.
    NotGranted,
    /// Not known (no consent register, or no subject yet).
    #[default]
    Unknown,
    /// Left to the store: it looks the record's subject's current consent up at the point of
    /// access, in the same statement that reads the record (the subject of a read or update is
    /// not known before the record is read). [`decide`](super::decide) then grants with
    /// [`ConsentCheck::PerRecord`](super::ConsentCheck::PerRecord) for every operation.
    Deferred,
}

/// One request for access: which operation, on which collection, in which tenant, for which
/// purpose, and (where the purpose rests on consent) the data subject's consent.
///
/// Built with one constructor per operation, so that a lookup always names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    pub(super) operation: Operation,
    pub(super) tenant: Kommunenummer,
    pub(super) collection: &'a str,
    pub(super) purpose: Option<&'a str>,
    pub(super) lookup_field: Option<&'a str>,
    pub(super) consent: ConsentState,
}

impl<'a> AccessRequest<'a> {
    fn new(operation: Operation, collection: &'a str, tenant: Kommunenummer) -> Self {
        AccessRequest {
            operation,
            tenant,
            collection,
            purpose: None,
            lookup_field: None,
            consent: ConsentState::Unknown,
        }
    }

    /// Create a record in `collection` for `tenant` (the principal's own).
    pub fn create(collection: &'a str, tenant: Kommunenummer) -> Self {
        Self::new(Operation::Create, collection, tenant)
    }

    /// Read a record of `collection` that belongs to `tenant` (the record's tenant).
    pub fn read(collection: &'a str, tenant: Kommunenummer) -> Self {
        Self::new(Operation::Read, collection, tenant)
    }

    /// Update a record of `collection` that belongs to `tenant` (the record's tenant).
    pub fn update(collection: &'a str, tenant: Kommunenummer) -> Self {
        Self::new(Operation::Update, collection, tenant)
    }

    /// Delete a record of `collection` that belongs to `tenant` (the record's tenant).
    pub fn delete(collection: &'a str, tenant: Kommunenummer) -> Self {
        Self::new(Operation::Delete, collection, tenant)
    }

    /// List records of `collection` in `tenant` (the principal's own).
    pub fn list(collection: &'a str, tenant: Kommunenummer) -> Self {
        Self::new(Operation::List, collection, tenant)
    }

    /// Look up records of `collection` in `tenant` (the principal's own) by the value of
    /// `field`.
    pub fn lookup(collection: &'a str, tenant: Kommunenummer, field: &'a str) -> Self {
        AccessRequest {
            lookup_field: Some(field),
            ..Self::new(Operation::Lookup, collection, tenant)
        }
    }

    /// The purpose, as sent in the `Datavern-Purpose` header (`None` if the header is
    /// missing).
    pub fn with_purpose(mut self, purpose: Option<&'a str>) -> Self {
        self.purpose = purpose;
        self
    }

    /// The data subject's consent to the purpose: the record's subject for read and update,
    /// the subject being written for create. Ignored for delete (never refused for want of
    /// consent) and for list and lookup, whose records are admitted one by one
    /// ([`Grant::admits`](super::Grant::admits)).
    pub fn with_consent(mut self, consent: ConsentState) -> Self {
        self.consent = consent;
        self
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The tenant of the target.
    pub fn tenant(&self) -> Kommunenummer {
        self.tenant
    }

    /// The collection named.
    pub fn collection(&self) -> &'a str {
        self.collection
    }

    /// The purpose given, if any.
    pub fn purpose(&self) -> Option<&'a str> {
        self.purpose
    }

    /// The field searched, for a lookup.
    pub fn lookup_field(&self) -> Option<&'a str> {
        self.lookup_field
    }

    /// The consent state given.
    pub fn consent(&self) -> ConsentState {
        self.consent
    }
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 6] = [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
        Operation::List,
        Operation::Lookup,
    ];

    /// A stable lowercase name, e.g. for audit entries: `create`, `read`, `update`, `delete`,
    /// `list`, `lookup`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Lookup => "lookup",
        }
    }

    /// Whether the operation changes data (create, update, delete).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::Create | Operation::Update | Operation::Delete
        )
    }

    /// Whether the operation concerns one known record (so one known data subject): create,
    /// read, update, delete.
    pub fn is_single_record(self) -> bool {
        !matches!(self, Operation::List | Operation::Lookup)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ConsentState {
    /// A stable lowercase name: `granted`, `not_granted`, `unknown`, `deferred`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::NotGranted => "not_granted",
            ConsentState::Unknown => "unknown",
            ConsentState::Deferred => "deferred",
        }
    }
}
