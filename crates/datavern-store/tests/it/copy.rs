//! `datavern migrate copy` at the store: a whole installation copied between backends
//! (SQLite → PostgreSQL, PostgreSQL → MariaDB, MariaDB → SQLite), read back decrypted
//! through the store on the target, the audit chain verified there, the key store only in
//! the keys target; resuming after an interruption; refusals that write nothing.

use std::sync::Arc;

use datavern_core::access::Operation;
use datavern_core::record;
use datavern_core::residency::Location;
use datavern_sql::copy::{CopyOptions, TargetState};
use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, DatabaseRole};
use datavern_store::copy::{CopyError, CopyRequest, InstallationCopy, copy_installation};
use datavern_store::{Records, Store};
use datavern_testkit::fixtures::{fnr, kommune_two_tenants, resident};
use datavern_testkit::{Env, meta};
use serde_json::json;
use uuid::Uuid;

use crate::records::TYPES;
use crate::support::{report, scalar, tables, tenant};

/// What the source holds before the copy.
struct Seeded {
    kept: Uuid,
    erased: Uuid,
    soknad: Uuid,
}

/// Residents (one erased), a kindergarten application naming two of them, an update, and
/// every audit entry sealed.
async fn seed(env: &Env) -> Seeded {
    let kept = env.create_resident(1).await.id;
    let guardian = env.create_resident(2).await.id;
    let erased = env.create_resident(3).await;
    let soknad = env
        .create(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            crate::records::soknad(kept, guardian),
        )
        .await
        .id;
    env.update(
        "innbyggere",
        "innbyggerregister",
        kept,
        json!({ "adresse": "Nygårdsgaten 5" }),
        Some(1),
    )
    .await
    .unwrap();
    let subject = erased.primary_subject().unwrap();
    env.store
        .keys()
        .destroy_keys_of(tenant("4601"), &[subject])
        .await
        .unwrap();
    env.store.audit().seal().await.unwrap();
    Seeded {
        kept,
        erased: erased.id,
        soknad,
    }
}

async fn copy(
    env: &Env,
    target: &TestDb,
    options: CopyOptions,
) -> Result<InstallationCopy, CopyError> {
    let request = CopyRequest {
        catalog: &env.catalog,
        target: target.config(),
        location: Location::No,
        principal: "driftsoperator",
        options,
    };
    copy_installation(&env.store, &request, &mut |_, _| {}).await
}

/// The store on the copy's target, with the catalog applied (it must match what was
/// copied) and the source's KEK.
async fn open_target(env: &Env, target: &TestDb) -> (Store, Records) {
    let store = Store::open(target.config()).await.unwrap();
    let applied = store.apply_catalog(&env.catalog).await.unwrap();
    assert!(applied.created.is_empty(), "the copy created every table");
    let records = Records::new(store.clone(), env.catalog.clone(), Arc::clone(&env.kek));
    (store, records)
}

/// The copied records read back through the store on the target as they read on the source.
async fn reads_back(env: &Env, records: &Records, seeded: &Seeded) {
    // Records read back decrypted, and found by their blind index.
    let grant = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    let kept = records.get(&grant, seeded.kept, &meta()).await.unwrap();
    let original = env
        .get("innbyggere", "innbyggerregister", "4601", seeded.kept)
        .await
        .unwrap();
    assert_eq!(kept.fields, original.fields);
    assert_eq!(kept.version, 2);
    assert_eq!(kept.created_at, original.created_at);
    let lookup = env.grant_lookup(
        Operation::Lookup,
        "innbyggere",
        "innbyggerregister",
        "4601",
        "fodselsnummer",
    );
    let normalized = record::normalize_lookup(
        env.catalog.collection("innbyggere").unwrap(),
        "fodselsnummer",
        &fnr(1),
    )
    .unwrap();
    let found = records
        .lookup(&lookup, "fodselsnummer", &normalized, &meta())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, seeded.kept);
    let grant = env.grant(
        Operation::Read,
        "barnehagesoknader",
        "barnehageopptak",
        "4601",
    );
    let soknad = records.get(&grant, seeded.soknad, &meta()).await.unwrap();
    let original = env
        .get(
            "barnehagesoknader",
            "barnehageopptak",
            "4601",
            seeded.soknad,
        )
        .await
        .unwrap();
    assert_eq!(soknad.fields, original.fields);
    assert_eq!(soknad.subjects.len(), original.subjects.len());
    // The erased subject stays erased: its key was destroyed before the copy.
    let grant = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    assert!(records.get(&grant, seeded.erased, &meta()).await.is_err());
}

