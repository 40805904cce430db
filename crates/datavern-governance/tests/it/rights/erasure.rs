//! Erasure per collection policy, secondary parties, archive duty, legal holds, idempotency
//! and the audit trail.

use datavern_core::access::PrincipalId;
use datavern_core::catalog::CollectionName;
use datavern_governance::rights::ErasureMethod;
use datavern_governance::{HoldScope, LegalHolds, NewHold};
use datavern_sql::Backend;
use datavern_store::{KeyState, SubjectId};

use super::Env;
use crate::support::{on_every_backend, report, scalar, strings, tenant};

#[on_every_backend]
async fn erasing_a_person_applies_each_collections_policy(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let outcome = env
        .rights
        .erase(&env.actor(), &subjects, env.now())
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert!(outcome.complete);

    let innbyggere = outcome.collection("innbyggere").unwrap();
    assert_eq!(innbyggere.method, ErasureMethod::CryptoShred);
    assert_eq!(innbyggere.records, 1);
    assert!(innbyggere.fields.iter().any(|f| f == "fodselsnummer"));
    assert_eq!(env.count_where("c_innbyggere", "id", family.a).await, 0);

    let ansatte = outcome.collection("ansatte").unwrap();
    assert_eq!(ansatte.method, ErasureMethod::CryptoShred);
    assert_eq!(ansatte.records, 1);
    assert_eq!(
        env.count_where("c_ansatte", "id", family.a_employee).await,
        0
    );

    // Archive duty: the case stays, restricted, with the legal reason.
    let saker = outcome.collection("saker").unwrap();
    assert_eq!(saker.method, ErasureMethod::Restrict);
    assert_eq!(saker.records, 1);
    assert!(saker.legal_reason.as_deref().unwrap().contains("17(3)"));
    // Only the case's user has records archive duty keeps (the register restricts them).
    assert_eq!(outcome.archived, [SubjectId::from_uuid(family.a)]);
    assert_eq!(env.count_where("c_saker", "id", family.sak).await, 1);
    assert_eq!(
        env.is_null("c_saker", "diagnose", family.sak).await,
        Some(false)
    );
    let restricted = env.count_where("c_saker", "dv_subject", family.a).await;
    assert_eq!(restricted, 1);
    let flagged = scalar(
        env.data(),
        "SELECT COUNT(*) FROM c_saker WHERE dv_restricted = TRUE",
    )
    .await;
    assert_eq!(flagged, 1);

    // A's key stays (the archived case is sealed with it); the employee record's is gone.
    let a_keys = outcome
        .keys
        .iter()
        .find(|k| k.subject == SubjectId::from_uuid(family.a))
        .unwrap();
    assert!(a_keys.retained.as_deref().unwrap().contains("archive duty"));
    let employee_keys = outcome
        .keys
        .iter()
        .find(|k| k.subject == SubjectId::from_uuid(family.a_employee))
        .unwrap();
    assert_eq!(employee_keys.destroyed_versions, 1);
    let stored = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(family.a_employee)])
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|k| matches!(k.state, KeyState::Destroyed { .. }))
    );

    // The audit entries list collections, methods, counts and fields.
    let entries = strings(
        env.data(),
        "SELECT CONCAT(collection, ' ', outcome, ' ', reason) FROM dv_audit \
         WHERE action = 'dsr.erase' ORDER BY collection",
    )
    .await;
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert!(entries[0].starts_with("ansatte crypto_shred records=1 secondary=0 refused=0"));
    assert!(entries[3].starts_with("saker restrict records=1 secondary=0 refused=0"));
    let fields = strings(
        env.data(),
        &format!(
            "SELECT {} FROM dv_audit WHERE action = 'dsr.erase' AND collection = 'innbyggere'",
            super::fields_text(backend)
        ),
    )
    .await;
    assert!(fields[0].contains("fodselsnummer") && fields[0].contains("epost"));
    env.finish().await;
}

