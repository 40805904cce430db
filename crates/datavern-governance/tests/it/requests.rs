//! Data subject requests on every backend: the lifecycle with its history and audit entries,
//! illegal moves refused without a write, deadlines and extensions on a moved clock, lists
//! with filters and cursors, overdue and due-soon queries.

use std::sync::Arc;

use datavern_core::clock::{Clock, ManualClock};
use datavern_core::dsr::{
    EvidenceRef, ExtensionError, IdentifiedBy, Parameters, Reason, RequestState, RequestType,
    Verification, VerificationMethod,
};
use datavern_governance::requests::{
    Actor, DsrRequest, Finish, FinishStatus, NewRequest, RequestError, RequestFilter, Requests,
};
use datavern_sql::Backend;
use datavern_sql::testing::TestDb;
use datavern_store::audit::AuditFilter;
use datavern_store::testing::OpenStore as _;
use datavern_store::{Store, SubjectId};
use jiff::SignedDuration;
use serde_json::json;
use uuid::Uuid;

use crate::support::{on_every_backend, subject, tenant};

/// A verification by letter, without an evidence reference.
fn letter() -> Verification {
    Verification::new(VerificationMethod::Letter)
}

struct Setup {
    db: TestDb,
    store: Store,
    clock: ManualClock,
    requests: Requests,
}

impl Setup {
    async fn new(backend: Backend, now: &str) -> Setup {
        let db = TestDb::new(backend).await;
        let clock = ManualClock::new(now.parse().unwrap());
        let store = db.open().await.with_clock(Arc::new(clock.clone()));
        let requests = Requests::new(&store);
        Setup {
            db,
            store,
            clock,
            requests,
        }
    }

    async fn create(&self, request_type: RequestType, subjects: Vec<SubjectId>) -> DsrRequest {
        self.create_in("0301", request_type, subjects).await
    }

    async fn create_in(
        &self,
        tenant_id: &str,
        request_type: RequestType,
        subjects: Vec<SubjectId>,
    ) -> DsrRequest {
        let new = NewRequest {
            tenant: tenant(tenant_id),
            request_type,
            identified_by: IdentifiedBy::Fodselsnummer,
            subjects,
            parameters: Parameters::default(),
        };
        self.requests.create(new, &dpo()).await.unwrap()
    }

    fn advance_days(&self, days: i64) {
        self.clock.advance(SignedDuration::from_hours(24 * days));
    }

    async fn finish(self) {
        self.store.close().await;
        self.db.cleanup().await;
    }
}

