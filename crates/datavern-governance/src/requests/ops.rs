//! The operations of [`Requests`]: each move in one transaction with its history row and its
//! audit entry.

use datavern_core::catalog::Kommunenummer;
use datavern_core::dsr::{
    Deadline, IllegalTransition, Reason, RequestEvent, RequestState, Transition, Verification,
};
use datavern_sql::{At, Conn, Tx, TxMode};
use jiff::civil::Date;
use sea_query::{Expr, Order, Query, SimpleExpr};
use serde_json::json;
use uuid::Uuid;

use super::row::{EVENT_COLUMNS, EVENTS, EventRow, REQUEST_COLUMNS, REQUESTS, RequestRow, col};
use super::{
    Actor, DsrRequest, Finish, FinishStatus, NewRequest, RequestError, RequestFilter, Requests,
    Result,
};
use datavern_store::audit::{self, AuditAction, AuditEntry, AuditOutcome};
use datavern_store::records::{Cursor, Page};

/// The states in which a request is open.
const OPEN: [RequestState; 3] = [
    RequestState::Received,
    RequestState::Verified,
    RequestState::InProgress,
];

pub(super) async fn create(reqs: &Requests, new: NewRequest, actor: &Actor) -> Result<DsrRequest> {
    if new.subjects.is_empty() {
        return Err(RequestError::UnknownSubject);
    }
    let received = reqs.clock.now();
    let now = At::from(received);
    let deadline = Deadline::from_receipt(received);
    let id = Uuid::now_v7();
    let backend = reqs.db.backend();
    let subjects: Vec<String> = new.subjects.iter().map(ToString::to_string).collect();
    let mut insert = Query::insert();
    insert
        .into_table(col(REQUESTS))
        .columns(
            [
                "id",
                "tenant",
                "request_type",
                "identified_by",
                "subjects",
                "parameters",
                "state",
                "received_at",
                "received_by",
                "due_on",
                "extension_months",
                "effective_due_on",
                "updated_at",
            ]
            .map(col),
        )
        .values([
            id.into(),
            new.tenant.as_str().to_owned().into(),
            new.request_type.as_str().into(),
            new.identified_by.as_str().into(),
            json!(subjects).into(),
            json!(new.parameters).into(),
            RequestState::Received.as_str().into(),
            now.value(backend).into(),
            actor.principal.clone().into(),
            deadline.due_on().to_string().into(),
            0i16.into(),
            deadline.effective_due_on().to_string().into(),
            now.value(backend).into(),
        ])
        .map_err(|err| RequestError::Corrupt {
            id,
            problem: err.to_string(),
        })?;
    let mut tx = Tx::begin(&reqs.db, new.tenant, TxMode::Write).await?;
    let mut conn = tx.conn();
    conn.execute(&insert).await?;
    let event = Event {
        id,
        tenant: new.tenant,
        at: now,
        actor,
        name: RequestEvent::Received,
        from: None,
        to: RequestState::Received,
        note: None,
        verification: None,
        refusal: None,
    };
    record_event(&mut conn, &event).await?;
    let entry = audit_entry(&event, &new.subjects, &new.parameters.fields);
    audit::append(&mut conn, &entry).await?;
    tx.commit().await?;
    get(reqs, new.tenant, id).await
}

pub(super) async fn get(reqs: &Requests, tenant: Kommunenummer, id: Uuid) -> Result<DsrRequest> {
    let mut tx = Tx::begin(&reqs.db, tenant, TxMode::Read).await?;
    let mut conn = tx.conn();
    let mut request = fetch(&mut conn, tenant, id).await?;
    let mut select = Query::select();
    select
        .columns(EVENT_COLUMNS.map(col))
        .from(col(EVENTS))
        .and_where(Expr::col(col("request_id")).eq(id))
        .order_by(col("id"), Order::Asc);
    let rows: Vec<EventRow> = conn.fetch_all(&select).await?;
    request.history = rows
        .into_iter()
        .map(|row| row.into_event(id))
        .collect::<Result<_>>()?;
    Ok(request)
}