#[on_every_backend]
async fn erasing_a_guardian_removes_only_their_part_of_the_application(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let outcome = env
        .rights
        .erase(&env.actor(), &[SubjectId::from_uuid(family.b)], env.now())
        .await
        .unwrap();
    let part = outcome.collection("barnehagesoknader").unwrap();
    assert_eq!(part.records, 0);
    assert_eq!(part.secondary_records, 1);
    assert_eq!(
        part.fields,
        ["foresatt2_epost", "foresatt2_id", "foresatt2_telefon"]
    );
    for column in [
        "dv_subject_foresatt2",
        "foresatt2_id",
        "foresatt2_telefon",
        "foresatt2_epost",
    ] {
        assert_eq!(
            env.is_null("c_barnehagesoknader", column, family.soknad)
                .await,
            Some(true),
            "{column}"
        );
    }
    // The child's data and the other guardian's part are intact and readable.
    let report = env
        .rights
        .access(&env.actor(), &[SubjectId::from_uuid(family.c)])
        .await
        .unwrap();
    let child = &report.collection("barnehagesoknader").unwrap().records[0];
    assert_eq!(
        child.get("onsket_barnehage"),
        Some(&serde_json::json!("Solstrålen barnehage"))
    );
    let report = env
        .rights
        .access(&env.actor(), &[SubjectId::from_uuid(family.a)])
        .await
        .unwrap();
    let other = &report.collection("barnehagesoknader").unwrap().records[0];
    assert_eq!(
        other.get("foresatt1_epost"),
        Some(&serde_json::json!("forelder.a@example.no"))
    );
    // B is gone from the register, and the access report finds nothing of B any more.
    assert_eq!(env.count_where("c_innbyggere", "id", family.b).await, 0);
    let report = env
        .rights
        .access(&env.actor(), &[SubjectId::from_uuid(family.b)])
        .await
        .unwrap();
    assert!(report.collections.is_empty(), "{report:?}");
    env.finish().await;
}

#[on_every_backend]
async fn erasure_twice_is_idempotent(backend: Backend) {
    let env = Env::new(backend).await;
    env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let now = env.now();
    let first = env
        .rights
        .erase(&env.actor(), &subjects, now)
        .await
        .unwrap();
    let second = env
        .rights
        .erase(&env.actor(), &subjects, now)
        .await
        .unwrap_or_else(|err| panic!("second run: {}", report(&err)));
    let shape = |o: &datavern_governance::rights::ErasureOutcome| {
        o.collections
            .iter()
            .map(|c| (c.collection.clone(), c.method))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&first), shape(&second));
    assert!(
        second
            .collections
            .iter()
            .all(|c| c.records == 0 && c.secondary_records == 0)
    );
    assert!(second.complete);
    // Already restricted, still kept by archive duty: a resumed run registers it too.
    assert_eq!(second.archived, first.archived);
    assert!(!second.archived.is_empty());
    assert!(second.keys.iter().all(|k| k.destroyed_versions == 0));
    assert_eq!(
        second.collection("saker").unwrap().legal_reason,
        first.collection("saker").unwrap().legal_reason
    );
    env.finish().await;
}

