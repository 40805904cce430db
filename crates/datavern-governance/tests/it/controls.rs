//! The data subject's controls on every backend: consent (granted → read, withdrawn → the
//! next read refused and lists drop the record, history append-only and ordered), restriction
//! (writes refused, reads only for purposes allowed under restriction, lifting restores) and
//! objection (6(1)(e)/(f) purposes refused, 6(1)(c) still allowed).

use datavern_core::access::{self, AccessRequest, ConsentState, Grant, Operation, Principal, Role};
use datavern_core::catalog::PurposeId;
use datavern_core::consent::{
    ConsentAction, ConsentChannel, ConsentEvent, EvidenceRef, NoticeVersion,
};
use datavern_core::controls::RestrictionReason;
use datavern_core::record::Mode;
use datavern_governance::controls::Controls;
use datavern_sql::Backend;
use datavern_store::records::RecordView;
use datavern_store::{RecordError, StoreError, SubjectId};
use serde_json::{Value, json};
use uuid::Uuid;

use datavern_testkit::fixtures::kommune_two_tenants;
use datavern_testkit::{Env, meta};

use crate::support::record_error;
use crate::support::{on_every_backend, strings, tenant};

/// The test principal of `tenant_no` with the role [`with_recorder_role`] requires for
/// recording grants to `nyhetsbrev`.
fn recorder(env: &Env, tenant_no: &str) -> Principal {
    env.principal(tenant_no)
        .with_roles([Role::parse("consent_recorder").unwrap()])
}

/// The example catalog (two tenants) with grants to `nyhetsbrev` reserved to the role
/// `consent_recorder`.
fn with_recorder_role() -> String {
    kommune_two_tenants().replacen(
        "    lawful_basis: 6(1)(a)\n",
        "    lawful_basis: 6(1)(a)\n    consent:\n      recorder_role: consent_recorder\n",
        1,
    )
}

#[on_every_backend]
async fn grants_need_the_recorder_role_and_keep_their_evidence(backend: Backend) {
    let env = Env::new(backend, &with_recorder_role()).await;
    let controls = Controls::new(env.records.clone());
    let view = subscribe(&env).await;
    let subject = SubjectId::from_uuid(view.id);
    let before = env.count("dv_consent_events").await;
    let grant = event(ConsentAction::Grant, "2026-06-01T10:00:00Z")
        .with_evidence(EvidenceRef::parse("skjema:2026/4711").unwrap());

    // Without the role (the principal may use the purpose): refused, nothing recorded.
    let result = controls
        .record_consent(&env.principal("4601"), subject, &grant, &meta())
        .await;
    let err = record_error(result);
    assert_eq!(err.code(), "consent_recorder_required");
    assert!(err.to_string().contains("`consent_recorder`"), "{err}");
    assert_eq!(env.count("dv_consent_events").await, before);
    // A withdrawal needs no role.
    controls
        .record_consent(
            &env.principal("4601"),
            subject,
            &event(ConsentAction::Withdraw, "2026-06-02T10:00:00Z"),
            &meta(),
        )
        .await
        .unwrap();

    // With the role: recorded with its channel and evidence, and read back.
    let stored = controls
        .record_consent(&recorder(&env, "4601"), subject, &grant, &meta())
        .await
        .unwrap();
    assert_eq!(
        stored.event.evidence().map(EvidenceRef::as_str),
        Some("skjema:2026/4711")
    );
    let register = controls
        .consents(&env.principal("4601"), subject, None, &meta())
        .await
        .unwrap();
    let last = register.history.last().unwrap();
    assert_eq!(last.id, stored.id);
    assert_eq!(last.event.channel(), ConsentChannel::Web);
    assert_eq!(
        last.event.evidence().map(EvidenceRef::as_str),
        Some("skjema:2026/4711")
    );
    // Events without evidence read back without it.
    assert!(
        register.history[register.history.len() - 2]
            .event
            .evidence()
            .is_none()
    );
    env.finish().await;
}

/// A grant as the server asks for it: consent left to the store.
fn grant(env: &Env, operation: Operation, collection: &str, purpose: &str) -> Grant {
    let tenant = tenant("4601");
    let request = match operation {
        Operation::Create => AccessRequest::create(collection, tenant),
        Operation::Read => AccessRequest::read(collection, tenant),
        Operation::Update => AccessRequest::update(collection, tenant),
        Operation::Delete => AccessRequest::delete(collection, tenant),
        Operation::List => AccessRequest::list(collection, tenant),
        Operation::Lookup => unreachable!("no lookups here"),
    }
    .with_purpose(Some(purpose))
    .with_consent(ConsentState::Deferred);
    access::decide(&env.catalog, &env.principal("4601"), &request)
        .unwrap_or_else(|denial| panic!("{denial}"))
}