pub(super) async fn list(reqs: &Requests, filter: &RequestFilter) -> Result<Page<DsrRequest>> {
    let limit = filter.limit.clamp(1, super::MAX_PAGE_SIZE);
    let mut select = Query::select();
    select
        .columns(REQUEST_COLUMNS.map(col))
        .from(col(REQUESTS))
        .and_where(Expr::col(col("tenant")).eq(filter.tenant.as_str()))
        .order_by(col("id"), Order::Asc)
        .limit(u64::from(limit) + 1);
    if !filter.states.is_empty() {
        select.and_where(Expr::col(col("state")).is_in(filter.states.iter().map(|s| s.as_str())));
    }
    if let Some(request_type) = filter.request_type {
        select.and_where(Expr::col(col("request_type")).eq(request_type.as_str()));
    }
    if let Some(today) = filter.overdue_on {
        select
            .and_where(Expr::col(col("state")).is_in(OPEN.map(|s| s.as_str())))
            .and_where(Expr::col(col("effective_due_on")).lt(today.to_string()));
    }
    if let Some(date) = filter.due_before {
        select.and_where(Expr::col(col("effective_due_on")).lt(date.to_string()));
    }
    if let Some(cursor) = filter.after {
        select.and_where(Expr::col(col("id")).gt(cursor.after_id()));
    }
    let mut tx = Tx::begin(&reqs.db, filter.tenant, TxMode::Read).await?;
    let rows: Vec<RequestRow> = tx.conn().fetch_all(&select).await?;
    let mut items = rows
        .into_iter()
        .map(RequestRow::into_request)
        .collect::<Result<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|r| Cursor::after(r.id))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Open requests with an effective due date before `before` (and on or after `not_before`),
/// soonest due first.
pub(super) async fn open_due_before(
    reqs: &Requests,
    tenant: Kommunenummer,
    before: Date,
    not_before: Option<Date>,
) -> Result<Vec<DsrRequest>> {
    let mut select = Query::select();
    select
        .columns(REQUEST_COLUMNS.map(col))
        .from(col(REQUESTS))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("state")).is_in(OPEN.map(|s| s.as_str())))
        .and_where(Expr::col(col("effective_due_on")).lt(before.to_string()))
        .order_by(col("effective_due_on"), Order::Asc)
        .order_by(col("id"), Order::Asc);
    if let Some(date) = not_before {
        select.and_where(Expr::col(col("effective_due_on")).gte(date.to_string()));
    }
    let mut tx = Tx::begin(&reqs.db, tenant, TxMode::Read).await?;
    let rows: Vec<RequestRow> = tx.conn().fetch_all(&select).await?;
    rows.into_iter().map(RequestRow::into_request).collect()
}

pub(super) async fn verify(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    verification: Verification,
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let backend = reqs.db.backend();
    let changes = vec![
        ("verified_at", now.value(backend).into()),
        ("verified_by", actor.principal.clone().into()),
        ("verification", verification.method.as_str().into()),
        (
            "verification_evidence",
            verification
                .evidence
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .into(),
        ),
    ];
    transition_in(
        reqs,
        tenant,
        id,
        (Transition::Verify, None),
        changes,
        (None, Some(&verification)),
        actor,
    )
    .await
}

/// An event that leaves the request's state as it is and carries a note.
pub(super) enum NoteEvent<'a> {
    /// A run refused, with the code and the field names concerned.
    Refused {
        code: &'static str,
        fields: &'a [String],
    },
    /// The four-eyes rule overridden (CLI).
    FourEyesOverridden,
}

/// Records `kind` with `note` on request `id`: a history row and an audit entry, in one
/// transaction; the request row is not changed.
pub(super) async fn note_event(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    kind: NoteEvent<'_>,
    note: Reason,
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let mut tx = Tx::begin(&reqs.db, tenant, TxMode::Write).await?;
    let mut conn = tx.conn();
    let request = fetch(&mut conn, tenant, id).await?;
    let (name, refusal, fields) = match kind {
        NoteEvent::Refused { code, fields } => (RequestEvent::Refused, Some(code), fields.to_vec()),
        NoteEvent::FourEyesOverridden => (
            RequestEvent::FourEyesOverridden,
            None,
            request.parameters.fields.clone(),
        ),
    };
    let event = Event {
        id,
        tenant,
        at: now,
        actor,
        name,
        from: Some(request.state),
        to: request.state,
        note: Some(note),
        verification: None,
        refusal,
    };
    record_event(&mut conn, &event).await?;
    audit::append(&mut conn, &audit_entry(&event, &request.subjects, &fields)).await?;
    tx.commit().await?;
    get(reqs, tenant, id).await
}

