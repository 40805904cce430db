//! The compliance report (`docs/reports.md`): what a data protection officer must act on in
//! one tenant: the records past retention not yet handled, personal-data fields stored
//! unencrypted, the active legal holds, the data subject requests overdue or due within
//! [`DUE_SOON_DAYS`] days, and the consent coverage of each consent-based purpose.
//!
//! Consent coverage is one set-based statement per purpose (sea-query, every dialect):
//!
//! ```text
//! SELECT COUNT(*), COUNT(cs.subject_id)
//!   FROM (SELECT id AS subject FROM c_nyhetsbrev WHERE tenant = ?
//!         UNION SELECT dv_subject FROM c_x WHERE tenant = ? AND dv_subject IS NOT NULL …) s
//!   LEFT JOIN dv_consent_state cs
//!     ON cs.tenant = ? AND cs.purpose = ? AND cs.subject_id = s.subject AND cs.state = 'granted'
//! ```
//!
//! The subject of a record is the one whose consent a read checks: the record itself in a
//! `subjects: self` collection, the primary subject otherwise.

use std::sync::Arc;

use datavern_core::catalog::{Catalog, Kommunenummer, Purpose, RetentionAction};
use datavern_core::classification::Classification;
use datavern_sql::At;
use datavern_sql::{Tx, TxMode};
use sea_query::{Alias, Expr, Func, JoinType, Query, SelectStatement, UnionType};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::holds::{LegalHold, LegalHolds};
use crate::requests::{DsrRequest, Requests};
use crate::retention::Retention;
use datavern_store::Store;
use datavern_store::StoreError;

/// Requests due within this many days (and not yet overdue) are listed as due soon.
pub const DUE_SOON_DAYS: u16 = 7;

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
    /// Open data subject requests overdue or due within [`DUE_SOON_DAYS`] days.
    pub requests: RequestsSection,
    /// Consent coverage per consent-based purpose (Art. 6(1)(a)), in catalog order.
    pub consent_coverage: Vec<ConsentCoverage>,
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

/// Open data subject requests overdue and due soon (deadlines are dates in Norway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestsSection {
    /// Requests past their deadline, most overdue first.
    pub overdue: Vec<RequestDue>,
    /// Requests not overdue whose deadline is within [`DUE_SOON_DAYS`] days, soonest first.
    pub due_soon: Vec<RequestDue>,
}

/// One open request with its deadline; ids and dates only, nothing about the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestDue {
    /// The request's id.
    pub id: Uuid,
    /// Its kind (access, erasure, …).
    pub kind: String,
    /// Its state (received, verified, in_progress).
    pub state: String,
    /// Its deadline (the extended one if extended), `YYYY-MM-DD`.
    pub due_on: String,
    /// Days left until the deadline on the report's date (negative when overdue).
    pub days_left: i64,
}

/// How many subjects of a consent-based purpose have consented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentCoverage {
    /// The purpose.
    pub purpose: String,
    /// Subjects with records served by the purpose.
    pub subjects: u64,
    /// Of those, subjects whose latest consent event is a grant.
    pub consented: u64,
}

/// Builds the compliance report of `tenant` at the store's clock's time (every part, the
/// requests' deadlines included, is judged at that one time).
pub async fn report(
    store: &Store,
    catalog: Arc<Catalog>,
    tenant: Kommunenummer,
) -> Result<ComplianceReport> {
    let at = store.clock().now();
    let now = OffsetDateTime::from(At::from(at));
    let plan = Retention::new(store.clone(), Arc::clone(&catalog))
        .plan_tenant(tenant, now)
        .await?;
    let holds = LegalHolds::new(store.clone()).active(tenant, now).await?;
    let requests = requests_section(store, tenant, at).await?;
    let consent_coverage = consent_coverage(store, &catalog, tenant).await?;
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
        requests,
        consent_coverage,
    })
}

