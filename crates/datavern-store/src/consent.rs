//! The consent register's write (`dv_consent_events`, `dv_consent_state`): one event
//! appended in the caller's transaction with the current state, its audit entry and its outbox
//! event. The record path calls it when a record is created with consent given; the controls
//! service (`datavern_governance::controls`) when a consent is recorded or withdrawn. Reading
//! the registers is the controls service's; the decision point reads the current state in the
//! record's own statement (`records::control`).

use datavern_core::access::Principal;
use datavern_core::catalog::Kommunenummer;
use datavern_core::consent::{ConsentAction, ConsentEvent};
use datavern_sql::{At, Conn};
use sea_query::{Alias, Cond, Expr, Query, SimpleExpr};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditAction, AuditEntry, AuditOutcome};
use crate::error::Result;
use crate::ids::SubjectId;
use crate::outbox::{self, SubjectEvent};

/// The consent state column's value for a granted consent.
pub const GRANTED: &str = "granted";
/// The consent state column's value after a withdrawal.
pub const WITHDRAWN: &str = "withdrawn";

/// One consent event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredConsent {
    /// The event's id (UUIDv7).
    pub id: Uuid,
    /// The data subject.
    pub subject: SubjectId,
    /// What was recorded: purpose, action, notice version, channel, time, recorder, evidence
    /// reference.
    pub event: ConsentEvent,
    /// When datavern stored it.
    pub recorded_at: OffsetDateTime,
    /// The id of the request that recorded it, if any.
    pub request_id: Option<String>,
}

impl StoredConsent {
    /// A stored event as read back from the register.
    pub fn new(
        id: Uuid,
        subject: SubjectId,
        event: ConsentEvent,
        recorded_at: OffsetDateTime,
        request_id: Option<String>,
    ) -> Self {
        StoredConsent {
            id,
            subject,
            event,
            recorded_at,
            request_id,
        }
    }
}

/// Who changes a register, and when: the principal's id and tenant, the store's clock's time.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The principal's tenant.
    pub tenant: Kommunenummer,
    /// The principal's id.
    pub id: &'a str,
    /// When (the store's clock).
    pub at: At,
}

impl<'a> Actor<'a> {
    /// The actor `principal` is, at `at`.
    pub fn of(principal: &'a Principal, at: At) -> Self {
        Actor {
            tenant: principal.tenant(),
            id: principal.id().as_str(),
            at,
        }
    }
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn time_expr(conn: &Conn<'_>, at: impl Into<At>) -> SimpleExpr {
    crate::records::time_expr(conn.backend(), at)
}

/// The audit entry of a change to a subject's controls: who, which subject, which purpose
/// (if one), the reason code (if any).
pub fn entry(
    principal: Actor<'_>,
    action: AuditAction,
    subject: Uuid,
    purpose: Option<&str>,
    reason: Option<&str>,
    request_id: Option<&str>,
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        principal.at,
        Some(principal.tenant),
        principal.id,
        action,
        AuditOutcome::Granted,
    )
    .with_subject(subject);
    entry.purpose = purpose.map(str::to_owned);
    entry.reason = reason.map(str::to_owned);
    match request_id {
        Some(id) => entry.with_request_id(id),
        None => entry,
    }
}

/// Appends one consent event for `subject` in `principal`'s tenant, updates the current
/// state if the event is the latest, and writes its audit entry and outbox event.
pub async fn append_consent(
    conn: &mut Conn<'_>,
    principal: Actor<'_>,
    subject: Uuid,
    event: &ConsentEvent,
    request_id: Option<&str>,
) -> Result<StoredConsent> {
    let new = NewConsent {
        id: Uuid::now_v7(),
        tenant: principal.tenant,
        subject,
        event,
        recorded_at: principal.at,
        at: At::from(event.at()),
        request_id,
    };
    insert_consent_event(conn, &new).await?;
    update_consent_state(conn, &new).await?;
    record_consent_change(conn, principal, &new).await?;
    Ok(StoredConsent {
        id: new.id,
        subject: SubjectId::from_uuid(subject),
        event: event.clone(),
        recorded_at: new.recorded_at.into(),
        request_id: request_id.map(str::to_owned),
    })
}

