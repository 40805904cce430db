//! Crypto-shredding survives a restore, on every backend: a subject erased after the
//! snapshot stays unreadable in the restored data, the others read back, and the restored
//! audit chain verifies.

use datavern_backup::SnapshotKind;
use datavern_core::access::Operation;
use datavern_sql::testing::{TestDb, fetch_one};
use datavern_sql::{Backend, StoreConfig};
use datavern_store::audit::{AuditAction, BackupEvent};
use datavern_store::{Records, Store};
use datavern_testkit::meta;
use datavern_testkit::sql::scalar;

use crate::support::{Setup, on_every_backend};

#[on_every_backend]
async fn erased_subject_is_unreadable_in_a_restored_snapshot(backend: Backend) {
    let s = Setup::new(backend).await;
    let a = s.env.create_resident(1).await.id;
    let b = s.env.create_resident(2).await.id;
    let snapshot = s.backups.create(SnapshotKind::Data).await.expect("create");
    assert_eq!(snapshot.kind, Some(SnapshotKind::Data));

    s.erase(b).await;

    // The snapshot into a fresh data database, read with the live key store.
    let fresh = TestDb::new(backend).await;
    let report = s
        .backups
        .restore(&snapshot.id, SnapshotKind::Data, &fresh.config().data)
        .await
        .unwrap_or_else(|err| panic!("restore: {}", datavern_sql::report(&err)));
    assert_eq!(
        report.shredded_subjects, 1,
        "B was erased after the snapshot"
    );
    assert!(report.rows > 0);

    let config = StoreConfig::new(fresh.config().data.clone(), s.env.db.config().keys.clone());
    let restored = Store::open(&config).await.expect("open restored");
    restored
        .apply_catalog(&s.env.catalog)
        .await
        .expect("catalog");
    let records = Records::new(restored.clone(), s.env.catalog.clone(), s.env.kek.clone());
    let grant = s
        .env
        .grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    let a_back = records.get(&grant, a, &meta()).await.expect("A reads back");
    assert!(
        a_back
            .fields
            .iter()
            .any(|(name, _)| name.as_str() == "fodselsnummer")
    );
    let b_back = records.get(&grant, b, &meta()).await;
    assert!(b_back.is_err(), "B's record must not decrypt: {b_back:?}");

    // The restored chain verifies, and ends with the restore, naming B.
    let verified = restored.audit().verify(None).await.expect("verify");
    assert!(verified.is_intact(), "{verified:?}");
    let restores: i64 = scalar(
        restored.data(),
        &format!(
            "SELECT COUNT(*) FROM dv_audit WHERE action = '{}'",
            AuditAction::Backup(BackupEvent::Restored)
        ),
    )
    .await;
    assert_eq!(restores, 1);
    let named: i64 = fetch_one(
        restored.data(),
        "SELECT COUNT(*) FROM dv_audit WHERE action = 'backup.restored' AND subject_id = ?",
        &[b.into()],
    )
    .await;
    assert_eq!(named, 1);

    // The live log has the create and the restore.
    let live: i64 = scalar(
        s.env.data(),
        "SELECT COUNT(*) FROM dv_audit WHERE action IN ('backup.created', 'backup.restored')",
    )
    .await;
    assert_eq!(live, 2);

    restored.close().await;
    fresh.cleanup().await;
    s.finish().await;
}

#[on_every_backend]
async fn restored_key_store_has_keys_destroyed_since_destroyed_again(backend: Backend) {
    let s = Setup::new(backend).await;
    let a = s.env.create_resident(1).await.id;
    let b = s.env.create_resident(2).await.id;
    let keys = s
        .backups
        .create(SnapshotKind::Keys)
        .await
        .expect("keys snapshot");
    assert_eq!(keys.kind, Some(SnapshotKind::Keys));

    s.erase(b).await;

    let fresh = TestDb::new(backend).await;
    let report = s
        .backups
        .restore("latest", SnapshotKind::Keys, &fresh.config().keys)
        .await
        .unwrap_or_else(|err| panic!("restore keys: {}", datavern_sql::report(&err)));
    assert_eq!(report.shredded_subjects, 1);

    // The live data read with the restored key store: A decrypts, B has no key.
    let config = StoreConfig::new(s.env.db.config().data.clone(), fresh.config().keys.clone());
    let restored = Store::open(&config).await.expect("open");
    let records = Records::new(restored.clone(), s.env.catalog.clone(), s.env.kek.clone());
    let grant = s
        .env
        .grant(Operation::Read, "innbyggere", "innbyggerregister", "4601");
    records.get(&grant, a, &meta()).await.expect("A reads back");
    let wrapped: i64 = fetch_one(
        restored.keys().database(),
        "SELECT COUNT(*) FROM dv_subject_keys WHERE subject_id = ? AND wrapped IS NOT NULL",
        &[b.into()],
    )
    .await;
    assert_eq!(
        wrapped, 0,
        "B's key is destroyed again in the restored key store"
    );

    restored.close().await;
    fresh.cleanup().await;
    s.finish().await;
}

#[on_every_backend]
async fn drill_restores_the_latest_snapshot_compares_it_and_leaves_the_scratch_empty(
    backend: Backend,
) {
    let s = Setup::new(backend).await;
    let _a = s.env.create_resident(1).await.id;
    let b = s.env.create_resident(2).await.id;
    let c = s.env.create_resident(3).await.id;
    s.backups.create(SnapshotKind::Data).await.expect("create");
    s.erase(b).await;
    s.env
        .update(
            "innbyggere",
            "innbyggerregister",
            c,
            serde_json::json!({"fornavn": "Endret"}),
            None,
        )
        .await
        .expect("update C");

    let scratch = TestDb::new(backend).await;
    let report = s
        .backups
        .drill(&scratch.config().data)
        .await
        .unwrap_or_else(|err| panic!("drill: {}", datavern_sql::report(&err)));
    assert!(report.passed(), "{report:?}");
    assert!(report.audit_chain_intact);
    assert_eq!(report.mismatched, 0);
    assert_eq!(
        report.unreadable, 1,
        "B was erased after the snapshot: {report:?}"
    );
    assert_eq!(
        report.changed_since, 1,
        "C changed after the snapshot: {report:?}"
    );
    assert_eq!(report.matched, 1, "A is as it was: {report:?}");
    let residents = report
        .collections
        .iter()
        .find(|c| c.collection == "innbyggere")
        .expect("innbyggere");
    assert_eq!((residents.restored, residents.live), (3, 2));
    assert_eq!(report.digest.len(), 64);

    let target =
        datavern_sql::Database::connect(&scratch.config().data, datavern_sql::DatabaseRole::Data)
            .await
            .expect("connect");
    assert!(target.table_names().await.expect("tables").is_empty());
    target.close().await;
    let drills: i64 = scalar(
        s.env.data(),
        "SELECT COUNT(*) FROM dv_audit WHERE action = 'backup.drill' AND outcome = 'granted'",
    )
    .await;
    assert_eq!(drills, 1);
    scratch.cleanup().await;
    s.finish().await;
}
