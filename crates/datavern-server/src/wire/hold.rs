//! `/v1/legal-holds`: legal holds on the wire.

use datavern_store::{HoldScope, LegalHold};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A hold to place. `scope` says what it covers: `collection` (give `collection`), `record`
/// (give `collection` and `record`) or `subject` (give `subject`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoldJson {
    /// `collection`, `record` or `subject`.
    pub scope: String,
    /// The collection (scopes `collection` and `record`).
    pub collection: Option<String>,
    /// The record id (scope `record`).
    pub record: Option<Uuid>,
    /// The data subject's id (scope `subject`).
    pub subject: Option<Uuid>,
    /// Why: a case reference or provision, 1 to 1000 characters.
    pub reason: String,
    /// When it lapses by itself (RFC 3339); absent: until released.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

/// Releasing a hold.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseJson {
    /// Why it is released, 1 to 1000 characters.
    pub reason: String,
}

/// A hold in the register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldJson {
    /// Its id.
    pub id: Uuid,
    /// The tenant.
    pub tenant: String,
    /// `collection`, `record` or `subject`.
    pub scope: String,
    /// The collection (scopes `collection` and `record`).
    pub collection: Option<String>,
    /// The record (scope `record`).
    pub record: Option<Uuid>,
    /// The data subject (scope `subject`).
    pub subject: Option<Uuid>,
    /// Why it was placed.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: OffsetDateTime,
    /// When it lapses by itself, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was released, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub released_at: Option<OffsetDateTime>,
    /// Who released it.
    pub released_by: Option<String>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

/// Every hold of the tenant, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldList {
    /// The holds.
    pub items: Vec<HoldJson>,
}

impl From<LegalHold> for HoldJson {
    fn from(hold: LegalHold) -> Self {
        let (scope, collection, record, subject) = match hold.scope {
            HoldScope::Collection { collection } => {
                ("collection", Some(collection.to_string()), None, None)
            }
            HoldScope::Record { collection, record } => {
                ("record", Some(collection.to_string()), Some(record), None)
            }
            HoldScope::Subject { subject } => ("subject", None, None, Some(subject.as_uuid())),
        };
        HoldJson {
            id: hold.id,
            tenant: hold.tenant.to_string(),
            scope: scope.to_owned(),
            collection,
            record,
            subject,
            reason: hold.reason,
            placed_by: hold.placed_by,
            placed_at: hold.placed_at,
            expires_at: hold.expires_at,
            released_at: hold.released_at,
            released_by: hold.released_by,
            release_reason: hold.release_reason,
        }
    }
}