fn dpo() -> Actor {
    Actor {
        principal: "personvernombud".to_owned(),
        request_id: Some("req-1".to_owned()),
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn date(text: &str) -> jiff::civil::Date {
    text.parse().unwrap()
}

#[on_every_backend]
async fn lifecycle_records_history_and_audits_every_step(backend: Backend) {
    let s = Setup::new(backend, "2026-03-02T09:00:00Z").await;
    let (child, guardian) = (subject(), subject());
    let t = tenant("0301");
    let created = s.create(RequestType::Access, vec![child, guardian]).await;
    assert_eq!(created.state, RequestState::Received);
    assert_eq!(created.subjects, [child, guardian]);
    assert_eq!(created.identified_by, IdentifiedBy::Fodselsnummer);
    assert_eq!(created.deadline.due_on(), date("2026-04-02"));
    assert_eq!(created.received_by, "personvernombud");

    s.advance_days(1);
    let verified = s
        .requests
        .verify(
            t,
            created.id,
            Verification::new(VerificationMethod::IdPorten)
                .with_evidence(EvidenceRef::parse("idporten:7f3a").unwrap()),
            &dpo(),
        )
        .await
        .unwrap();
    assert_eq!(verified.state, RequestState::Verified);
    assert_eq!(verified.verification.as_deref(), Some("id_porten"));
    assert_eq!(
        verified.verification_evidence.as_deref(),
        Some("idporten:7f3a")
    );
    assert_eq!(verified.verified_at, Some(s.clock.now()));

    let started = s.requests.start(t, created.id, &dpo()).await.unwrap();
    assert_eq!(started.state, RequestState::InProgress);
    let outcome = json!({"collections": {"innbyggere": 1}, "records": 3});
    let done = s
        .requests
        .finish(
            t,
            created.id,
            Finish {
                status: FinishStatus::Completed,
                outcome: outcome.clone(),
                note: None,
            },
            &dpo(),
        )
        .await
        .unwrap();
    assert_eq!(done.state, RequestState::Completed);
    assert_eq!(done.outcome, Some(outcome));
    assert_eq!(done.completed_at, Some(s.clock.now()));
    assert!(
        !done.is_overdue(date("2030-01-01")),
        "an ended request is never overdue"
    );
    assert_eq!(done.days_left(date("2026-03-03")), None);

    let events: Vec<(&str, Option<RequestState>, RequestState)> = done
        .history
        .iter()
        .map(|e| (e.event.as_str(), e.from, e.to))
        .collect();
    use RequestState as S;
    assert_eq!(
        events,
        [
            ("received", None, S::Received),
            ("verified", Some(S::Received), S::Verified),
            ("started", Some(S::Verified), S::InProgress),
            ("completed", Some(S::InProgress), S::Completed),
        ]
    );
    assert!(done.history.iter().all(|e| e.actor == "personvernombud"));
    // Who verified and by what means is in the history row of the verification too.
    assert_eq!(done.history[1].method.as_deref(), Some("id_porten"));
    assert_eq!(done.history[1].evidence.as_deref(), Some("idporten:7f3a"));
    assert!(done.history[2].method.is_none());

    let audit = s
        .store
        .audit()
        .query(AuditFilter::new(t).record(created.id))
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "request.received",
            "request.verified",
            "request.started",
            "request.completed"
        ]
    );
    for record in &audit.items {
        assert_eq!(record.entry.subject_id, Some(child.as_uuid()));
        assert_eq!(record.entry.subjects, [guardian.as_uuid()]);
        assert_eq!(record.entry.principal, "personvernombud");
        assert_eq!(record.entry.request_id.as_deref(), Some("req-1"));
    }
    s.finish().await;
}

#[on_every_backend]
async fn illegal_transitions_are_refused_and_change_nothing(backend: Backend) {
    let s = Setup::new(backend, "2026-03-02T09:00:00Z").await;
    let t = tenant("0301");
    let r = s.create(RequestType::Erasure, vec![subject()]).await;
    let refused = s.requests.start(t, r.id, &dpo()).await.unwrap_err();
    assert!(
        matches!(refused, RequestError::IllegalTransition(ref e) if e.from == RequestState::Received),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("verify the requester's identity first")
    );
    let finish = |status| Finish {
        status,
        outcome: json!({}),
        note: None,
    };
    s.requests.verify(t, r.id, letter(), &dpo()).await.unwrap();
    for err in [
        s.requests
            .verify(t, r.id, letter(), &dpo())
            .await
            .unwrap_err(),
        s.requests
            .finish(t, r.id, finish(FinishStatus::Completed), &dpo())
            .await
            .unwrap_err(),
        s.requests
            .finish(
                t,
                r.id,
                Finish {
                    note: Some(reason("no")),
                    ..finish(FinishStatus::Rejected)
                },
                &dpo(),
            )
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "illegal_transition", "{err}");
    }
    s.requests.start(t, r.id, &dpo()).await.unwrap();
    s.requests
        .finish(t, r.id, finish(FinishStatus::PartiallyCompleted), &dpo())
        .await
        .unwrap();
    for err in [
        s.requests.start(t, r.id, &dpo()).await.unwrap_err(),
        s.requests
            .reject(t, r.id, reason("late"), &dpo())
            .await
            .unwrap_err(),
        s.requests
            .finish(t, r.id, finish(FinishStatus::Completed), &dpo())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "illegal_transition", "{err}");
    }
    let ended = s
        .requests
        .extend(t, r.id, 1, reason("more time"), &dpo())
        .await
        .unwrap_err();
    assert!(matches!(ended, RequestError::Ended { .. }), "{ended:?}");
    let stored = s.requests.get(t, r.id).await.unwrap();
    assert_eq!(stored.state, RequestState::PartiallyCompleted);
    assert_eq!(
        stored.history.len(),
        4,
        "received, verified, started, partially completed"
    );
    let missing = s.requests.verify(t, Uuid::now_v7(), letter(), &dpo()).await;
    assert!(matches!(missing, Err(RequestError::NotFound(_))));
    s.finish().await;
}