pub(super) async fn start(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let changes = vec![("started_at", now.value(reqs.db.backend()).into())];
    transition_in(
        reqs,
        tenant,
        id,
        (Transition::Start, None),
        changes,
        (None, None),
        actor,
    )
    .await
}

pub(super) async fn reject(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    reason: Reason,
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let changes = vec![
        ("completed_at", now.value(reqs.db.backend()).into()),
        ("rejection_reason", reason.as_str().to_owned().into()),
    ];
    transition_in(
        reqs,
        tenant,
        id,
        (Transition::Reject, None),
        changes,
        (Some(reason), None),
        actor,
    )
    .await
}

pub(super) async fn finish(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    finish: Finish,
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let transition = match finish.status {
        FinishStatus::Completed => Transition::Complete,
        FinishStatus::PartiallyCompleted => Transition::CompletePartially,
        FinishStatus::Rejected => Transition::Reject,
    };
    let mut changes: Vec<(&str, SimpleExpr)> = vec![
        ("completed_at", now.value(reqs.db.backend()).into()),
        ("outcome", finish.outcome.into()),
    ];
    if transition == Transition::Reject {
        let Some(reason) = &finish.note else {
            return Err(RequestError::MissingReason);
        };
        changes.push(("rejection_reason", reason.as_str().to_owned().into()));
    }
    // Only a run in progress finishes: a request is rejected before its run by `reject`.
    let only_from = Some(RequestState::InProgress);
    transition_in(
        reqs,
        tenant,
        id,
        (transition, only_from),
        changes,
        (finish.note, None),
        actor,
    )
    .await
}

pub(super) async fn extend(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    months: u8,
    reason: Reason,
    actor: &Actor,
) -> Result<DsrRequest> {
    let at = reqs.clock.now();
    let now = At::from(at);
    let today = datavern_core::dsr::today_in_oslo(at);
    let mut tx = Tx::begin(&reqs.db, tenant, TxMode::Write).await?;
    let mut conn = tx.conn();
    let request = fetch(&mut conn, tenant, id).await?;
    if request.state.is_final() {
        return Err(RequestError::Ended {
            state: request.state,
        });
    }
    let extended = request.deadline.extend(months, today)?;
    let backend = reqs.db.backend();
    let mut update = Query::update();
    update
        .table(col(REQUESTS))
        .value(
            col("extension_months"),
            i16::from(extended.extension_months()),
        )
        .value(
            col("extended_due_on"),
            extended.extended_due_on().map(|d| d.to_string()),
        )
        .value(
            col("effective_due_on"),
            extended.effective_due_on().to_string(),
        )
        .value(col("extension_reason"), reason.as_str().to_owned())
        .value(col("updated_at"), now.value(backend))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("state")).eq(request.state.as_str()))
        .and_where(
            Expr::col(col("extension_months")).eq(i16::from(request.deadline.extension_months())),
        );
    if conn.execute(&update).await? != 1 {
        return Err(RequestError::Concurrent);
    }
    let event = Event {
        id,
        tenant,
        at: now,
        actor,
        name: RequestEvent::Extended,
        from: Some(request.state),
        to: request.state,
        note: Some(reason),
        verification: None,
        refusal: None,
    };
    record_event(&mut conn, &event).await?;
    audit::append(
        &mut conn,
        &audit_entry(&event, &request.subjects, &request.parameters.fields),
    )
    .await?;
    tx.commit().await?;
    get(reqs, tenant, id).await
}