/// The open requests of `tenant` overdue at `at` and due within [`DUE_SOON_DAYS`] days.
async fn requests_section(
    store: &Store,
    tenant: Kommunenummer,
    at: jiff::Timestamp,
) -> Result<RequestsSection> {
    // Both lists are judged at `at`, the time of the whole report.
    let register = Requests::new(store);
    let today = datavern_core::dsr::today_in_oslo(at);
    let due = |request: DsrRequest| RequestDue {
        id: request.id,
        kind: request.request_type.as_str().to_owned(),
        state: request.state.as_str().to_owned(),
        due_on: request.deadline.effective_due_on().to_string(),
        days_left: request.deadline.days_left(today),
    };
    let overdue = register.overdue(tenant, at).await.map_err(request_error)?;
    let due_soon = register
        .due_soon(tenant, at, DUE_SOON_DAYS)
        .await
        .map_err(request_error)?;
    Ok(RequestsSection {
        overdue: overdue.into_iter().map(due).collect(),
        due_soon: due_soon.into_iter().map(due).collect(),
    })
}

/// A register error as a store error: reading lists fails only in the database or on a row
/// that cannot be decoded.
fn request_error(err: crate::requests::RequestError) -> Error {
    match err {
        crate::requests::RequestError::Store(err) => err.into(),
        other => StoreError::Sql(datavern_sql::SqlError::decode(other)).into(),
    }
}

/// The consent coverage of every consent-based purpose of `catalog` in `tenant`.
async fn consent_coverage(
    store: &Store,
    catalog: &Catalog,
    tenant: Kommunenummer,
) -> Result<Vec<ConsentCoverage>> {
    let mut coverage = Vec::new();
    for purpose in catalog
        .purposes()
        .iter()
        .filter(|p| p.lawful_basis().is_consent())
    {
        let (subjects, consented) = match coverage_statement(catalog, purpose, tenant) {
            Some(select) => {
                let mut tx = Tx::begin(store.data(), tenant, TxMode::Read).await?;
                let rows: Vec<(i64, i64)> = tx.conn().fetch_all(&select).await?;
                tx.commit().await?;
                rows.into_iter().next().unwrap_or_default()
            }
            None => (0, 0),
        };
        coverage.push(ConsentCoverage {
            purpose: purpose.id().as_str().to_owned(),
            subjects: u64::try_from(subjects).unwrap_or(0),
            consented: u64::try_from(consented).unwrap_or(0),
        });
    }
    Ok(coverage)
}

/// An identifier.
fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// The statement counting `purpose`'s subjects and those with a granted consent (module
/// docs); `None` when no collection serving it has subjects.
fn coverage_statement(
    catalog: &Catalog,
    purpose: &Purpose,
    tenant: Kommunenummer,
) -> Option<SelectStatement> {
    let mut selects = catalog
        .collections()
        .iter()
        .filter(|c| c.serves(purpose.id().as_str()))
        .filter_map(|c| {
            let table = datavern_store::table::Table::new(c);
            let column = table.layout().primary_subject_column()?.to_owned();
            Some(
                Query::select()
                    .expr_as(Expr::col(col(column.as_str())), col("subject"))
                    .from(col(table.table()))
                    .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                    .and_where(Expr::col(col(column.as_str())).is_not_null())
                    .to_owned(),
            )
        });
    let mut subjects = selects.next()?;
    for select in selects {
        subjects.union(UnionType::Distinct, select);
    }
    let state = |name: &str| Expr::col((col("cs"), col(name)));
    Some(
        Query::select()
            .expr(Func::count(Expr::col(sea_query::Asterisk)))
            .expr(Func::count(state("subject_id")))
            .from_subquery(subjects, col("s"))
            .join_as(
                JoinType::LeftJoin,
                col("dv_consent_state"),
                col("cs"),
                state("tenant")
                    .eq(tenant.as_str())
                    .and(state("purpose").eq(purpose.id().as_str()))
                    .and(state("subject_id").equals((col("s"), col("subject"))))
                    .and(state("state").eq(datavern_store::consent::GRANTED)),
            )
            .to_owned(),
    )
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
