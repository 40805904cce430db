//! The statements of the controls registers (`dv_consent_events`, `dv_consent_state`,
//! `dv_restrictions`, `dv_objections`), each run inside the caller's transaction with its
//! audit entry and outbox event.

use datavern_core::access::{ConsentState, Principal};
use datavern_core::catalog::{Kommunenummer, PurposeId};
use datavern_core::consent::{
    ConsentAction, ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion,
};
use datavern_core::controls::RestrictionReason;
use datavern_sql::{At, Conn, Text};
use sea_query::{Alias, Cond, Expr, Order, Query, SimpleExpr};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ConsentRegister, CurrentConsent, Objection, Restriction, StoredConsent};
use crate::audit::{self, AuditAction, AuditEntry, AuditOutcome};
use crate::error::Result;
use crate::ids::SubjectId;
use crate::outbox::{self, SubjectEvent};
use crate::records::RecordError;
use crate::records::control::{GRANTED, WITHDRAWN};

/// Who changes a register, and when: the principal's id and tenant, the store's clock's time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor<'a> {
    pub(crate) tenant: Kommunenummer,
    pub(crate) id: &'a str,
    pub(crate) at: At,
}

impl<'a> Actor<'a> {
    pub(crate) fn of(principal: &'a Principal, at: At) -> Self {
        Actor {
            tenant: principal.tenant(),
            id: principal.id().as_str(),
            at,
        }
    }
}

/// The most subjects one restriction or objection call takes.
pub const MAX_SUBJECTS: usize = 1000;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn time_expr(conn: &Conn<'_>, at: impl Into<At>) -> SimpleExpr {
    crate::records::time_expr(conn.backend(), at)
}

/// Fails unless 1 to [`MAX_SUBJECTS`] subjects are given.
pub(super) fn check_count(subjects: &[SubjectId]) -> Result<()> {
    if subjects.is_empty() || subjects.len() > MAX_SUBJECTS {
        return Err(RecordError::SubjectCount { max: MAX_SUBJECTS }.into());
    }
    Ok(())
}

/// The audit entry of a change to a subject's controls: who, which subject, which purpose
/// (if one), the reason code (if any).
fn entry(
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
pub(crate) async fn append_consent(
    conn: &mut Conn<'_>,
    principal: Actor<'_>,
    subject: Uuid,
    event: &ConsentEvent,
    request_id: Option<&str>,
) -> Result<StoredConsent> {
    let tenant = principal.tenant;
    let id = Uuid::now_v7();
    let recorded_at = principal.at;
    let at = At::from(event.at());
    let purpose = event.purpose().as_str();
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
            id.into(),
            tenant.as_str().into(),
            subject.into(),
            purpose.into(),
            event.action().as_str().into(),
            event.notice_version().map(|v| v.as_str().to_owned()).into(),
            event.channel().as_str().into(),
            time_expr(conn, at),
            event.recorded_by().into(),
            time_expr(conn, recorded_at),
            request_id.map(str::to_owned).into(),
            event.evidence().map(|e| e.as_str().to_owned()).into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;

    // The latest event decides; an event dated before the current state's (recorded late)
    // joins the history without changing the state. Equal times: the later recorded wins.
    let pk = Cond::all()
        .add(Expr::col(col("tenant")).eq(tenant.as_str()))
        .add(Expr::col(col("subject_id")).eq(subject))
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
    if current.first().is_none_or(|(since,)| at >= *since) {
        let delete = Query::delete()
            .from_table(col("dv_consent_state"))
            .cond_where(pk)
            .to_owned();
        conn.execute(&delete).await?;
        let state = match event.action() {
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
                subject.into(),
                purpose.into(),
                state.into(),
                time_expr(conn, at),
                id.into(),
            ])
            .to_owned();
        conn.execute(&insert).await?;
    }

    let (action, event_type) = match event.action() {
        ConsentAction::Grant => (AuditAction::ConsentGrant, "no.datavern.consent.granted"),
        ConsentAction::Withdraw => (
            AuditAction::ConsentWithdraw,
            "no.datavern.consent.withdrawn",
        ),
    };
    let audit_entry = entry(principal, action, subject, Some(purpose), None, request_id);
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
                "consent_event_id": id,
            }),
            time: recorded_at.into(),
        },
    )
    .await?;
    Ok(StoredConsent {
        id,
        subject: SubjectId::from_uuid(subject),
        event: event.clone(),
        recorded_at: recorded_at.into(),
        request_id: request_id.map(str::to_owned),
    })
}