/// Moves request `id` by `transition`, setting `changes` too, in one transaction with the
/// history row (with `note` and, for a verification, its method and evidence) and the audit
/// entry. With `only_from`, the move is taken only from that state.
async fn transition_in(
    reqs: &Requests,
    tenant: Kommunenummer,
    id: Uuid,
    (transition, only_from): (Transition, Option<RequestState>),
    changes: Vec<(&str, SimpleExpr)>,
    (note, verification): (Option<Reason>, Option<&Verification>),
    actor: &Actor,
) -> Result<DsrRequest> {
    let now = At::from(reqs.clock.now());
    let mut tx = Tx::begin(&reqs.db, tenant, TxMode::Write).await?;
    let mut conn = tx.conn();
    let request = fetch(&mut conn, tenant, id).await?;
    if only_from.is_some_and(|state| state != request.state) {
        return Err(RequestError::IllegalTransition(IllegalTransition {
            from: request.state,
            transition,
        }));
    }
    let to = request.state.apply(transition)?;
    let mut update = Query::update();
    update
        .table(col(REQUESTS))
        .value(col("state"), to.as_str())
        .value(col("updated_at"), now.value(reqs.db.backend()));
    for (column, value) in changes {
        update.value(col(column), value);
    }
    update
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()))
        .and_where(Expr::col(col("state")).eq(request.state.as_str()));
    if conn.execute(&update).await? != 1 {
        return Err(RequestError::Concurrent);
    }
    let event = Event {
        id,
        tenant,
        at: now,
        actor,
        name: transition.event(),
        from: Some(request.state),
        to,
        note,
        verification,
        refusal: None,
    };
    record_event(&mut conn, &event).await?;
    audit::append(
        &mut conn,
        &audit_entry(&event, &request.subjects, &request.parameters.fields),
    )
    .await?;
    tx.commit().await?;
    get(reqs, tenant, id).await
}

async fn fetch(conn: &mut Conn<'_>, tenant: Kommunenummer, id: Uuid) -> Result<DsrRequest> {
    let mut select = Query::select();
    select
        .columns(REQUEST_COLUMNS.map(col))
        .from(col(REQUESTS))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("tenant")).eq(tenant.as_str()));
    let rows: Vec<RequestRow> = conn.fetch_all(&select).await?;
    rows.into_iter()
        .next()
        .ok_or(RequestError::NotFound(id))?
        .into_request()
}

/// One transition, for the history row and the audit entry.
struct Event<'a> {
    id: Uuid,
    tenant: Kommunenummer,
    at: At,
    actor: &'a Actor,
    name: RequestEvent,
    from: Option<RequestState>,
    to: RequestState,
    note: Option<Reason>,
    /// A verification's method and evidence, for the history row.
    verification: Option<&'a Verification>,
    /// A refusal's code: the audit entry is `denied` with it as the reason.
    refusal: Option<&'static str>,
}

async fn record_event(conn: &mut Conn<'_>, event: &Event<'_>) -> Result<()> {
    let backend = conn.backend();
    let mut insert = Query::insert();
    insert
        .into_table(col(EVENTS))
        .columns(
            [
                "request_id",
                "tenant",
                "occurred_at",
                "actor",
                "event",
                "from_state",
                "to_state",
                "note",
                "method",
                "evidence",
            ]
            .map(col),
        )
        .values([
            event.id.into(),
            event.tenant.as_str().to_owned().into(),
            event.at.value(backend).into(),
            event.actor.principal.clone().into(),
            event.name.as_str().into(),
            event.from.map(|s| s.as_str()).into(),
            event.to.as_str().into(),
            event.note.as_ref().map(|r| r.as_str().to_owned()).into(),
            event.verification.map(|v| v.method.as_str()).into(),
            event
                .verification
                .and_then(|v| v.evidence.as_ref())
                .map(|e| e.as_str().to_owned())
                .into(),
        ])
        .map_err(|err| RequestError::Corrupt {
            id: event.id,
            problem: err.to_string(),
        })?;
    conn.execute(&insert).await?;
    Ok(())
}

/// The audit entry of a transition: action `request.<event>`, the request as the record,
/// its subjects, the field names it concerns; a verification's method as the reason, a
/// refusal's code (outcome `denied`). Never the note, the evidence or a personal value.
fn audit_entry(
    event: &Event<'_>,
    subjects: &[datavern_store::SubjectId],
    fields: &[String],
) -> AuditEntry {
    let mut entry = AuditEntry::new(
        event.at,
        Some(event.tenant),
        event.actor.principal.as_str(),
        AuditAction::Request(event.name),
        AuditOutcome::of_refusal(event.refusal),
    )
    .with_record(event.id)
    .with_subjects(subjects.iter().map(|s| s.as_uuid()))
    .with_fields(fields.iter().cloned());
    entry.reason = match (event.refusal, event.verification) {
        (Some(code), _) => Some(code.to_owned()),
        (None, Some(verification)) => Some(format!("method={}", verification.method)),
        (None, None) => None,
    };
    match &event.actor.request_id {
        Some(request_id) => entry.with_request_id(request_id.as_str()),
        None => entry,
    }
}