async fn copies_an_installation(from: Backend, to: Backend) {
    let env = Env::new(from, &kommune_two_tenants()).await;
    let seeded = seed(&env).await;
    let source_entries = env.store.audit().verify(None).await.unwrap().entries;
    let target = TestDb::new(to).await;

    let copied = copy(
        &env,
        &target,
        CopyOptions {
            batch_size: 2,
            batch_limit: None,
        },
    )
    .await
    .unwrap_or_else(|err| panic!("copy: {}", report(&err)));
    assert!(copied.verified(), "{copied:#?}");
    assert!(!copied.resumed);
    for table in copied.data.tables.iter().chain(&copied.keys.tables) {
        assert!(table.matches(), "{table:?}");
        assert_eq!(table.copied, table.source_rows, "{}", table.table);
    }
    let innbyggere = copied
        .data
        .tables
        .iter()
        .find(|t| t.table == "c_innbyggere")
        .unwrap();
    assert_eq!(innbyggere.target_rows, 3);
    assert!(
        copied
            .keys
            .tables
            .iter()
            .any(|t| t.table == "dv_subject_keys" && t.target_rows >= 2)
    );

    let (store, records) = open_target(&env, &target).await;
    reads_back(&env, &records, &seeded).await;

    // The copied chain verifies on the target, with the copy's own entry sealed into it.
    store.audit().seal().await.unwrap();
    let verified = store.audit().verify(None).await.unwrap();
    assert!(verified.failure.is_none(), "{verified:?}");
    assert!(
        verified.entries > source_entries,
        "{} after {source_entries}",
        verified.entries
    );
    let actions: Vec<String> = datavern_testkit::sql::strings(
        store.data(),
        "SELECT action FROM dv_audit WHERE action LIKE 'migration.%'",
    )
    .await;
    assert_eq!(actions, ["migration.copied"]);
    let source_actions: Vec<String> = datavern_testkit::sql::strings(
        env.data(),
        "SELECT action FROM dv_audit WHERE action LIKE 'migration.%'",
    )
    .await;
    assert_eq!(source_actions, ["migration.copied"]);

    // The key store landed in the keys target only; no checkpoints are left behind.
    let data_tables = tables(store.data()).await;
    assert!(
        !data_tables
            .iter()
            .any(|t| t.starts_with("dv_subject_keys") || t == "dv_index_keys"),
        "{data_tables:?}"
    );
    assert!(!data_tables.iter().any(|t| t == "dv_copy_progress"));
    let keys_tables = tables(store.keys().database()).await;
    assert!(
        keys_tables.iter().any(|t| t == "dv_subject_keys"),
        "{keys_tables:?}"
    );
    assert!(!keys_tables.iter().any(|t| t == "dv_copy_progress"));

    // New writes on the target get fresh ids after the copied ones.
    let outbox_before: i64 = scalar(store.data(), "SELECT COUNT(*) FROM dv_outbox").await;
    let create = env.grant(Operation::Create, "innbyggere", "innbyggerregister", "4601");
    records
        .create(
            &create,
            env.body("innbyggere", resident(4), record::Mode::Create),
            &meta(),
        )
        .await
        .unwrap();
    let outbox_after: i64 = scalar(store.data(), "SELECT COUNT(*) FROM dv_outbox").await;
    assert_eq!(outbox_after, outbox_before + 1);

    store.close().await;
    target.cleanup().await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_sqlite_to_postgres_reads_back_decrypted_and_verifies() {
    copies_an_installation(Backend::Sqlite, Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_postgres_to_mariadb_reads_back_decrypted_and_verifies() {
    copies_an_installation(Backend::Postgres, Backend::MySql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_mariadb_to_sqlite_reads_back_decrypted_and_verifies() {
    copies_an_installation(Backend::MySql, Backend::Sqlite).await;
}

/// Every field type, plain and encrypted, through SQLite → PostgreSQL → MariaDB → SQLite.
#[tokio::test(flavor = "multi_thread")]
async fn every_field_type_survives_a_round_trip_through_every_backend() {
    let body = json!({
        "s": "Åse Ødegård", "es": "Åse Ødegård",
        "t": "lang\ntekst med æøå", "et": "lang\ntekst med æøå",
        "i": -9_007_199_254_740_993_i64, "ei": i64::MAX,
        "d": "-12345678901234567890.0123456789", "ed": "1234567890123456789012345678901234567890.5",
        "b": true, "eb": false,
        "dt": "1905-06-07", "edt": "2024-02-29",
        "ts": "2024-02-29T23:59:59.123456+01:00", "ets": "1969-07-20T20:17:40.123456789Z",
        "j": { "a": [1, 2, { "b": null }], "c": "x" }, "ej": ["x", { "y": true }],
    });
    let env = Env::new(Backend::Sqlite, TYPES).await;
    let created = env.create("typer", "register", "4601", body.clone()).await;
    let sparse = env
        .create("typer", "register", "4601", json!({ "s": "bare" }))
        .await;
    env.store.audit().seal().await.unwrap();
    let expected = env
        .get("typer", "register", "4601", created.id)
        .await
        .unwrap();
    let expected_sparse = env
        .get("typer", "register", "4601", sparse.id)
        .await
        .unwrap();

    let mut source = env.store.clone();
    let mut hops = Vec::new();
    let mut opened = Vec::new();
    for to in [Backend::Postgres, Backend::MySql, Backend::Sqlite] {
        let target = TestDb::new(to).await;
        let request = CopyRequest {
            catalog: &env.catalog,
            target: target.config(),
            location: Location::No,
            principal: "driftsoperator",
            options: CopyOptions::default(),
        };
        let copied = copy_installation(&source, &request, &mut |_, _| {})
            .await
            .unwrap_or_else(|err| panic!("copy to {to}: {}", report(&err)));
        assert!(copied.verified(), "to {to}: {copied:#?}");
        let store = Store::open(target.config()).await.unwrap();
        store.apply_catalog(&env.catalog).await.unwrap();
        let records = Records::new(store.clone(), env.catalog.clone(), Arc::clone(&env.kek));
        let grant = env.grant(Operation::Read, "typer", "register", "4601");
        let read = records.get(&grant, created.id, &meta()).await.unwrap();
        assert_eq!(read.fields, expected.fields, "on {to}");
        assert_eq!(read.created_at, expected.created_at, "on {to}");
        let read = records.get(&grant, sparse.id, &meta()).await.unwrap();
        assert_eq!(read.fields, expected_sparse.fields, "on {to}");
        store.audit().seal().await.unwrap();
        let verified = store.audit().verify(None).await.unwrap();
        assert!(verified.failure.is_none(), "on {to}: {verified:?}");
        source = store.clone();
        opened.push(store);
        hops.push(target);
    }
    for store in opened {
        store.close().await;
    }
    for target in hops {
        target.cleanup().await;
    }
    env.finish().await;
}

/// A copy stopped after a few batches (as if killed) is recognised as in progress and
/// resumed by the next run, which copies the rest without duplicates.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_copy_resumes_without_duplicates() {
    let env = Env::new(Backend::Sqlite, &kommune_two_tenants()).await;
    seed(&env).await;
    let mut later = Vec::new();
    for n in 10..20 {
        later.push(env.create_resident(n).await.id);
    }
    env.store.audit().seal().await.unwrap();
    let target = TestDb::new(Backend::Postgres).await;

    let stopped = copy(
        &env,
        &target,
        CopyOptions {
            batch_size: 3,
            batch_limit: Some(4),
        },
    )
    .await
    .unwrap();
    assert!(!stopped.complete());
    let data = Database::connect(&target.config().data, DatabaseRole::Data)
        .await
        .unwrap();
    assert_eq!(data.copy_state().await.unwrap(), TargetState::InProgress);
    let partial: i64 = scalar(
        &data,
        "SELECT CAST(SUM(copied) AS BIGINT) FROM dv_copy_progress",
    )
    .await;
    // Four batches, of three rows or of the whole of a smaller table.
    assert!((4..=12).contains(&partial), "{partial}");
    data.close().await;

    let resumed = copy(
        &env,
        &target,
        CopyOptions {
            batch_size: 3,
            batch_limit: None,
        },
    )
    .await
    .unwrap();
    assert!(resumed.resumed);
    assert!(resumed.verified(), "{resumed:#?}");
    let total: u64 = resumed.data.tables.iter().map(|t| t.source_rows).sum();
    assert_eq!(
        resumed.data.rows_copied,
        total - u64::try_from(partial).unwrap()
    );
    let (store, records) = open_target(&env, &target).await;
    let rows: i64 = scalar(store.data(), "SELECT COUNT(*) FROM c_innbyggere").await;
    assert_eq!(rows, 13);
    let grant = env.grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    for id in later {
        let read = records.get(&grant, id, &meta()).await.unwrap();
        let original = env
            .get("innbyggere", "innbyggerregister", "4601", id)
            .await
            .unwrap();
        assert_eq!(read.fields, original.fields);
    }
    assert!(store.audit().verify(None).await.unwrap().failure.is_none());
    store.close().await;
    target.cleanup().await;
    env.finish().await;
}

/// A target in a location the residency rules forbid is refused before anything is
/// written: the error names the collections, the target stays empty, the refusal is
/// audited in the source.
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_to_a_location_residency_forbids_writes_nothing() {
    let env = Env::new(Backend::Sqlite, &kommune_two_tenants()).await;
    seed(&env).await;
    let target = TestDb::new(Backend::Postgres).await;
    let request = CopyRequest {
        catalog: &env.catalog,
        target: target.config(),
        location: Location::Eea,
        principal: "driftsoperator",
        options: CopyOptions::default(),
    };
    let err = copy_installation(&env.store, &request, &mut |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(err.refusal_code(), Some("residency"));
    let message = err.to_string();
    assert!(message.contains("collection `saker`"), "{message}");
    assert!(message.contains("`eea`"), "{message}");
    for (config, role) in [
        (&target.config().data, DatabaseRole::Data),
        (&target.config().keys, DatabaseRole::Keys),
    ] {
        let db = Database::connect(config, role).await.unwrap();
        assert_eq!(db.copy_state().await.unwrap(), TargetState::Empty, "{role}");
        db.close().await;
    }
    let refused: Vec<String> = datavern_testkit::sql::strings(
        env.data(),
        "SELECT reason FROM dv_audit WHERE action = 'migration.copy_refused'",
    )
    .await;
    assert_eq!(refused, ["residency"]);
    target.cleanup().await;
    env.finish().await;
}

/// A target that holds a store already is refused, and left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_is_not_empty_is_refused() {
    let env = Env::new(Backend::Postgres, &kommune_two_tenants()).await;
    seed(&env).await;
    let target = TestDb::new(Backend::MySql).await;
    let other = Store::open(target.config()).await.unwrap();
    other.close().await;
    let err = copy(&env, &target, CopyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.refusal_code(), Some("target_not_empty"));
    assert!(err.to_string().contains("is not empty"), "{err}");
    let db = Database::connect(&target.config().data, DatabaseRole::Data)
        .await
        .unwrap();
    assert_eq!(db.copy_state().await.unwrap(), TargetState::NotEmpty);
    let audit: i64 = scalar(&db, "SELECT COUNT(*) FROM dv_audit").await;
    assert_eq!(audit, 0);
    db.close().await;
    target.cleanup().await;
    env.finish().await;
}