#[on_every_backend]
async fn legal_hold_refuses_erasure_with_its_reason(backend: Backend) {
    let env = Env::new(backend).await;
    let family = env.family().await;
    let holds = LegalHolds::new(env.store.clone());
    let now = env.now();
    holds
        .place(
            &env.catalog,
            tenant("4601"),
            &PrincipalId::parse("jurist-1").unwrap(),
            NewHold {
                scope: HoldScope::Collection {
                    collection: CollectionName::parse("ansatte").unwrap(),
                },
                reason: "Tvistesak 26-001234TVI-BERG".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let subjects = env.resolve_fnr(1).await;
    let outcome = env
        .rights
        .erase(&env.actor(), &subjects, now)
        .await
        .unwrap();
    assert!(!outcome.complete);
    assert_eq!(outcome.refused(), ["ansatte"]);
    let ansatte = outcome.collection("ansatte").unwrap();
    assert_eq!(ansatte.method, ErasureMethod::Refuse);
    assert_eq!(ansatte.refused_records, 1);
    assert_eq!(
        ansatte.refusal_reason.as_deref(),
        Some("Tvistesak 26-001234TVI-BERG")
    );
    assert_eq!(
        env.count_where("c_ansatte", "id", family.a_employee).await,
        1
    );
    // The held employee record's key stays; the rest is erased.
    let key = outcome
        .keys
        .iter()
        .find(|k| k.subject == SubjectId::from_uuid(family.a_employee))
        .unwrap();
    assert!(key.retained.as_deref().unwrap().contains("legal hold"));
    assert_eq!(env.count_where("c_innbyggere", "id", family.a).await, 0);
    let refused = strings(
        env.data(),
        "SELECT outcome FROM dv_audit WHERE action = 'dsr.erase' AND collection = 'ansatte'",
    )
    .await;
    assert_eq!(refused, ["refused"]);

    // A hold on a subject refuses every part of theirs.
    holds
        .place(
            &env.catalog,
            tenant("4601"),
            &PrincipalId::parse("jurist-1").unwrap(),
            NewHold {
                scope: HoldScope::Subject {
                    subject: SubjectId::from_uuid(family.c),
                },
                reason: "Barnevernssak".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let outcome = env
        .rights
        .erase(&env.actor(), &[SubjectId::from_uuid(family.c)], now)
        .await
        .unwrap();
    assert!(!outcome.complete);
    assert_eq!(
        outcome
            .collection("innbyggere")
            .unwrap()
            .refusal_reason
            .as_deref(),
        Some("Barnevernssak")
    );
    assert_eq!(env.count_where("c_innbyggere", "id", family.c).await, 1);
    assert_eq!(
        env.count_where("c_barnehagesoknader", "id", family.soknad)
            .await,
        1
    );
    env.finish().await;
}

/// The example catalog with cases anonymized on erasure instead of archived.
fn anonymized_cases() -> String {
    let yaml = crate::support::KOMMUNE
        .replacen(
            "    archive:\n      legal_reason: GDPR art. 17(3)(b) og (d); arkivlova § 6 og arkivforskrifta\n",
            "    erasure: anonymize\n",
            1,
        )
        .replacen("      then: archive\n", "      then: anonymize\n", 1);
    assert!(!yaml.contains("then: archive"));
    yaml
}

#[on_every_backend]
async fn anonymization_keeps_only_non_personal_fields(backend: Backend) {
    let env = Env::with_catalog(backend, &anonymized_cases()).await;
    let family = env.family().await;
    let closed = env
        .create(
            "saker",
            "helse_omsorg",
            serde_json::json!({
                "bruker_id": family.a.to_string(),
                "saksnummer": "2026/9999",
                "tjeneste": "praktisk bistand",
                "avsluttet": "2026-06-30",
            }),
        )
        .await;
    let subjects = env.resolve_fnr(1).await;
    let outcome = env
        .rights
        .erase(&env.actor(), &subjects, env.now())
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    let saker = outcome.collection("saker").unwrap();
    assert_eq!(saker.method, ErasureMethod::Anonymize);
    assert_eq!(saker.records, 2);
    assert!(saker.fields.iter().any(|f| f == "diagnose"));
    assert!(!saker.fields.iter().any(|f| f == "avsluttet"));
    for id in [family.sak, closed] {
        for column in [
            "dv_subject",
            "bruker_id",
            "saksnummer",
            "tjeneste",
            "diagnose",
        ] {
            assert_eq!(
                env.is_null("c_saker", column, id).await,
                Some(true),
                "{column}"
            );
        }
    }
    // The statistics field stays.
    assert_eq!(
        env.is_null("c_saker", "avsluttet", closed).await,
        Some(false)
    );
    // Nothing sealed with A's key remains, so the key is destroyed.
    let a = outcome
        .keys
        .iter()
        .find(|k| k.subject == SubjectId::from_uuid(family.a))
        .unwrap();
    assert_eq!(a.retained, None);
    assert_eq!(a.destroyed_versions, 1);
    env.finish().await;
}

/// A hold whose placement is still in flight when an erasure starts: the erasure reads the
/// holds inside its own transaction, after it has waited for the placement, and honours the
/// hold. (It used to read them just before its transaction, and missed it.) The placement is
/// made by hand so that it can be held open: on PostgreSQL with the register's exclusive
/// advisory lock, as `LegalHolds::place` takes it; on MariaDB as an uncommitted insert, which
/// the erasure's locking read of the register waits for. The test commits the hold only once
/// the database shows the erasure waiting. SQLite needs no such test: its writers hold the
/// database's write lock from `BEGIN IMMEDIATE`, and the erasure reads the holds after that.
#[tokio::test]
async fn hold_placed_while_an_erasure_starts_is_honoured_on_postgres() {
    hold_placed_while_an_erasure_starts_is_honoured(Backend::Postgres).await;
}

#[tokio::test]
async fn hold_placed_while_an_erasure_starts_is_honoured_on_mariadb() {
    hold_placed_while_an_erasure_starts_is_honoured(Backend::MySql).await;
}

async fn hold_placed_while_an_erasure_starts_is_honoured(backend: Backend) {
    use datavern_sql::{Begin, LockMode};

    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let reason = "Tvistesak 26-009999TVI-BERG";
    let hold_id = uuid::Uuid::now_v7();
    let now = match backend {
        Backend::Postgres => "now()",
        Backend::MySql => "NOW(6)",
        Backend::Sqlite => unreachable!("PostgreSQL and MariaDB only"),
    };
    let insert = format!(
        "INSERT INTO dv_legal_holds (id, tenant, scope, collection, reason, placed_by, \
         placed_at) VALUES (?, '4601', 'collection', 'ansatte', ?, 'jurist-1', {now})"
    );

    // The placement, open.
    let mut open = env.store.data().begin(Begin::Plain).await.unwrap();
    // As `LegalHolds::place`: class `dvhd`, the kommunenummer (PostgreSQL only).
    open.conn()
        .advisory_lock_on_postgres(1685481572, 4601, LockMode::Exclusive)
        .await
        .unwrap();
    open.conn()
        .test_execute(&insert, &[hold_id.into(), reason.into()])
        .await
        .unwrap();

    let rights = env.rights.clone();
    let actor = env.actor();
    let now = env.now();
    let erasure = tokio::spawn(async move { rights.erase(&actor, &subjects, now).await });
    // Until the erasure waits for the placement (or has finished without waiting, which is
    // the bug): the database's own view of its lock waits, in this test's database only.
    let waiting = match backend {
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()"
        }
        // MariaDB lists a locking read that waits for a row lock as still running it (in
        // `innodb_trx` it has no transaction yet).
        _ => {
            "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() \
             AND info LIKE '%FROM `dv_legal_holds`%LOCK IN SHARE MODE'"
        }
    };
    let mut waited = false;
    for _ in 0..100_000 {
        if erasure.is_finished() {
            break;
        }
        if scalar(env.data(), waiting).await > 0 {
            waited = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    open.commit().await.unwrap();
    let outcome = erasure.await.unwrap().unwrap();
    assert!(waited, "the erasure never waited for the hold being placed");
    assert_eq!(outcome.refused(), ["ansatte"], "{outcome:#?}");
    assert_eq!(
        outcome
            .collection("ansatte")
            .unwrap()
            .refusal_reason
            .as_deref(),
        Some(reason)
    );
    assert_eq!(
        env.count_where("c_ansatte", "id", family.a_employee).await,
        1
    );
    env.finish().await;
}

/// Rectification is a correction like a `PATCH`: under archive duty the version it replaces
/// is kept, and an active legal hold on the subject refuses it.
#[on_every_backend]
async fn rectification_keeps_archived_versions_and_a_hold_refuses_it(backend: Backend) {
    use datavern_governance::rights::Correction;

    let env = Env::new(backend).await;
    let family = env.family().await;
    let subjects = env.resolve_fnr(1).await;
    let correction = |vedtak: &str| {
        [Correction::new(
            "saker",
            family.sak,
            serde_json::json!({ "vedtak": vedtak })
                .as_object()
                .unwrap()
                .clone(),
        )]
    };
    let outcome = env
        .rights
        .rectify(
            &env.actor(),
            &subjects,
            &correction("innvilget etter klage"),
        )
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert_eq!(outcome.corrections[0].version, 2);
    let kept = |version: i64| {
        format!(
            "SELECT COUNT(*) FROM dv_record_versions WHERE collection = 'saker' \
             AND version = {version}"
        )
    };
    assert_eq!(scalar(env.data(), &kept(1)).await, 1, "version 1 is kept");

    LegalHolds::new(env.store.clone())
        .place(
            &env.catalog,
            tenant("4601"),
            &PrincipalId::parse("jurist-1").unwrap(),
            NewHold {
                scope: HoldScope::Subject {
                    subject: subjects[0],
                },
                reason: "Tilsynssak 26-4".to_owned(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let err = env
        .rights
        .rectify(&env.actor(), &subjects, &correction("avslått"))
        .await
        .unwrap_err();
    assert!(report(&err).contains("Tilsynssak 26-4"), "{}", report(&err));
    assert_eq!(scalar(env.data(), &kept(2)).await, 0, "nothing changed");
    env.finish().await;
}
