//! The decision point: one function from catalog, principal and request to a grant or a
//! denial.

use crate::catalog::{Catalog, Collection, CollectionName, FieldName, Purpose, PurposeId};

use super::denial::Denial;
use super::grant::{ConsentCheck, Grant, Withheld, WithheldReason};
use super::principal::Principal;
use super::request::{AccessRequest, ConsentState, Operation};

/// Decides whether `principal` may carry out `request`, and with which fields.
///
/// The rules, checked in this order (the first that fails is the denial):
///
/// 1. the collection exists (`collection_unknown`);
/// 2. the principal's tenant is one the deployment serves (`tenant_unknown`);
/// 3. a purpose is given (`purpose_missing`), declared (`purpose_unknown`), allowed for the
///    principal (`purpose_not_allowed`) and served by the collection (`purpose_not_served`);
/// 4. the collection's classification is within the principal's clearance, and for delete
///    every field's too (`clearance_insufficient`);
/// 5. for a lookup, the field exists (`field_unknown`), has a blind index
///    (`field_not_searchable`), is readable for the purpose (`field_not_readable`) and within
///    the clearance (`clearance_insufficient`);
/// 6. the target belongs to the principal's tenant (`tenant_mismatch`);
/// 7. if the purpose rests on consent, the subject's consent is granted
///    (`consent_required`) for create, read and update; for list and lookup, and whenever
///    the request's consent is [`ConsentState::Deferred`], this is left to
///    [`Grant::admits`], record by record (the store checks it in the statement that reads
///    the record); delete needs no consent (withdrawing consent is when the data must be
///    erased, Art. 17(1)(b)).
///
/// The order is part of the contract: every rule that does not depend on the target record
/// comes before the tenant check, so a record of another tenant is refused exactly like an
/// id that does not exist (the server answers both with 404 after the same checks), and the
/// consent of another tenant's subject is never consulted.
pub fn decide(
    catalog: &Catalog,
    principal: &Principal,
    request: &AccessRequest<'_>,
) -> Result<Grant, Denial> {
    let Some(collection) = catalog.collection(request.collection()) else {
        let name = request.collection();
        return Err(Denial::CollectionUnknown {
            name: CollectionName::parse(name).ok(),
            suggestion: crate::catalog::suggest(
                name,
                catalog.collections().iter().map(|c| c.name().as_str()),
            )
            .and_then(|s| CollectionName::parse(s).ok()),
        });
    };
    if catalog.deployment().tenant(&principal.tenant()).is_none() {
        return Err(Denial::TenantUnknown {
            tenant: principal.tenant(),
        });
    }

    let declared = purpose(catalog, principal, collection, request.purpose())?;
    let purpose = declared.id().clone();
    let clearance = principal.clearance();
    if collection.classification() > clearance {
        return Err(Denial::ClearanceInsufficient {
            collection: collection.name().clone(),
            field: None,
            required: collection.classification(),
            clearance,
        });
    }
    if request.operation() == Operation::Delete
        && let Some(field) = collection
            .fields()
            .iter()
            .find(|f| f.classification() > clearance)
    {
        return Err(Denial::ClearanceInsufficient {
            collection: collection.name().clone(),
            field: Some(field.name().clone()),
            required: field.classification(),
            clearance,
        });
    }

    let lookup_field = match request.lookup_field() {
        Some(name) => Some(lookup_field(collection, &purpose, principal, name)?),
        None => None,
    };

    if request.tenant() != principal.tenant() {
        return Err(Denial::TenantMismatch {
            collection: collection.name().clone(),
        });
    }

    // Deleting is never refused for want of consent: a withdrawn consent is exactly when the
    // data must go (GDPR Art. 17(1)(b)).
    let consent = if !declared.requires_consent() || request.operation() == Operation::Delete {
        ConsentCheck::NotRequired
    } else if !request.operation().is_single_record() || request.consent() == ConsentState::Deferred
    {
        ConsentCheck::PerRecord
    } else if request.consent() == ConsentState::Granted {
        ConsentCheck::Granted
    } else {
        return Err(Denial::ConsentRequired {
            purpose,
            state: request.consent(),
        });
    };

    let mut readable = Vec::new();
    let mut withheld = Vec::new();
    for field in collection.fields() {
        let reason = if !field.readable_for(purpose.as_str()) {
            Some(WithheldReason::Purpose)
        } else if field.classification() > clearance {
            Some(WithheldReason::Clearance)
        } else {
            None
        };
        match reason {
            None => readable.push(field.name().clone()),
            Some(reason) => withheld.push(Withheld {
                field: field.name().clone(),
                reason,
            }),
        }
    }

    Ok(Grant {
        principal: principal.id().clone(),
        tenant: principal.tenant(),
        operation: request.operation(),
        collection: collection.name().clone(),
        purpose,
        clearance,
        readable,
        withheld,
        lookup_field,
        consent,
    })
}

/// Rule 3: the purpose is given, declared, allowed and served.
fn purpose<'c>(
    catalog: &'c Catalog,
    principal: &Principal,
    collection: &Collection,
    given: Option<&str>,
) -> Result<&'c Purpose, Denial> {
    let Some(given) = given.map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(Denial::PurposeMissing {
            collection: collection.name().clone(),
            served: collection.purposes().to_vec(),
        });
    };
    let Some(purpose) = catalog.purpose(given) else {
        return Err(Denial::PurposeUnknown {
            given: PurposeId::parse(given).ok(),
            suggestion: crate::catalog::suggest(
                given,
                catalog.purposes().iter().map(|p| p.id().as_str()),
            )
            .and_then(|s| PurposeId::parse(s).ok()),
        });
    };
    let id = purpose.id();
    if !principal.may_use(id.as_str()) {
        return Err(Denial::PurposeNotAllowed {
            purpose: id.clone(),
            allowed: principal.purposes().to_vec(),
        });
    }
    if !collection.serves(id.as_str()) {
        return Err(Denial::PurposeNotServed {
            purpose: id.clone(),
            collection: collection.name().clone(),
            served: collection.purposes().to_vec(),
        });
    }
    Ok(purpose)
}

/// Rule 5: the field of a lookup exists, is searchable, readable and within clearance.
fn lookup_field(
    collection: &Collection,
    purpose: &PurposeId,
    principal: &Principal,
    name: &str,
) -> Result<FieldName, Denial> {
    // A renamed field is looked up by its old name as well while the catalog declares the
    // rename; the grant names the field by its new name.
    let Some(field) = collection.resolve_field(name) else {
        return Err(Denial::FieldUnknown {
            collection: collection.name().clone(),
            field: FieldName::parse(name).ok(),
            suggestion: crate::catalog::suggest(
                name,
                collection.fields().iter().map(|f| f.name().as_str()),
            )
            .and_then(|s| FieldName::parse(s).ok()),
        });
    };
    if !field.is_searchable() {
        return Err(Denial::FieldNotSearchable {
            collection: collection.name().clone(),
            field: field.name().clone(),
            searchable: collection
                .searchable_fields()
                .map(|f| f.name().clone())
                .collect(),
        });
    }
    if !field.readable_for(purpose.as_str()) {
        return Err(Denial::FieldNotReadable {
            field: field.name().clone(),
            purpose: purpose.clone(),
            readable_for: field.purposes().to_vec(),
        });
    }
    if field.classification() > principal.clearance() {
        return Err(Denial::ClearanceInsufficient {
            collection: collection.name().clone(),
            field: Some(field.name().clone()),
            required: field.classification(),
            clearance: principal.clearance(),
        });
    }
    Ok(field.name().clone())
}
