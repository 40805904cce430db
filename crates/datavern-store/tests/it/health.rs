//! Health checks, pool statistics, closing, and connection errors.

use datavern_sql::testing::{TestDb, admin_url, with_database, with_user};
use datavern_sql::{Backend, Database, DatabaseConfig, DatabaseRole, SqlError};
use datavern_store::StoreError;
use datavern_store::testing::OpenStore as _;

use crate::support::{on_every_backend, report, scalar};

#[on_every_backend]
async fn ping_reports_health_and_stats_count_connections(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;

    store.ping().await.expect("healthy");
    let stats = store.data().stats();
    assert!(stats.size >= 1, "{stats:?}");
    assert!(stats.idle <= stats.size, "{stats:?}");
    assert_eq!(store.data().backend(), backend);
    assert_eq!(store.keys().database().role(), DatabaseRole::Keys);

    store.close().await;
    assert!(store.data().is_closed());
    let err = store.ping().await.expect_err("closed pool");
    assert!(
        matches!(err, StoreError::Sql(SqlError::Statement(_))),
        "{}",
        report(&err)
    );

    db.cleanup().await;
}

#[on_every_backend]
async fn analyze_gives_postgresql_statistics_for_both_databases(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    store
        .analyze()
        .await
        .unwrap_or_else(|err| panic!("analyze: {}", report(&err)));
    if backend == Backend::Postgres {
        let analyzed = "SELECT COUNT(*) FROM pg_stat_user_tables \
                        WHERE relname IN ('dv_audit', 'dv_subject_keys') AND last_analyze IS NOT NULL";
        let data = scalar(store.data(), analyzed).await;
        let keys = scalar(store.keys().database(), analyzed).await;
        assert_eq!(
            (data, keys),
            (1, 1),
            "dv_audit and dv_subject_keys analyzed"
        );
    }
    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn unreachable_database_is_a_clear_error_without_the_password(backend: Backend) {
    let config = match backend {
        Backend::Sqlite => DatabaseConfig::sqlite_file("/nonexistent-datavern-dir/sub/data.db"),
        Backend::Postgres | Backend::MySql => {
            // Port 1 on the test server's host: nothing listens there.
            let url = with_user(&admin_url(backend), "datavern", "s3cret-pw");
            let url = with_database(&url, "datavern").replacen(":5432/", ":1/", 1);
            let url = url.replacen(":3306/", ":1/", 1);
            DatabaseConfig::new(url).unwrap()
        }
    };
    let config = config.with_acquire_timeout(std::time::Duration::from_secs(5));

    let err = Database::connect(&config, DatabaseRole::Data)
        .await
        .expect_err("nothing there");
    let text = report(&err);
    assert!(matches!(err, SqlError::Connect { .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "cannot connect to the data database ({backend} at "
        )),
        "{text}"
    );
    assert!(!text.contains("s3cret-pw"), "{text}");
    // The cause, not just "pool timed out".
    let cause = match backend {
        Backend::Sqlite => "No such file or directory",
        Backend::Postgres | Backend::MySql => "Connection refused",
    };
    assert!(text.contains(cause), "{text}");
}

/// The embedded database files hold personal data and wrapped keys: owner-only.
#[cfg(unix)]
#[tokio::test]
async fn embedded_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let store = datavern_store::Store::open(&datavern_sql::StoreConfig::embedded(dir.path()))
        .await
        .unwrap();
    for file in ["data.db", "data.db-wal", "keys.db", "keys.db-wal"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} has mode {mode:o}");
    }
    store.close().await;
}