#[on_every_backend]
async fn deadline_extends_before_the_due_date_and_goes_overdue_on_a_moved_clock(backend: Backend) {
    // 10:00 in Oslo on 31 January: due on the last day of February.
    let s = Setup::new(backend, "2026-01-31T09:00:00Z").await;
    let t = tenant("0301");
    let r = s.create(RequestType::Portability, vec![subject()]).await;
    assert_eq!(r.deadline.due_on(), date("2026-02-28"));
    assert_eq!(r.deadline.extended_due_on(), None);
    assert_eq!(r.days_left(s.requests.today()), Some(28));

    let no_reason = Reason::parse(" ");
    assert!(no_reason.is_err(), "an extension needs a reason");
    s.advance_days(20);
    let extended = s
        .requests
        .extend(t, r.id, 1, reason("records in three archives"), &dpo())
        .await
        .unwrap();
    assert_eq!(extended.deadline.due_on(), date("2026-02-28"));
    assert_eq!(
        extended.deadline.extended_due_on(),
        Some(date("2026-03-31"))
    );
    assert_eq!(
        extended.extension_reason.as_ref().map(Reason::as_str),
        Some("records in three archives")
    );
    let too_long = s
        .requests
        .extend(t, r.id, 2, reason("more"), &dpo())
        .await
        .unwrap_err();
    assert!(
        matches!(
            too_long,
            RequestError::Extension(ExtensionError::TooLong { already: 1 })
        ),
        "{too_long:?}"
    );

    // 1 March: past the original due date, so no further extension.
    s.advance_days(9);
    assert_eq!(s.requests.today(), date("2026-03-01"));
    let late = s
        .requests
        .extend(t, r.id, 1, reason("more"), &dpo())
        .await
        .unwrap_err();
    assert!(
        matches!(
            late,
            RequestError::Extension(ExtensionError::TooLate { .. })
        ),
        "{late:?}"
    );
    assert!(
        s.requests
            .overdue(t, s.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    let soon = s.requests.due_soon(t, s.clock.now(), 30).await.unwrap();
    assert_eq!(soon.iter().map(|r| r.id).collect::<Vec<_>>(), [r.id]);
    assert!(
        s.requests
            .due_soon(t, s.clock.now(), 29)
            .await
            .unwrap()
            .is_empty()
    );

    // 1 April: past the extended due date.
    s.advance_days(31);
    let today = s.requests.today();
    assert_eq!(today, date("2026-04-01"));
    let overdue = s.requests.overdue(t, s.clock.now()).await.unwrap();
    assert_eq!(overdue.iter().map(|r| r.id).collect::<Vec<_>>(), [r.id]);
    let shown = s.requests.get(t, r.id).await.unwrap();
    assert!(shown.is_overdue(today));
    assert_eq!(shown.days_left(today), Some(-1));
    let listed = s
        .requests
        .list(&RequestFilter::new(t).overdue_on(today))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let history: Vec<&str> = shown.history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(history, ["received", "extended"]);
    assert!(shown.history[1].note.is_some());
    s.finish().await;
}

#[on_every_backend]
async fn list_filters_by_state_type_overdue_and_due_date_with_cursor(backend: Backend) {
    let s = Setup::new(backend, "2026-05-04T09:00:00Z").await;
    let t = tenant("0301");
    let mut ids = Vec::new();
    for request_type in [
        RequestType::Access,
        RequestType::Erasure,
        RequestType::Access,
        RequestType::Objection,
        RequestType::Access,
    ] {
        ids.push(s.create(request_type, vec![subject()]).await.id);
        s.advance_days(2);
    }
    s.requests
        .verify(t, ids[0], letter(), &dpo())
        .await
        .unwrap();
    s.requests
        .verify(t, ids[2], letter(), &dpo())
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut filter = RequestFilter::new(t).limit(2);
    loop {
        let page = s.requests.list(&filter).await.unwrap();
        assert!(page.items.len() <= 2);
        assert!(page.items.iter().all(|r| r.history.is_empty()));
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(cursor) => filter = filter.after(cursor),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let ids_of = |page: datavern_store::records::Page<DsrRequest>| {
        page.items.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let access = s
        .requests
        .list(&RequestFilter::new(t).request_type(RequestType::Access))
        .await
        .unwrap();
    assert_eq!(ids_of(access), [ids[0], ids[2], ids[4]]);
    let verified_access = s
        .requests
        .list(
            &RequestFilter::new(t)
                .state(RequestState::Verified)
                .request_type(RequestType::Access),
        )
        .await
        .unwrap();
    assert_eq!(ids_of(verified_access), [ids[0], ids[2]]);
    // Due 4, 6, 8, 10 and 12 June.
    let due_early = s
        .requests
        .list(&RequestFilter::new(t).due_before(date("2026-06-07")))
        .await
        .unwrap();
    assert_eq!(ids_of(due_early), [ids[0], ids[1]]);
    let overdue = s
        .requests
        .list(&RequestFilter::new(t).overdue_on(date("2026-06-09")))
        .await
        .unwrap();
    assert_eq!(ids_of(overdue), [ids[0], ids[1], ids[2]]);
    s.finish().await;
}

#[on_every_backend]
async fn other_tenants_requests_are_not_found(backend: Backend) {
    let s = Setup::new(backend, "2026-05-04T09:00:00Z").await;
    let bergen = s
        .create_in("4601", RequestType::Access, vec![subject()])
        .await;
    let oslo = tenant("0301");
    assert!(matches!(
        s.requests.get(oslo, bergen.id).await,
        Err(RequestError::NotFound(_))
    ));
    assert!(matches!(
        s.requests.verify(oslo, bergen.id, letter(), &dpo()).await,
        Err(RequestError::NotFound(_))
    ));
    let listed = s.requests.list(&RequestFilter::new(oslo)).await.unwrap();
    assert!(listed.items.is_empty());
    let unknown = s
        .requests
        .create(
            NewRequest {
                tenant: oslo,
                request_type: RequestType::Access,
                identified_by: IdentifiedBy::SubjectId,
                subjects: Vec::new(),
                parameters: Parameters::default(),
            },
            &dpo(),
        )
        .await;
    assert!(matches!(unknown, Err(RequestError::UnknownSubject)));
    s.finish().await;
}

#[on_every_backend]
async fn rejection_needs_a_reason_and_ends_the_request(backend: Backend) {
    let s = Setup::new(backend, "2026-05-04T09:00:00Z").await;
    let t = tenant("0301");
    let r = s.create(RequestType::Objection, vec![subject()]).await;
    s.requests.verify(t, r.id, letter(), &dpo()).await.unwrap();
    s.requests.start(t, r.id, &dpo()).await.unwrap();
    let missing = s
        .requests
        .finish(
            t,
            r.id,
            Finish {
                status: FinishStatus::Rejected,
                outcome: json!({}),
                note: None,
            },
            &dpo(),
        )
        .await;
    assert!(matches!(missing, Err(RequestError::MissingReason)));
    let rejected = s
        .requests
        .reject(
            t,
            r.id,
            reason("compelling legitimate grounds, Art. 21(1)"),
            &dpo(),
        )
        .await
        .unwrap();
    assert_eq!(rejected.state, RequestState::Rejected);
    assert!(rejected.rejection_reason.is_some());
    assert!(
        !format!("{rejected:?}").contains("compelling"),
        "reasons stay out of Debug"
    );
    let audit = s
        .store
        .audit()
        .query(AuditFilter::new(t).record(r.id))
        .await
        .unwrap();
    let last = &audit.items.last().unwrap().entry;
    assert_eq!(last.action.as_str(), "request.rejected");
    assert!(
        !format!("{last:?}").contains("compelling"),
        "reasons stay out of the audit log"
    );
    s.finish().await;
}

#[on_every_backend]
async fn concurrent_moves_have_one_winner(backend: Backend) {
    let s = Setup::new(backend, "2026-05-04T09:00:00Z").await;
    let t = tenant("0301");
    let r = s.create(RequestType::Access, vec![subject()]).await;
    let actor = dpo();
    let attempts = (0..8).map(|_| s.requests.verify(t, r.id, letter(), &actor));
    let results = futures_util::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                err,
                RequestError::IllegalTransition(_) | RequestError::Concurrent
            ),
            "{err:?}"
        );
    }
    let stored = s.requests.get(t, r.id).await.unwrap();
    let verified = stored
        .history
        .iter()
        .filter(|e| e.event == "verified")
        .count();
    assert_eq!(verified, 1);
    s.finish().await;
}
