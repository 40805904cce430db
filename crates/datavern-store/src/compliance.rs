//! The compliance report (`docs/reports.md`): what a data protection officer must act on in
//! one tenant. The sections computed here are the records past retention not yet handled,
//! personal-data fields stored unencrypted, and the active legal holds; `requests` and
//! `consent_coverage` are typed extension points filled by the data-subject-request and
//! consent registers (left `None` until they are).

use std::sync::Arc;

use datavern_core::catalog::{Catalog, Kommunenummer, RetentionAction};
use datavern_core::classification::Classification;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::holds::{LegalHold, LegalHolds};
use crate::retention::Retention;
use crate::store::Store;

/// The compliance report of one tenant at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceReport {
    /// The tenant.
    pub tenant: Kommunenummer,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Collections with records past their retention period that retention has not handled
    /// yet (only collections with any).
    pub past_retention: Vec<PastRetention>,
    /// Personal-data fields the catalog leaves unencrypted.
    pub unencrypted_personal_fields: Vec<PlainPersonalField>,
    /// The legal holds active now.
    pub legal_holds: Vec<LegalHold>,
    /// Data subject requests overdue or due soon; `None` until the request register fills it.
    pub requests: Option<RequestsSection>,
    /// Consent coverage per consent-based purpose; `None` until the consent register fills it.
    pub consent_coverage: Option<Vec<ConsentCoverage>>,
}

/// Records of one collection past their retention period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PastRetention {
    /// The collection.
    pub collection: String,
    /// What retention will do with them.
    pub action: RetentionAction,
    /// Records due that the next run will handle.
    pub records: u64,
    /// Records due that legal holds keep.
    pub held: u64,
    /// When the oldest of them reached the end of its period.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_due_at: Option<OffsetDateTime>,
}

/// A field holding personal data in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlainPersonalField {
    /// The collection.
    pub collection: String,
    /// The field.
    pub field: String,
    /// Its taxonomy category.
    pub category: String,
    /// Its effective classification.
    pub classification: Classification,
}

/// Extension point: data subject requests overdue and due soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestsSection {
    /// Requests past their deadline.
    pub overdue: Vec<RequestDue>,
    /// Requests whose deadline is near.
    pub due_soon: Vec<RequestDue>,
}

/// One request with its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestDue {
    /// The request's id.
    pub id: Uuid,
    /// Its kind (access, erasure, …).
    pub kind: String,
    /// Its deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// Extension point: how many subjects of a consent-based purpose have consented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentCoverage {
    /// The purpose.
    pub purpose: String,
    /// Subjects with records served by the purpose.
    pub subjects: u64,
    /// Of those, subjects whose latest consent event is a grant.
    pub consented: u64,
}

/// Builds the compliance report of `tenant` at `now`.
pub async fn report(
    store: &Store,
    catalog: Arc<Catalog>,
    tenant: Kommunenummer,
    now: OffsetDateTime,
) -> Result<ComplianceReport> {
    let plan = Retention::new(store.clone(), Arc::clone(&catalog))
        .plan_tenant(tenant, now)
        .await?;
    let holds = LegalHolds::new(store.clone()).active(tenant, now).await?;
    Ok(ComplianceReport {
        tenant,
        generated_at: now,
        past_retention: plan
            .collections
            .into_iter()
            .filter(|c| c.due + c.held > 0)
            .map(|c| PastRetention {
                collection: c.collection,
                action: c.action,
                records: c.due,
                held: c.held,
                oldest_due_at: c.oldest_due_at,
            })
            .collect(),
        unencrypted_personal_fields: plain_personal_fields(&catalog),
        legal_holds: holds.holds().to_vec(),
        requests: None,
        consent_coverage: None,
    })
}

/// Every personal-data field of `catalog` stored in plain text.
pub fn plain_personal_fields(catalog: &Catalog) -> Vec<PlainPersonalField> {
    catalog
        .collections()
        .iter()
        .flat_map(|c| {
            c.fields()
                .iter()
                .filter(|f| f.is_personal() && !f.is_encrypted())
                .map(|f| PlainPersonalField {
                    collection: c.name().to_string(),
                    field: f.name().to_string(),
                    category: f.category().as_str().to_owned(),
                    classification: f.classification(),
                })
        })
        .collect()
}
