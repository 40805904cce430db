//! The transactional outbox: one CloudEvent per record change, written in the change's own
//! transaction and published later (by a publisher that comes with the events crate).
//!
//! An event says *that* a record changed and which fields, never their values:
//!
//! ```json
//! {
//!   "specversion": "1.0",
//!   "id": "0190b5d2-7c1e-7000-8000-000000000001",
//!   "source": "/datavern/4601/innbyggere",
//!   "type": "no.datavern.record.updated",
//!   "subject": "0190b5d2-7c1e-7000-8000-00000000abcd",
//!   "time": "2025-01-01T12:00:00.000000Z",
//!   "datacontenttype": "application/json",
//!   "data": {
//!     "record_id": "0190b5d2-7c1e-7000-8000-00000000abcd",
//!     "collection": "innbyggere",
//!     "tenant": "4601",
//!     "version": 2,
//!     "fields": ["adresse", "postnummer"]
//!   }
//! }
//! ```
//!
//! Rows live in `dv_outbox` (`docs/storage.md`) and are published in `position` order:
//! [`Outbox::pending`] gives the oldest unpublished, [`Outbox::mark_published`] marks them.

use std::fmt;
use std::sync::Arc;

use datavern_core::catalog::Kommunenummer;
use datavern_core::clock::Clock;
use datavern_sql::{Conn, Database, Json, Text};
use sea_query::{Alias, Expr, Order, Query, SimpleExpr};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::error::Result;

/// The CloudEvents version of every event.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of every event's `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordChange {
    /// `no.datavern.record.created`.
    Created,
    /// `no.datavern.record.updated`.
    Updated,
    /// `no.datavern.record.deleted`.
    Deleted,
}

impl RecordChange {
    /// The CloudEvent `type`.
    pub fn event_type(self) -> &'static str {
        match self {
            RecordChange::Created => "no.datavern.record.created",
            RecordChange::Updated => "no.datavern.record.updated",
            RecordChange::Deleted => "no.datavern.record.deleted",
        }
    }
}

/// The `data` of a record event: ids, names and the version, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordEventData {
    /// The record.
    pub record_id: Uuid,
    /// Its collection.
    pub collection: String,
    /// Its tenant.
    pub tenant: String,
    /// The version after the change (for a delete, the version deleted).
    pub version: i64,
    /// The names of the fields the change wrote (for a delete, every field), sorted.
    pub fields: Vec<String>,
}

/// An event in the outbox, as stored.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct OutboxEvent {
    /// Publication order.
    pub position: i64,
    /// The event id (UUIDv7).
    pub id: Uuid,
    /// CloudEvents `specversion`.
    pub specversion: String,
    /// CloudEvents `source`: `/datavern/<tenant>/<collection>`.
    pub source: String,
    /// CloudEvents `type`.
    pub event_type: String,
    /// CloudEvents `subject`: the record id.
    pub subject: Option<String>,
    /// CloudEvents `time`.
    pub time: OffsetDateTime,
    /// CloudEvents `datacontenttype`.
    pub datacontenttype: Option<String>,
    /// CloudEvents `data`.
    pub data: Option<serde_json::Value>,
    /// The tenant.
    pub tenant: Option<String>,
    /// How often publishing was tried.
    pub attempts: i32,
}

impl fmt::Debug for OutboxEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nothing personal is in an event; the data is left out only for brevity.
        f.debug_struct("OutboxEvent")
            .field("position", &self.position)
            .field("id", &self.id)
            .field("type", &self.event_type)
            .field("source", &self.source)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The outbox of one data database.
#[derive(Debug, Clone)]
pub struct Outbox {
    db: Database,
    /// The store's clock: publication times.
    clock: Arc<dyn Clock>,
}

/// A row of `dv_outbox` as [`Outbox::pending`] reads it.
type EventRow = (
    i64,
    Uuid,
    Text,
    Text,
    Text,
    Option<Text>,
    OffsetDateTime,
    Option<Text>,
    Option<Json<serde_json::Value>>,
    Option<Text>,
    i32,
);

/// The columns an event is written with, in insert order; a read adds `position` before them
/// and `attempts` after them.
const EVENT_COLUMNS: [&str; 9] = [
    "id",
    "specversion",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "data",
    "tenant",
];

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

impl Outbox {
    /// The outbox in `db` (the data database), marking publication at the time of `clock`
    /// (the store's).
    pub fn new(db: Database, clock: Arc<dyn Clock>) -> Self {
        Outbox { db, clock }
    }

    /// The oldest `limit` unpublished events, in publication order.
    #[instrument(skip_all, fields(limit))]
    pub async fn pending(&self, limit: u32) -> Result<Vec<OutboxEvent>> {
        let query = Query::select()
            .column(col("position"))
            .columns(EVENT_COLUMNS.map(col))
            .column(col("attempts"))
            .from(col("dv_outbox"))
            .and_where(Expr::col(col("published_at")).is_null())
            .order_by(col("position"), Order::Asc)
            .limit(u64::from(limit))
            .to_owned();
        let mut conn = self.db.acquire().await?;
        let rows: Vec<EventRow> = conn.conn().fetch_all(&query).await?;
        Ok(rows
            .into_iter()
            .map(|row| OutboxEvent {
                position: row.0,
                id: row.1,
                specversion: row.2.0,
                source: row.3.0,
                event_type: row.4.0,
                subject: row.5.map(|t| t.0),
                time: row.6,
                datacontenttype: row.7.map(|t| t.0),
                data: row.8.map(|j| j.0),
                tenant: row.9.map(|t| t.0),
                attempts: row.10,
            })
            .collect())
    }