/// A `dv_consent_events` row as read.
type ConsentRow = (
    Uuid,
    Text,
    Text,
    Option<Text>,
    Text,
    At,
    Text,
    At,
    Option<Text>,
    Option<Text>,
);

/// A `dv_consent_state` row as read.
type StateRow = (Text, Text, At, Uuid);

/// The consent history (in the order recorded) and current states of `subject`.
pub(super) async fn consents(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    subject: SubjectId,
) -> Result<ConsentRegister> {
    let history: Vec<ConsentRow> = conn
        .fetch_all(
            &Query::select()
                .columns(
                    [
                        "id",
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
                .from(col("dv_consent_events"))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col("subject_id")).eq(subject.as_uuid()))
                .order_by(col("position"), Order::Asc)
                .to_owned(),
        )
        .await?;
    let history = history
        .into_iter()
        .map(|row| {
            let event = ConsentEvent::new(
                PurposeId::parse(&row.1.0).map_err(|_| corrupt("purpose"))?,
                row.2.0.parse().map_err(|_| corrupt("action"))?,
                row.3
                    .map(|v| NoticeVersion::parse(&v.0))
                    .transpose()
                    .map_err(|_| corrupt("notice_version"))?,
                row.4
                    .0
                    .parse::<ConsentChannel>()
                    .map_err(|_| corrupt("channel"))?,
                row.5.to_timestamp().map_err(|_| corrupt("occurred_at"))?,
                &row.6.0,
            )
            .map_err(|_| corrupt("recorded_by"))?;
            let event = match row.9 {
                Some(evidence) => event.with_evidence(
                    EvidenceRef::parse(&evidence.0).map_err(|_| corrupt("evidence_ref"))?,
                ),
                None => event,
            };
            Ok(StoredConsent {
                id: row.0,
                subject,
                event,
                recorded_at: row.7.into(),
                request_id: row.8.map(|t| t.0),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let current: Vec<StateRow> = conn
        .fetch_all(
            &Query::select()
                .columns(["purpose", "state", "since", "event_id"].map(col))
                .from(col("dv_consent_state"))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col("subject_id")).eq(subject.as_uuid()))
                .order_by(col("purpose"), Order::Asc)
                .to_owned(),
        )
        .await?;
    let current = current
        .into_iter()
        .map(|row| {
            Ok(CurrentConsent {
                purpose: PurposeId::parse(&row.0.0).map_err(|_| corrupt("purpose"))?,
                state: if row.1.0 == GRANTED {
                    ConsentState::Granted
                } else {
                    ConsentState::NotGranted
                },
                since: row.2.into(),
                event_id: row.3,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ConsentRegister { history, current })
}

fn corrupt(column: &str) -> crate::StoreError {
    RecordError::CorruptValue {
        collection: "dv_consent_events".to_owned(),
        field: column.to_owned(),
        record: Uuid::nil(),
        field_type: "consent event",
    }
    .into()
}

/// Records a restriction of `subject` unless one is active; audited, with its event.
pub(super) async fn insert_restriction(
    conn: &mut Conn<'_>,
    at: At,
    principal: &Principal,
    subject: Uuid,
    reason: RestrictionReason,
    request_id: Option<&str>,
) -> Result<()> {
    let tenant = principal.tenant();
    if !active(conn, Register::Restrictions, tenant, subject)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let id = Uuid::now_v7();
    let since = at;
    let insert = Query::insert()
        .into_table(col("dv_restrictions"))
        .columns(
            [
                "id",
                "tenant",
                "subject_id",
                "reason",
                "since",
                "recorded_by",
                "request_id",
            ]
            .map(col),
        )
        .values_panic([
            id.into(),
            tenant.as_str().into(),
            subject.into(),
            reason.as_str().into(),
            time_expr(conn, since),
            principal.id().as_str().into(),
            request_id.map(str::to_owned).into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    let audit_entry = entry(
        Actor::of(principal, at),
        AuditAction::Restrict,
        subject,
        None,
        Some(reason.as_str()),
        request_id,
    );
    audit::append(conn, &audit_entry).await?;
    outbox::append_subject_event(
        conn,
        SubjectEvent {
            event_type: "no.datavern.subject.restricted",
            tenant,
            subject,
            data: json!({
                "subject_id": subject,
                "tenant": tenant.as_str(),
                "restriction_id": id,
                "reason": reason.as_str(),
                "request_id": request_id,
            }),
            time: since.into(),
        },
    )
    .await?;
    Ok(())
}

/// Records an objection of `subject` to `purpose` (`None`: every 6(1)(e)/(f) purpose)
/// unless the same one is active; audited, with its event. Returns 1 if recorded.
pub(super) async fn insert_objection(
    conn: &mut Conn<'_>,
    at: At,
    principal: &Principal,
    subject: Uuid,
    purpose: Option<&PurposeId>,
    request_id: Option<&str>,
) -> Result<u64> {
    let tenant = principal.tenant();
    let same = active(conn, Register::Objections, tenant, subject)
        .await?
        .into_iter()
        .any(|(_, p)| p.as_deref() == purpose.map(PurposeId::as_str));
    if same {
        return Ok(0);
    }
    let id = Uuid::now_v7();
    let since = at;
    let purpose = purpose.map(PurposeId::as_str);
    let insert = Query::insert()
        .into_table(col("dv_objections"))
        .columns(
            [
                "id",
                "tenant",
                "subject_id",
                "purpose",
                "since",
                "recorded_by",
                "request_id",
            ]
            .map(col),
        )
        .values_panic([
            id.into(),
            tenant.as_str().into(),
            subject.into(),
            purpose.map(str::to_owned).into(),
            time_expr(conn, since),
            principal.id().as_str().into(),
            request_id.map(str::to_owned).into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    let audit_entry = entry(
        Actor::of(principal, at),
        AuditAction::Object,
        subject,
        purpose,
        None,
        request_id,
    );
    audit::append(conn, &audit_entry).await?;
    outbox::append_subject_event(
        conn,
        SubjectEvent {
            event_type: "no.datavern.subject.objected",
            tenant,
            subject,
            data: json!({
                "subject_id": subject,
                "tenant": tenant.as_str(),
                "objection_id": id,
                "purpose": purpose,
                "request_id": request_id,
            }),
            time: since.into(),
        },
    )
    .await?;
    Ok(1)
}

/// The register a lift applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Register {
    Restrictions,
    Objections,
}

impl Register {
    fn table(self) -> &'static str {
        match self {
            Register::Restrictions => "dv_restrictions",
            Register::Objections => "dv_objections",
        }
    }
}

/// The active entries of `subject` in `register` (id, and purpose for objections).
async fn active(
    conn: &mut Conn<'_>,
    register: Register,
    tenant: Kommunenummer,
    subject: Uuid,
) -> Result<Vec<(Uuid, Option<String>)>> {
    // Restrictions have no purpose: their reason fills the column, and is dropped.
    let second = match register {
        Register::Restrictions => "reason",
        Register::Objections => "purpose",
    };
    let rows: Vec<(Uuid, Option<Text>)> = conn
        .fetch_all(
            &Query::select()
                .column(col("id"))
                .column(col(second))
                .from(col(register.table()))
                .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(col("subject_id")).eq(subject))
                .and_where(Expr::col(col("lifted_at")).is_null())
                .order_by(col("since"), Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, second)| match register {
            Register::Restrictions => (id, None),
            Register::Objections => (id, second.map(|t| t.0)),
        })
        .collect())
}

/// Lifts the active entries of `subject` in `register` (for objections, those to
/// `purposes`, or all with `None`); audited, with an event each. Returns how many.
pub(super) async fn lift(
    conn: &mut Conn<'_>,
    at: At,
    register: Register,
    principal: &Principal,
    subject: Uuid,
    purposes: Option<&[PurposeId]>,
    request_id: Option<&str>,
) -> Result<u64> {
    let tenant = principal.tenant();
    let entries: Vec<(Uuid, Option<String>)> = active(conn, register, tenant, subject)
        .await?
        .into_iter()
        .filter(|(_, purpose)| match purposes {
            None => true,
            Some(wanted) => wanted
                .iter()
                .any(|w| purpose.as_deref() == Some(w.as_str())),
        })
        .collect();
    let lifted_at = at;
    for (id, purpose) in &entries {
        let update = Query::update()
            .table(col(register.table()))
            .value(col("lifted_at"), time_expr(conn, lifted_at))
            .value(col("lifted_by"), principal.id().as_str())
            .value(col("lift_request_id"), request_id.map(str::to_owned))
            .and_where(Expr::col(col("id")).eq(*id))
            .to_owned();
        conn.execute(&update).await?;
        let (action, event_type, key) = match register {
            Register::Restrictions => (
                AuditAction::RestrictionLift,
                "no.datavern.subject.unrestricted",
                "restriction_id",
            ),
            Register::Objections => (
                AuditAction::ObjectionLift,
                "no.datavern.subject.objection_lifted",
                "objection_id",
            ),
        };
        let audit_entry = entry(
            Actor::of(principal, at),
            action,
            subject,
            purpose.as_deref(),
            None,
            request_id,
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
                    key: id,
                    "purpose": purpose,
                    "request_id": request_id,
                }),
                time: lifted_at.into(),
            },
        )
        .await?;
    }
    Ok(entries.len() as u64)
}

/// A `dv_restrictions` row as read.
type RestrictionRow = (Uuid, Text, At, Text, Option<Text>, Option<At>);

/// Every restriction of `subject`, oldest first.
pub(super) async fn restrictions(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    subject: SubjectId,
) -> Result<Vec<Restriction>> {
    let rows: Vec<RestrictionRow> = conn
        .fetch_all(&history("dv_restrictions", "reason", tenant, subject))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Restriction {
                id: row.0,
                reason: row.1.0.parse().map_err(|_| corrupt("reason"))?,
                since: row.2.into(),
                recorded_by: row.3.0,
                request_id: row.4.map(|t| t.0),
                lifted_at: row.5.map(OffsetDateTime::from),
            })
        })
        .collect()
}

