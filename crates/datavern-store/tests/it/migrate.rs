//! Internal migrations: applied on every backend, idempotent, each database its own tables.

use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, DatabaseRole, StoreConfig, migrations};
use datavern_store::testing::OpenStore as _;
use datavern_store::{Store, StoreError};

use crate::support::{integers, on_every_backend, report, scalar, tables};

#[on_every_backend]
async fn migrations_apply_and_rerunning_them_changes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let before = (
        tables(store.data()).await,
        tables(store.keys().database()).await,
    );

    store.migrate().await.expect("migrating again");
    let reopened = Store::open(db.config()).await.expect("opening again");

    for (database, role) in [
        (store.data(), DatabaseRole::Data),
        (store.keys().database(), DatabaseRole::Keys),
    ] {
        let applied = integers(
            database,
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .await;
        let expected: Vec<i64> = migrations(backend, role)
            .into_iter()
            .map(|(version, _)| version)
            .collect();
        assert_eq!(applied, expected, "{role} migrations on {backend}");
    }
    let after = (
        tables(store.data()).await,
        tables(store.keys().database()).await,
    );
    assert_eq!(before, after);

    reopened.close().await;
    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn data_and_keys_have_their_own_tables(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;

    let data = tables(store.data()).await;
    let keys = tables(store.keys().database()).await;
    // Sorted here: MariaDB's catalog orders `_` after letters.
    let internal = |all: &[String]| -> Vec<String> {
        let mut names: Vec<String> = all
            .iter()
            .filter(|t| t.starts_with("dv_"))
            .cloned()
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        internal(&data),
        [
            "dv_audit",
            "dv_audit_checkpoints",
            "dv_audit_head",
            "dv_catalog_versions",
            "dv_collections",
            "dv_consent_events",
            "dv_consent_state",
            "dv_jobs",
            "dv_legal_holds",
            "dv_migration_progress",
            "dv_migrations",
            "dv_objections",
            "dv_outbox",
            "dv_record_versions",
            "dv_request_events",
            "dv_requests",
            "dv_restrictions",
            "dv_retention_register",
            "dv_schema_window",
            "dv_unique_claims",
        ]
    );
    assert_eq!(internal(&keys), ["dv_index_keys", "dv_subject_keys"]);
    // The audit chain starts empty: size 0, no head hash (the genesis hash).
    assert_eq!(
        scalar(
            store.data(),
            "SELECT COUNT(*) FROM dv_audit_head WHERE singleton = 1 AND size = 0 \
             AND head_hash IS NULL"
        )
        .await,
        1
    );

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn one_database_for_data_and_keys_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let same = StoreConfig::new(db.config().data.clone(), db.config().data.clone());

    let err = Store::open(&same).await.expect_err("one database for both");
    assert!(
        matches!(err, StoreError::KeyStoreNotSeparate { .. }),
        "{}",
        report(&err)
    );
    assert!(
        err.to_string()
            .contains("give the key store its own database")
    );

    db.cleanup().await;
}