    /// Marks the events with these ids published now. Returns how many were marked.
    #[instrument(skip_all, fields(events = ids.len()))]
    pub async fn mark_published(&self, ids: &[Uuid]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let backend = self.db.backend();
        let update = Query::update()
            .table(col("dv_outbox"))
            .value(
                col("published_at"),
                crate::records::time_expr(backend, self.clock.now()),
            )
            .and_where(Expr::col(col("id")).is_in(ids.iter().copied()))
            .and_where(Expr::col(col("published_at")).is_null())
            .to_owned();
        let mut conn = self.db.acquire().await?;
        Ok(conn.conn().execute(&update).await?)
    }
}

/// A record change's event, to be appended in the change's transaction.
#[derive(Debug)]
pub struct RecordEvent<'a> {
    /// What happened to the record.
    pub change: RecordChange,
    /// Its tenant.
    pub tenant: Kommunenummer,
    /// Its collection.
    pub collection: &'a str,
    /// Its id.
    pub record: Uuid,
    /// Its version after the change.
    pub version: i64,
    /// The names of the fields the change touched (never their values).
    pub fields: Vec<String>,
    /// When.
    pub time: OffsetDateTime,
}

/// Inserts the event for a record change on `conn`, inside the change's transaction, and
/// returns its id.
pub async fn append(conn: &mut Conn<'_>, event: RecordEvent<'_>) -> Result<Uuid> {
    let mut ids = append_all(conn, vec![event]).await?;
    // One event in, one id out.
    Ok(ids.pop().unwrap_or_default())
}

/// Inserts the events of several record changes on `conn`, in order, inside the changes'
/// transaction, with as few multi-row statements as the backend's parameter limit allows;
/// returns their ids in the same order.
pub async fn append_all(conn: &mut Conn<'_>, events: Vec<RecordEvent<'_>>) -> Result<Vec<Uuid>> {
    let backend = conn.backend();
    let mut ids = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let id = Uuid::now_v7();
        ids.push(id);
        rows.push(event_values(backend, id, event));
    }
    let per_statement = backend.rows_per_insert(EVENT_COLUMNS.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = Query::insert();
        insert
            .into_table(col("dv_outbox"))
            .columns(EVENT_COLUMNS.map(col));
        for values in rows.by_ref().take(per_statement) {
            // Nine columns, nine values: cannot panic.
            insert.values_panic(values);
        }
        conn.execute(&insert).await?;
    }
    Ok(ids)
}

/// The [`EVENT_COLUMNS`] values of event `id`.
fn event_values(
    backend: datavern_sql::Backend,
    id: Uuid,
    event: RecordEvent<'_>,
) -> [SimpleExpr; 9] {
    let mut fields = event.fields;
    fields.sort_unstable();
    fields.dedup();
    let data = RecordEventData {
        record_id: event.record,
        collection: event.collection.to_owned(),
        tenant: event.tenant.as_str().to_owned(),
        version: event.version,
        fields,
    };
    // Serializing ids, names and a number cannot fail.
    let data = serde_json::to_value(&data).unwrap_or_default();
    [
        id.into(),
        SPEC_VERSION.into(),
        format!("/datavern/{}/{}", event.tenant, event.collection).into(),
        event.change.event_type().into(),
        event.record.hyphenated().to_string().into(),
        crate::records::time_expr(backend, event.time),
        DATA_CONTENT_TYPE.into(),
        sea_query::Value::Json(Some(Box::new(data))).into(),
        event.tenant.as_str().into(),
    ]
}

/// An event about a data subject's controls (consent, restriction, objection), to be
/// appended in the change's transaction. `data` holds ids, purpose and reason codes only.
#[derive(Debug)]
pub struct SubjectEvent {
    /// The CloudEvent `type`, e.g. `no.datavern.consent.granted`.
    pub event_type: &'static str,
    /// The subject's tenant.
    pub tenant: Kommunenummer,
    /// The subject id.
    pub subject: Uuid,
    /// The event's data: ids, purpose and reason codes only.
    pub data: serde_json::Value,
    /// When.
    pub time: OffsetDateTime,
}

/// Inserts a subject event on `conn`, inside the change's transaction, with source
/// `/datavern/<tenant>/subjects` and the subject id as CloudEvents `subject`; returns its id.
pub async fn append_subject_event(conn: &mut Conn<'_>, event: SubjectEvent) -> Result<Uuid> {
    let backend = conn.backend();
    let id = Uuid::now_v7();
    let values: [SimpleExpr; 9] = [
        id.into(),
        SPEC_VERSION.into(),
        format!("/datavern/{}/subjects", event.tenant).into(),
        event.event_type.into(),
        event.subject.hyphenated().to_string().into(),
        crate::records::time_expr(backend, event.time),
        DATA_CONTENT_TYPE.into(),
        sea_query::Value::Json(Some(Box::new(event.data))).into(),
        event.tenant.as_str().into(),
    ];
    let insert = Query::insert()
        .into_table(col("dv_outbox"))
        .columns(EVENT_COLUMNS.map(col))
        .values_panic(values)
        .to_owned();
    conn.execute(&insert).await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_cloudevents_reverse_dns() {
        assert_eq!(
            RecordChange::Created.event_type(),
            "no.datavern.record.created"
        );
        assert_eq!(
            RecordChange::Updated.event_type(),
            "no.datavern.record.updated"
        );
        assert_eq!(
            RecordChange::Deleted.event_type(),
            "no.datavern.record.deleted"
        );
    }
}