/// A consent event being appended, with the id and times it is stored with.
struct NewConsent<'e> {
    id: Uuid,
    tenant: Kommunenummer,
    subject: Uuid,
    event: &'e ConsentEvent,
    /// When it was recorded (the store's clock).
    recorded_at: At,
    /// When it happened.
    at: At,
    request_id: Option<&'e str>,
}

/// Inserts the `dv_consent_events` row of `new`.
async fn insert_consent_event(conn: &mut Conn<'_>, new: &NewConsent<'_>) -> Result<()> {
    let event = new.event;
    let insert = Query::insert()
        .into_table(col("dv_consent_events"))
        .columns(
            [
                "id",
                "tenant",
                "subject_id",
                "purpose",
                "action",
                "notice_version",
                "channel",
                "occurred_at",
                "recorded_by",
                "recorded_at",
                "request_id",
                "evidence_ref",
            ]
            .map(col),
        )
        .values_panic([
            new.id.into(),
            new.tenant.as_str().into(),
            new.subject.into(),
            event.purpose().as_str().into(),
            event.action().as_str().into(),
            event.notice_version().map(|v| v.as_str().to_owned()).into(),
            event.channel().as_str().into(),
            time_expr(conn, new.at),
            event.recorded_by().into(),
            time_expr(conn, new.recorded_at),
            new.request_id.map(str::to_owned).into(),
            event.evidence().map(|e| e.as_str().to_owned()).into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Makes `new` the subject's current consent state for its purpose if it is the latest: an
/// event dated before the current state's (recorded late) joins the history without
/// changing the state. Equal times: the later recorded wins.
async fn update_consent_state(conn: &mut Conn<'_>, new: &NewConsent<'_>) -> Result<()> {
    let tenant = new.tenant;
    let purpose = new.event.purpose().as_str();
    let pk = Cond::all()
        .add(Expr::col(col("tenant")).eq(tenant.as_str()))
        .add(Expr::col(col("subject_id")).eq(new.subject))
        .add(Expr::col(col("purpose")).eq(purpose));
    let current: Vec<(At,)> = conn
        .fetch_all(
            &Query::select()
                .column(col("since"))
                .from(col("dv_consent_state"))
                .cond_where(pk.clone())
                .lock(sea_query::LockType::Update)
                .to_owned(),
        )
        .await?;
    if current.first().is_some_and(|(since,)| new.at < *since) {
        return Ok(());
    }
    let delete = Query::delete()
        .from_table(col("dv_consent_state"))
        .cond_where(pk)
        .to_owned();
    conn.execute(&delete).await?;
    let state = match new.event.action() {
        ConsentAction::Grant => GRANTED,
        ConsentAction::Withdraw => WITHDRAWN,
    };
    let insert = Query::insert()
        .into_table(col("dv_consent_state"))
        .columns(
            [
                "tenant",
                "subject_id",
                "purpose",
                "state",
                "since",
                "event_id",
            ]
            .map(col),
        )
        .values_panic([
            tenant.as_str().into(),
            new.subject.into(),
            purpose.into(),
            state.into(),
            time_expr(conn, new.at),
            new.id.into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Writes the audit entry and the outbox event of the consent event `new`.
async fn record_consent_change(
    conn: &mut Conn<'_>,
    principal: Actor<'_>,
    new: &NewConsent<'_>,
) -> Result<()> {
    let (tenant, subject) = (new.tenant, new.subject);
    let purpose = new.event.purpose().as_str();
    let (action, event_type) = match new.event.action() {
        ConsentAction::Grant => (AuditAction::ConsentGrant, "no.datavern.consent.granted"),
        ConsentAction::Withdraw => (
            AuditAction::ConsentWithdraw,
            "no.datavern.consent.withdrawn",
        ),
    };
    let audit_entry = entry(
        principal,
        action,
        subject,
        Some(purpose),
        None,
        new.request_id,
    );
    audit::append(conn, &audit_entry).await?;
    outbox::append_subject_event(
        conn,
        SubjectEvent {
            event_type,
            tenant,
            subject,
            data: json!({
                "subject_id": subject,
                "tenant": tenant.as_str(),
                "purpose": purpose,
                "consent_event_id": new.id,
            }),
            time: new.recorded_at.into(),
        },
    )
    .await?;
    Ok(())
}
