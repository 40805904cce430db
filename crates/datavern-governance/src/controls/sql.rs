//! The statements of the controls registers (`dv_consent_events`, `dv_consent_state`,
//! `dv_restrictions`, `dv_objections`), each run inside the caller's transaction with its
//! audit entry and outbox event.

use datavern_core::access::{ConsentState, Principal};
use datavern_core::catalog::{Kommunenummer, PurposeId};
use datavern_core::consent::{ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion};
use datavern_core::controls::RestrictionReason;
use datavern_sql::{At, Conn, Text};
use sea_query::{Alias, Expr, Order, Query, SimpleExpr};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ConsentRegister, CurrentConsent, Objection, Restriction, StoredConsent};
use crate::error::Result;
use datavern_store::SubjectId;
use datavern_store::audit::{self, AuditAction};
use datavern_store::consent::{Actor, GRANTED, entry};
use datavern_store::outbox::{self, SubjectEvent};
use datavern_store::records::RecordError;

/// The most subjects one restriction or objection call takes.
pub const MAX_SUBJECTS: usize = 1000;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn time_expr(conn: &Conn<'_>, at: impl Into<At>) -> SimpleExpr {
    datavern_store::records::time_expr(conn.backend(), at)
}

/// Fails unless 1 to [`MAX_SUBJECTS`] subjects are given.
pub(super) fn check_count(subjects: &[SubjectId]) -> Result<()> {
    if subjects.is_empty() || subjects.len() > MAX_SUBJECTS {
        return Err(RecordError::SubjectCount { max: MAX_SUBJECTS }.into());
    }
    Ok(())
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
            Ok(StoredConsent::new(
                row.0,
                subject,
                event,
                row.7.into(),
                row.8.map(|t| t.0),
            ))
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

fn corrupt(column: &str) -> datavern_store::StoreError {
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

/// A consent in force, as a masked copy carries it over: subject, purpose, the notice
/// version granted, the channel and when.
pub(crate) type GrantedConsent = (Uuid, PurposeId, NoticeVersion, ConsentChannel, At);

/// The consents granted and in force of `subjects` in `tenant` (one statement).
pub(crate) async fn granted_consents(
    conn: &mut Conn<'_>,
    tenant: Kommunenummer,
    subjects: &[Uuid],
) -> Result<Vec<GrantedConsent>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let state = |name: &str| (col("dv_consent_state"), col(name));
    let event = |name: &str| (col("dv_consent_events"), col(name));
    let rows: Vec<(Uuid, Text, Option<Text>, Text, At)> = conn
        .fetch_all(
            &Query::select()
                .column(state("subject_id"))
                .column(state("purpose"))
                .column(event("notice_version"))
                .column(event("channel"))
                .column(event("occurred_at"))
                .from(col("dv_consent_state"))
                .inner_join(
                    col("dv_consent_events"),
                    Expr::col(event("id")).equals(state("event_id")),
                )
                .and_where(Expr::col(state("tenant")).eq(tenant.as_str()))
                .and_where(Expr::col(state("state")).eq(GRANTED))
                .and_where(Expr::col(state("subject_id")).is_in(subjects.iter().copied()))
                .order_by(state("subject_id"), Order::Asc)
                .order_by(state("purpose"), Order::Asc)
                .to_owned(),
        )
        .await?;
    rows.into_iter()
        .map(|(subject, purpose, notice, channel, at)| {
            Ok((
                subject,
                PurposeId::parse(&purpose.0).map_err(|_| corrupt("purpose"))?,
                notice
                    .map(|v| NoticeVersion::parse(&v.0))
                    .transpose()
                    .map_err(|_| corrupt("notice_version"))?
                    .ok_or_else(|| corrupt("notice_version"))?,
                channel
                    .0
                    .parse::<ConsentChannel>()
                    .map_err(|_| corrupt("channel"))?,
                at,
            ))
        })
        .collect()
}