fn event(action: ConsentAction, at: &str) -> ConsentEvent {
    let notice = match action {
        ConsentAction::Grant => Some(NoticeVersion::parse("2026-01").unwrap()),
        ConsentAction::Withdraw => None,
    };
    ConsentEvent::new(
        PurposeId::parse("nyhetsbrev").unwrap(),
        action,
        notice,
        ConsentChannel::Web,
        at.parse().unwrap(),
        "minside",
    )
    .unwrap()
}

fn subscriber() -> Value {
    json!({"epost": "abonnent@example.no", "navn": "Abonnent"})
}

async fn subscribe(env: &Env) -> RecordView {
    let grant = grant(env, Operation::Create, "nyhetsbrev", "nyhetsbrev");
    let record = env.body("nyhetsbrev", subscriber(), Mode::Create);
    env.records
        .create_with_consent(
            &grant,
            record,
            &event(ConsentAction::Grant, "2026-03-01T10:00:00Z"),
            &meta(),
        )
        .await
        .unwrap()
}

async fn read(
    env: &Env,
    collection: &str,
    purpose: &str,
    id: Uuid,
) -> Result<RecordView, StoreError> {
    let grant = grant(env, Operation::Read, collection, purpose);
    env.records.get(&grant, id, &meta()).await
}

async fn list_ids(env: &Env, collection: &str, purpose: &str) -> Vec<Uuid> {
    let grant = grant(env, Operation::List, collection, purpose);
    let page = env.records.list(&grant, None, 100, &meta()).await.unwrap();
    page.items.iter().map(|v| v.id).collect()
}