/// The rows of `subject` in `table` (`dv_restrictions` or `dv_objections`), oldest first: id,
/// `what` (the reason or the purpose), since, recorded by, request id, lifted at.
fn history(
    table: &str,
    what: &str,
    tenant: Kommunenummer,
    subject: SubjectId,
) -> sea_query::SelectStatement {
    Query::select()
        .columns(
            [
                "id",
                what,
                "since",
                "recorded_by",
                "request_id",
                "lifted_at",
            ]
            .map(col),
        )
        .from(col(table))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("subject_id")).eq(subject.as_uuid()))
        .order_by(col("since"), Order::Asc)
        .to_owned()
}

/// A `dv_objections` row as read.
type ObjectionRow = (Uuid, Option<Text>, At, Text, Option<Text>, Option<At>);

/// Every objection of `subject`, oldest first.
pub(super) async fn objections(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    subject: SubjectId,
) -> Result<Vec<Objection>> {
    let rows: Vec<ObjectionRow> = conn
        .fetch_all(&history("dv_objections", "purpose", tenant, subject))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Objection {
                id: row.0,
                purpose: row
                    .1
                    .map(|p| PurposeId::parse(&p.0))
                    .transpose()
                    .map_err(|_| corrupt("purpose"))?,
                since: row.2.into(),
                recorded_by: row.3.0,
                request_id: row.4.map(|t| t.0),
                lifted_at: row.5.map(OffsetDateTime::from),
            })
        })
        .collect()
}
