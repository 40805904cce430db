//! The runner's clearance caps what a request returns or changes.
//!
//! A right run on behalf of a principal reaches only fields whose effective classification
//! is within the principal's clearance and the deployment's accreditation (the *cap*):
//!
//! - access and portability: every field the report or export would hold about the subject
//!   (whatever its value) must be within the cap; otherwise the right is refused
//!   ([`RightsError::ClearanceInsufficient`]) before anything is decrypted, naming the level
//!   needed and the fields (names only). An answer to the data subject is complete or not
//!   given: a principal with that clearance runs it.
//! - rectification: every corrected field must be within the cap.
//! - erasure: every field the erasure deletes or nulls must be within the cap (erasure
//!   discloses nothing, but destroys classified data irreversibly); what archive duty keeps
//!   and only restricts is not changed and does not count.
//!
//! [`Rights::run`](super::Rights::run) checks this before the request is started, so a refusal
//! leaves the request as it was; each right checks it again on the rows it reads in its own
//! transaction.

use std::collections::BTreeSet;

use datavern_core::catalog::{Catalog, Collection, ErasurePolicy};
use datavern_core::classification::Classification;

use super::access::{Appearance, SubjectRole, appearances, field_concerns};
use super::erase::{anonymized, attributed};
use super::portability::exclusion;
use super::{Actor, RightsError};
use datavern_store::records::raw::RawRow;
use datavern_store::table::Table;

/// What a right does with the fields it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Returns them (access).
    Access,
    /// Returns those the subject provided (portability).
    Portability,
    /// Deletes or nulls them (erasure).
    Erasure,
}

/// The highest classification `actor` may reach in `catalog`'s deployment.
pub(super) fn cap(catalog: &Catalog, actor: &Actor) -> Classification {
    actor.clearance.min(catalog.deployment().accreditation())
}

/// The fields a right would reach above the cap, collected over rows.
#[derive(Debug)]
pub(super) struct Shortfall {
    cap: Classification,
    required: Classification,
    fields: BTreeSet<String>,
}

impl Shortfall {
    /// None yet, against `cap`.
    pub(super) fn new(cap: Classification) -> Self {
        Shortfall {
            cap,
            required: cap,
            fields: BTreeSet::new(),
        }
    }

    /// Counts field `field` of `collection` if it is above the cap.
    pub(super) fn field(&mut self, collection: &Collection, field: &str) {
        let Some(catalog_field) = collection.field(field) else {
            return;
        };
        let level = catalog_field.classification();
        if level > self.cap {
            self.required = self.required.max(level);
            self.fields.insert(format!("{}.{field}", collection.name()));
        }
    }

    /// Counts the fields of `row` that `reach` would return or change about `subjects`.
    pub(super) fn row(
        &mut self,
        reach: Reach,
        (catalog, collection, table): (&Catalog, &Collection, &Table),
        row: &RawRow,
        subjects: &[uuid::Uuid],
    ) {
        if reach == Reach::Portability && exclusion(catalog, collection).is_some() {
            return;
        }
        for appearance in appearances(table, row, subjects) {
            match reach {
                Reach::Access | Reach::Portability => {
                    for field in &table.fields {
                        let provided = reach == Reach::Access
                            || collection
                                .field(&field.name)
                                .is_some_and(|f| f.source().is_none());
                        if provided && field_concerns(collection, table, &appearance, &field.name) {
                            self.field(collection, &field.name);
                        }
                    }
                }
                Reach::Erasure => {
                    for field in erased(collection, table, &appearance) {
                        self.field(collection, &field);
                    }
                }
            }
        }
    }

    /// The refusal, if any field was above the cap.
    pub(super) fn into_result(self) -> Result<(), RightsError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        Err(RightsError::ClearanceInsufficient {
            required: self.required,
            clearance: self.cap,
            fields: self.fields.into_iter().collect(),
        })
    }
}

/// The fields an erasure deletes or nulls in a row where the subject appears as
/// `appearance`, by the collection's policy (legal holds aside): none under archive duty
/// (the row is kept and restricted); every field when the row is deleted; the personal,
/// encrypted and reference fields when it is anonymized; a secondary party's reference field
/// and the fields attributed to them.
pub(super) fn erased(
    collection: &Collection,
    table: &Table,
    appearance: &Appearance,
) -> Vec<String> {
    if collection.archive().is_some() {
        return Vec::new();
    }
    match (&appearance.role, appearance.reference) {
        (SubjectRole::Itself | SubjectRole::Primary { .. }, _) => match collection.erasure() {
            ErasurePolicy::CryptoShred | ErasurePolicy::Delete => {
                table.fields.iter().map(|f| f.name.clone()).collect()
            }
            ErasurePolicy::Anonymize => anonymized(collection, table)
                .map(|f| f.name.clone())
                .collect(),
        },
        (SubjectRole::Secondary { reference }, Some(position)) => {
            let mut fields = vec![table.references[position].field.clone()];
            fields.extend(attributed(collection, reference).map(str::to_owned));
            fields
        }
        (SubjectRole::Secondary { .. }, None) => Vec::new(),
    }
}