fn denial_code(result: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match record_error(result) {
        RecordError::Denied(denial) => denial.code(),
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// `(action, outcome, reason)` of every audit entry, in insertion order.
async fn audit_actions(env: &Env) -> Vec<(String, String, String)> {
    let column = |c: &str| {
        let sql = format!("SELECT COALESCE({c}, '') FROM dv_audit ORDER BY id");
        async move { strings(env.data(), &sql).await }
    };
    let actions = column("action").await;
    let outcomes = column("outcome").await;
    let reasons = column("reason").await;
    actions
        .into_iter()
        .zip(outcomes)
        .zip(reasons)
        .map(|((a, o), r)| (a, o, r))
        .collect()
}

#[on_every_backend]
async fn consent_withdrawal_refuses_the_next_read_and_drops_the_record_from_lists(
    backend: Backend,
) {
    let env = Env::kommune(backend).await;
    let controls = Controls::new(env.records.clone());
    let view = subscribe(&env).await;
    let subject = SubjectId::from_uuid(view.id);

    let read_back = read(&env, "nyhetsbrev", "nyhetsbrev", view.id)
        .await
        .unwrap();
    assert_eq!(read_back.id, view.id);
    assert_eq!(list_ids(&env, "nyhetsbrev", "nyhetsbrev").await, [view.id]);

    controls
        .record_consent(
            &env.principal("4601"),
            subject,
            &event(ConsentAction::Withdraw, "2026-03-02T10:00:00Z"),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(
        denial_code(read(&env, "nyhetsbrev", "nyhetsbrev", view.id).await),
        "consent_required"
    );
    assert!(list_ids(&env, "nyhetsbrev", "nyhetsbrev").await.is_empty());
    let update = env.body("nyhetsbrev", json!({"navn": "Ny"}), Mode::Patch);
    let result = env
        .records
        .update(
            &grant(&env, Operation::Update, "nyhetsbrev", "nyhetsbrev"),
            view.id,
            update,
            None,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(result), "consent_required");
    // Withdrawal is when the data must go: delete needs no consent.
    env.records
        .delete(
            &grant(&env, Operation::Delete, "nyhetsbrev", "nyhetsbrev"),
            view.id,
            &meta(),
        )
        .await
        .unwrap();

    let audit = audit_actions(&env).await;
    assert!(audit.contains(&(
        "consent_grant".to_owned(),
        "granted".to_owned(),
        String::new()
    )));
    assert!(audit.contains(&(
        "consent_withdraw".to_owned(),
        "granted".to_owned(),
        String::new()
    )));
    assert!(audit.contains(&(
        "read".to_owned(),
        "denied".to_owned(),
        "consent_required".to_owned()
    )));
    let events = strings(
        env.data(),
        "SELECT type FROM dv_outbox WHERE type LIKE 'no.datavern.consent.%' ORDER BY position",
    )
    .await;
    assert_eq!(
        events,
        [
            "no.datavern.consent.granted",
            "no.datavern.consent.withdrawn"
        ]
    );
    env.finish().await;
}

#[on_every_backend]
async fn create_for_a_consent_purpose_needs_the_consent(backend: Backend) {
    let env = Env::kommune(backend).await;
    let grant = grant(&env, Operation::Create, "nyhetsbrev", "nyhetsbrev");
    let record = env.body("nyhetsbrev", subscriber(), Mode::Create);
    let result = env.records.create(&grant, record, &meta()).await;
    assert_eq!(denial_code(result), "consent_required");
    assert_eq!(env.count("c_nyhetsbrev").await, 0);

    // A withdrawal is no proof of consent.
    let record = env.body("nyhetsbrev", subscriber(), Mode::Create);
    let result = env
        .records
        .create_with_consent(
            &grant,
            record,
            &event(ConsentAction::Withdraw, "2026-03-01T10:00:00Z"),
            &meta(),
        )
        .await;
    assert_eq!(
        record_error(result).code(),
        "consent_not_applicable",
        "a withdrawal cannot create a subscriber"
    );
    assert_eq!(env.count("c_nyhetsbrev").await, 0);
    assert_eq!(env.count("dv_consent_events").await, 0);
    env.finish().await;
}

#[on_every_backend]
async fn consent_history_is_append_only_ordered_and_latest_wins(backend: Backend) {
    let env = Env::kommune(backend).await;
    let controls = Controls::new(env.records.clone());
    let view = subscribe(&env).await;
    let subject = SubjectId::from_uuid(view.id);
    let principal = env.principal("4601");
    let record = |action, at| {
        let controls = controls.clone();
        let principal = principal.clone();
        async move {
            controls
                .record_consent(&principal, subject, &event(action, at), &meta())
                .await
                .unwrap()
        }
    };
    record(ConsentAction::Withdraw, "2026-04-01T10:00:00Z").await;
    record(ConsentAction::Grant, "2026-05-01T10:00:00Z").await;
    // Recorded late, dated before the latest: it joins the history, the state stays.
    record(ConsentAction::Withdraw, "2026-04-15T10:00:00Z").await;

    let register = controls
        .consents(&principal, subject, None, &meta())
        .await
        .unwrap();
    let history: Vec<(ConsentAction, String)> = register
        .history
        .iter()
        .map(|s| (s.event.action(), s.event.at().to_string()))
        .collect();
    assert_eq!(
        history,
        [
            (ConsentAction::Grant, "2026-03-01T10:00:00Z".to_owned()),
            (ConsentAction::Withdraw, "2026-04-01T10:00:00Z".to_owned()),
            (ConsentAction::Grant, "2026-05-01T10:00:00Z".to_owned()),
            (ConsentAction::Withdraw, "2026-04-15T10:00:00Z".to_owned()),
        ]
    );
    assert_eq!(register.current.len(), 1);
    assert_eq!(register.current[0].state, ConsentState::Granted);
    assert_eq!(register.current[0].event_id, register.history[2].id);
    assert_eq!(
        register.history[0]
            .event
            .notice_version()
            .map(|v| v.as_str()),
        Some("2026-01")
    );
    read(&env, "nyhetsbrev", "nyhetsbrev", view.id)
        .await
        .unwrap();
    env.finish().await;
}

#[on_every_backend]
async fn consent_is_recorded_only_for_consent_purposes_and_known_subjects(backend: Backend) {
    let env = Env::kommune(backend).await;
    let controls = Controls::new(env.records.clone());
    let resident = env.create_resident(1).await;
    let principal = env.principal("4601");
    let not_consent = ConsentEvent::new(
        PurposeId::parse("innbyggerregister").unwrap(),
        ConsentAction::Grant,
        Some(NoticeVersion::parse("1").unwrap()),
        ConsentChannel::Paper,
        "2026-03-01T10:00:00Z".parse().unwrap(),
        "saksbehandler-1",
    )
    .unwrap();
    let result = controls
        .record_consent(
            &principal,
            SubjectId::from_uuid(resident.id),
            &not_consent,
            &meta(),
        )
        .await;
    let err = record_error(result);
    assert_eq!(err.code(), "consent_invalid");
    assert!(err.to_string().contains("not consent"), "{err}");

    let nobody = SubjectId::from_uuid(Uuid::now_v7());
    let result = controls
        .record_consent(
            &principal,
            nobody,
            &event(ConsentAction::Grant, "2026-03-01T10:00:00Z"),
            &meta(),
        )
        .await;
    assert_eq!(record_error(result).code(), "subject_not_found");
    // Another tenant's person is nobody here.
    let oslo = env.principal("0301");
    let result = controls
        .record_consent(
            &oslo,
            SubjectId::from_uuid(resident.id),
            &event(ConsentAction::Grant, "2026-03-01T10:00:00Z"),
            &meta(),
        )
        .await;
    assert_eq!(record_error(result).code(), "subject_not_found");
    assert_eq!(env.count("dv_consent_events").await, 0);
    env.finish().await;
}

fn sak(bruker: Uuid) -> Value {
    json!({
        "bruker_id": bruker.to_string(),
        "saksnummer": "2026/17",
        "tjeneste": "hjemmesykepleie",
    })
}

#[on_every_backend]
async fn restriction_refuses_writes_and_reads_except_for_allowed_purposes(backend: Backend) {
    let env = Env::kommune(backend).await;
    let controls = Controls::new(env.records.clone());
    let principal = env.principal("4601");
    let resident = env.create_resident(1).await;
    let other = env.create_resident(2).await;
    let case = env
        .create("saker", "helse_omsorg", "4601", sak(resident.id))
        .await;
    let other_case = env
        .create("saker", "helse_omsorg", "4601", sak(other.id))
        .await;
    let subject = SubjectId::from_uuid(resident.id);

    let marked = controls
        .restrict(
            &principal,
            &[subject],
            RestrictionReason::AccuracyContested,
            Some("dsr-1"),
        )
        .await
        .unwrap();
    assert_eq!(marked, 2, "the person and their case");
    assert!(
        controls
            .is_restricted(tenant("4601"), subject)
            .await
            .unwrap()
    );

    // Reads: only for purposes allowed under restriction.
    read(&env, "saker", "klagebehandling", case.id)
        .await
        .unwrap();
    read(&env, "saker", "arkivering", case.id).await.unwrap();
    assert_eq!(
        denial_code(read(&env, "saker", "helse_omsorg", case.id).await),
        "processing_restricted"
    );
    assert_eq!(
        denial_code(read(&env, "innbyggere", "innbyggerregister", resident.id).await),
        "processing_restricted"
    );
    assert_eq!(
        list_ids(&env, "saker", "helse_omsorg").await,
        [other_case.id],
        "lists drop restricted records"
    );
    assert_eq!(
        list_ids(&env, "saker", "klagebehandling").await,
        [case.id, other_case.id]
    );

    // Writes: refused, whatever the purpose.
    restricted_writes_are_refused(&env, resident.id, case.id, other_case.id).await;

    let audit = audit_actions(&env).await;
    assert!(audit.contains(&(
        "restrict".to_owned(),
        "granted".to_owned(),
        "accuracy_contested".to_owned()
    )));
    assert!(audit.contains(&(
        "update".to_owned(),
        "denied".to_owned(),
        "processing_restricted".to_owned()
    )));

    // Lifting restores processing.
    let cleared = controls
        .lift_restriction(&principal, &[subject], Some("dsr-2"))
        .await
        .unwrap();
    assert_eq!(cleared, 2);
    assert!(
        !controls
            .is_restricted(tenant("4601"), subject)
            .await
            .unwrap()
    );
    read(&env, "saker", "helse_omsorg", case.id).await.unwrap();
    let patch = env.body("saker", json!({"vedtak": "innvilget"}), Mode::Patch);
    env.records
        .update(
            &grant(&env, Operation::Update, "saker", "helse_omsorg"),
            case.id,
            patch,
            None,
            &meta(),
        )
        .await
        .unwrap();
    let view = controls
        .subject(&principal, subject, &meta())
        .await
        .unwrap();
    assert_eq!(view.restrictions.len(), 1);
    assert!(view.restrictions[0].lifted_at.is_some());
    assert_eq!(view.restrictions[0].request_id.as_deref(), Some("dsr-1"));

    let nobody = SubjectId::from_uuid(Uuid::now_v7());
    let result = controls
        .restrict(
            &principal,
            &[subject, nobody],
            RestrictionReason::LegalClaims,
            None,
        )
        .await;
    assert_eq!(record_error(result).code(), "subject_not_found");
    assert!(
        !controls
            .is_restricted(tenant("4601"), subject)
            .await
            .unwrap(),
        "nothing is written when one subject is unknown"
    );
    env.finish().await;
}

/// Every write about the restricted `resident` is refused, whatever the purpose: an update
/// or delete of their `case`, a new case, and moving `other_case` onto them.
async fn restricted_writes_are_refused(env: &Env, resident: Uuid, case: Uuid, other_case: Uuid) {
    let patch = env.body("saker", json!({"vedtak": "innvilget"}), Mode::Patch);
    let update = env
        .records
        .update(
            &grant(env, Operation::Update, "saker", "klagebehandling"),
            case,
            patch,
            None,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(update), "processing_restricted");
    let delete = env
        .records
        .delete(
            &grant(env, Operation::Delete, "saker", "arkivering"),
            case,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(delete), "processing_restricted");
    let new_case = env.body("saker", sak(resident), Mode::Create);
    let create = env
        .records
        .create(
            &grant(env, Operation::Create, "saker", "helse_omsorg"),
            new_case,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(create), "processing_restricted");
    assert_eq!(env.count("c_saker").await, 2);
    // Moving another person's case onto the restricted person is a write about them too.
    let patch = env.body(
        "saker",
        json!({"bruker_id": resident.to_string()}),
        Mode::Patch,
    );
    let moved = env
        .records
        .update(
            &grant(env, Operation::Update, "saker", "helse_omsorg"),
            other_case,
            patch,
            None,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(moved), "processing_restricted");
}

#[on_every_backend]
async fn objection_refuses_public_task_purposes_but_not_legal_obligation(backend: Backend) {
    let env = Env::kommune(backend).await;
    let controls = Controls::new(env.records.clone());
    let principal = env.principal("4601");
    let resident = env.create_resident(1).await;
    let case = env
        .create("saker", "helse_omsorg", "4601", sak(resident.id))
        .await;
    let subject = SubjectId::from_uuid(resident.id);

    // One purpose first.
    let helse = PurposeId::parse("helse_omsorg").unwrap();
    let recorded = controls
        .object(
            &principal,
            &[subject],
            Some(std::slice::from_ref(&helse)),
            Some("dsr-3"),
        )
        .await
        .unwrap();
    assert_eq!(recorded, 1);
    assert_eq!(
        denial_code(read(&env, "saker", "helse_omsorg", case.id).await),
        "objection_upheld"
    );
    read(&env, "saker", "klagebehandling", case.id)
        .await
        .unwrap();

    // Then every 6(1)(e)/(f) purpose.
    controls
        .object(&principal, &[subject], None, Some("dsr-4"))
        .await
        .unwrap();
    assert_eq!(
        denial_code(read(&env, "saker", "klagebehandling", case.id).await),
        "objection_upheld"
    );
    assert_eq!(
        denial_code(read(&env, "innbyggere", "innbyggerregister", resident.id).await),
        "objection_upheld"
    );
    assert!(
        list_ids(&env, "innbyggere", "kommunikasjon")
            .await
            .is_empty()
    );
    // 6(1)(c): the archive duty is not subject to objection.
    read(&env, "saker", "arkivering", case.id).await.unwrap();
    let patch = env.body("saker", json!({"vedtak": "avslått"}), Mode::Patch);
    let update = env
        .records
        .update(
            &grant(&env, Operation::Update, "saker", "helse_omsorg"),
            case.id,
            patch,
            None,
            &meta(),
        )
        .await;
    assert_eq!(denial_code(update), "objection_upheld");

    let arkivering = PurposeId::parse("arkivering").unwrap();
    let result = controls
        .object(&principal, &[subject], Some(&[arkivering]), None)
        .await;
    let err = record_error(result);
    assert_eq!(err.code(), "purpose_not_objectionable");
    assert!(err.to_string().contains("6(1)(c)"), "{err}");

    let lifted = controls
        .lift_objection(&principal, &[subject], None, Some("dsr-5"))
        .await
        .unwrap();
    assert_eq!(lifted, 2);
    read(&env, "saker", "helse_omsorg", case.id).await.unwrap();
    assert_eq!(
        list_ids(&env, "innbyggere", "kommunikasjon").await,
        [resident.id]
    );
    let objections = controls.objections(tenant("4601"), subject).await.unwrap();
    assert_eq!(objections.len(), 2);
    assert!(objections.iter().all(|o| o.lifted_at.is_some()));
    assert_eq!(objections[0].purpose.as_ref(), Some(&helse));
    assert_eq!(objections[1].purpose, None);
    env.finish().await;
}
