//! `Records::create_many`: the same governed writes as `create`, in one transaction.

use std::collections::HashSet;

use datavern_store::records::MAX_BATCH;

use super::*;

const N: u32 = 30;

fn residents(env: &Env, count: u32) -> Vec<ValidatedRecord> {
    (0..count)
        .map(|i| env.body("innbyggere", resident(i % 28 + 1), Mode::Create))
        .collect()
}

async fn create_many(
    env: &Env,
    collection: &str,
    purpose: &str,
    batch: Vec<ValidatedRecord>,
) -> Result<Vec<RecordView>, StoreError> {
    let grant = env.grant(Operation::Create, collection, purpose, "4601");
    env.records.create_many(&grant, batch, &meta()).await
}

#[on_every_backend]
async fn create_many_then_get_each_back_equal(backend: Backend) {
    let env = Env::kommune(backend).await;
    let people = create_many(&env, "innbyggere", "innbyggerregister", residents(&env, N))
        .await
        .unwrap_or_else(|err| panic!("create_many: {}", report(&err)));
    assert_eq!(people.len(), N as usize);
    for (i, created) in people.iter().enumerate() {
        let expected = env.body("innbyggere", resident(i as u32 % 28 + 1), Mode::Create);
        let read = env
            .get("innbyggere", "innbyggerregister", "4601", created.id)
            .await
            .unwrap();
        assert_eq!(&read, created, "record {i}");
        for (name, value) in expected.iter() {
            assert_eq!(read.get(name.as_str()), Some(value), "{name} of record {i}");
        }
        assert_eq!(
            created.primary_subject(),
            Some(SubjectId::from_uuid(created.id))
        );
    }
    // Dependents keyed by residents whose keys the batch above made.
    let applications: Vec<ValidatedRecord> = people
        .windows(2)
        .map(|pair| {
            env.body(
                "barnehagesoknader",
                soknad(pair[0].id, pair[1].id),
                Mode::Create,
            )
        })
        .collect();
    let created = create_many(&env, "barnehagesoknader", "barnehageopptak", applications)
        .await
        .unwrap_or_else(|err| panic!("create_many: {}", report(&err)));
    assert_eq!(created.len(), N as usize - 1);
    for (i, view) in created.iter().enumerate() {
        let read = env
            .get("barnehagesoknader", "barnehageopptak", "4601", view.id)
            .await
            .unwrap();
        assert_eq!(&read, view);
        assert_eq!(
            read.primary_subject(),
            Some(SubjectId::from_uuid(people[i].id))
        );
    }
    // An empty batch writes nothing and succeeds.
    assert!(
        create_many(&env, "innbyggere", "innbyggerregister", Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
    env.finish().await;
}

#[on_every_backend]
async fn create_many_leaves_one_audit_entry_and_one_outbox_row_per_record(backend: Backend) {
    let env = Env::kommune(backend).await;
    let (audit0, outbox0) = (env.count("dv_audit").await, env.count("dv_outbox").await);
    let created = create_many(&env, "innbyggere", "innbyggerregister", residents(&env, N))
        .await
        .unwrap();
    assert_eq!(env.count("dv_audit").await, audit0 + i64::from(N));
    assert_eq!(env.count("dv_outbox").await, outbox0 + i64::from(N));
    let audit = audit_rows(&env).await;
    for view in &created {
        let id = view.id.simple().to_string();
        let entries: Vec<_> = audit.iter().filter(|(_, _, r, _)| *r == id).collect();
        assert_eq!(entries.len(), 1, "audit entries of {id}");
        assert_eq!(
            (entries[0].0.as_str(), entries[0].1.as_str()),
            ("create", "granted")
        );
    }
    let events = env.store.outbox().pending(1000).await.unwrap();
    assert_eq!(events.len(), N as usize);
    env.finish().await;
}

#[on_every_backend]
async fn a_batch_with_one_bad_reference_writes_nothing(backend: Backend) {
    let env = Env::kommune(backend).await;
    let people = create_many(&env, "innbyggere", "innbyggerregister", residents(&env, 4))
        .await
        .unwrap();
    let counts = || async {
        (
            env.count("c_innbyggere").await,
            env.count("c_barnehagesoknader").await,
            env.count("dv_audit").await,
            env.count("dv_outbox").await,
        )
    };
    let before = counts().await;
    let mut batch: Vec<ValidatedRecord> = people
        .windows(2)
        .map(|pair| {
            env.body(
                "barnehagesoknader",
                soknad(pair[0].id, pair[1].id),
                Mode::Create,
            )
        })
        .collect();
    batch.insert(
        1,
        env.body(
            "barnehagesoknader",
            soknad(people[0].id, Uuid::now_v7()),
            Mode::Create,
        ),
    );
    let err = record_error(create_many(&env, "barnehagesoknader", "barnehageopptak", batch).await);
    assert!(
        matches!(err, RecordError::ReferenceNotFound { ref field, .. } if field == "foresatt1_id"),
        "{err:?}"
    );
    assert_eq!(
        counts().await,
        before,
        "no row, no audit entry, no outbox row"
    );
    env.finish().await;
}

#[on_every_backend]
async fn a_batch_failing_midway_writes_nothing(backend: Backend) {
    let env = Env::kommune(backend).await;
    // One created event at most: the batch's events fail to insert, after its rows and audit
    // entries were written in the same transaction.
    execute(
        env.data(),
        "CREATE UNIQUE INDEX test_one_created_event ON dv_outbox (type)",
    )
    .await;
    let result = create_many(&env, "innbyggere", "innbyggerregister", residents(&env, 3)).await;
    assert!(
        matches!(result, Err(StoreError::Sql(SqlError::Statement(_)))),
        "{result:?}"
    );
    assert_eq!(env.count("c_innbyggere").await, 0);
    assert_eq!(env.count("dv_audit").await, 0);
    assert_eq!(env.count("dv_outbox").await, 0);
    env.finish().await;
}

#[on_every_backend]
async fn a_batch_over_the_cap_is_refused(backend: Backend) {
    let env = Env::kommune(backend).await;
    let before = (env.count("c_innbyggere").await, env.count("dv_audit").await);
    let batch = residents(&env, u32::try_from(MAX_BATCH).unwrap() + 1);
    let err = record_error(create_many(&env, "innbyggere", "innbyggerregister", batch).await);
    assert!(
        matches!(err, RecordError::BatchTooLarge { given, max } if given == MAX_BATCH + 1 && max == MAX_BATCH),
        "{err:?}"
    );
    assert_eq!(err.code(), "batch_too_large");
    assert_eq!(
        (env.count("c_innbyggere").await, env.count("dv_audit").await),
        before
    );
    env.finish().await;
}

#[on_every_backend]
async fn a_full_batch_is_audited_in_a_chain_that_verifies(backend: Backend) {
    let env = Env::kommune(backend).await;
    let created = create_many(
        &env,
        "innbyggere",
        "innbyggerregister",
        residents(&env, u32::try_from(MAX_BATCH).unwrap()),
    )
    .await
    .unwrap_or_else(|err| panic!("create_many: {}", report(&err)));
    assert_eq!(created.len(), MAX_BATCH);
    let ids: HashSet<Uuid> = created.iter().map(|v| v.id).collect();
    assert_eq!(ids.len(), MAX_BATCH, "every record has its own id");
    assert_eq!(env.count("c_innbyggere").await, MAX_BATCH as i64);
    assert_eq!(
        scalar(
            env.store.keys().database(),
            "SELECT COUNT(*) FROM dv_subject_keys"
        )
        .await,
        MAX_BATCH as i64,
        "one key per resident"
    );

    // One audit entry per record, in the batch's order, and a chain that verifies.
    let audit = audit_rows(&env).await;
    let expected: Vec<String> = created.iter().map(|v| v.id.simple().to_string()).collect();
    let recorded: Vec<String> = audit.iter().map(|(_, _, r, _)| r.clone()).collect();
    assert_eq!(recorded, expected);
    let head = env.store.audit().seal().await.unwrap();
    assert_eq!(head.size, MAX_BATCH as u64);
    let verified = env.store.audit().verify(None).await.unwrap();
    assert!(verified.is_intact(), "{:?}", verified.failure);
    assert_eq!(verified.entries, MAX_BATCH as u64);

    // One outbox event per record, in the batch's order, naming the fields written.
    let events = env
        .store
        .outbox()
        .pending(2 * MAX_BATCH as u32)
        .await
        .unwrap();
    assert_eq!(events.len(), MAX_BATCH);
    for (event, view) in events.iter().zip(&created) {
        assert_eq!(event.event_type, "no.datavern.record.created");
        assert_eq!(event.subject.as_deref(), Some(view.id.to_string().as_str()));
        let data = event.data.as_ref().unwrap();
        assert_eq!(data["record_id"], view.id.to_string());
        assert_eq!(data["version"], 1);
        assert!(
            data["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "fodselsnummer")
        );
    }

    // Every record reads back equal, through the lookup its blind index serves.
    for (i, view) in created.iter().enumerate().step_by(97) {
        let fnr = string(view, "fodselsnummer");
        let found = env
            .lookup("innbyggere", "innbyggerregister", "fodselsnummer", &fnr)
            .await;
        assert!(found.iter().any(|f| f == view), "record {i}");
    }
    env.finish().await;
}

#[on_every_backend]
async fn a_full_batch_of_dependents_keys_each_by_its_child(backend: Backend) {
    let env = Env::kommune(backend).await;
    let people = create_many(&env, "innbyggere", "innbyggerregister", residents(&env, 40))
        .await
        .unwrap();
    // Records with and without the optional second guardian, so the batch mixes rows with
    // different sets of columns.
    let batch: Vec<ValidatedRecord> = (0..MAX_BATCH)
        .map(|i| {
            let child = people[i % people.len()].id;
            let guardian = people[(i + 1) % people.len()].id;
            let mut body = soknad(child, guardian);
            if i % 3 == 0 {
                body["foresatt2_id"] = json!(people[(i + 2) % people.len()].id.to_string());
                body["foresatt2_telefon"] = json!("98765432");
            }
            env.body("barnehagesoknader", body, Mode::Create)
        })
        .collect();
    let created = create_many(&env, "barnehagesoknader", "barnehageopptak", batch)
        .await
        .unwrap_or_else(|err| panic!("create_many: {}", report(&err)));
    assert_eq!(created.len(), MAX_BATCH);
    assert_eq!(env.count("c_barnehagesoknader").await, MAX_BATCH as i64);
    for (i, view) in created.iter().enumerate().step_by(41) {
        let read = env
            .get("barnehagesoknader", "barnehageopptak", "4601", view.id)
            .await
            .unwrap();
        assert_eq!(&read, view, "record {i}");
        assert_eq!(
            read.primary_subject(),
            Some(SubjectId::from_uuid(people[i % people.len()].id))
        );
        let second = read.get("foresatt2_telefon");
        if i % 3 == 0 {
            assert!(matches!(second, Some(FieldValue::String(_))), "record {i}");
        } else {
            assert_eq!(second, Some(&FieldValue::Null), "record {i}");
        }
    }
    env.store.audit().seal().await.unwrap();
    let verified = env.store.audit().verify(None).await.unwrap();
    assert!(verified.is_intact(), "{:?}", verified.failure);
    // The residents, the batch, and the reads above.
    let reads = created.iter().step_by(41).count() as u64;
    assert_eq!(verified.entries, 40 + MAX_BATCH as u64 + reads);
    env.finish().await;
}
