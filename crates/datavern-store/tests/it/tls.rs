//! TLS modes and the statement timeout against the real servers.
//!
//! The local PostgreSQL offers TLS with a self-signed certificate and the local MariaDB has
//! TLS disabled; the tests ask each server what it offers and check that datavern does the
//! right thing either way.

use std::time::Duration;

use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, DatabaseRole, SqlError, TlsMode};
use datavern_store::testing::OpenStore as _;

use crate::support::{on_every_backend, report, strings};

/// Whether the server behind `db` offers TLS.
async fn offers_tls(db: &Database) -> bool {
    match db.backend() {
        Backend::Postgres => strings(db, "SHOW ssl").await == ["on"],
        Backend::MySql => strings(db, "SELECT CAST(@@have_ssl AS CHAR)").await == ["YES"],
        _ => false,
    }
}

/// Whether `db`'s connection is encrypted.
async fn uses_tls(db: &Database) -> bool {
    match db.backend() {
        Backend::Postgres => {
            strings(
                db,
                "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            )
            .await
                == ["true"]
        }
        Backend::MySql => strings(
            db,
            "SELECT CAST(variable_value AS CHAR) FROM information_schema.session_status \
                 WHERE variable_name = 'Ssl_cipher'",
        )
        .await
        .iter()
        .any(|cipher| !cipher.is_empty()),
        _ => false,
    }
}

#[on_every_backend]
async fn tls_required_connects_only_over_tls(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let config = db.config().data.clone().with_tls(TlsMode::Require);
    let required = Database::connect(&config, DatabaseRole::Data).await;

    if backend == Backend::Sqlite {
        // A file has no transport: the mode is irrelevant and ignored.
        required.expect("sqlite ignores TLS").close().await;
    } else if offers_tls(store.data()).await {
        let required = required.unwrap_or_else(|err| panic!("{}", report(&err)));
        assert!(
            uses_tls(&required).await,
            "{backend} connection is encrypted"
        );
        required.close().await;
        // The local certificate is self-signed: verifying it against the system's roots fails.
        let verify = db.config().data.clone().with_tls(TlsMode::VerifyFull);
        match Database::connect(&verify, DatabaseRole::Data).await {
            Ok(verified) => verified.close().await,
            Err(err) => {
                let text = report(&err);
                assert!(matches!(err, SqlError::Connect { .. }), "{text}");
                assert!(text.contains("invalid peer certificate"), "{text}");
            }
        }
    } else {
        let err = required.expect_err("the server offers no TLS");
        let text = report(&err);
        assert!(matches!(err, SqlError::Connect { .. }), "{text}");
        assert!(text.contains("TLS"), "{text}");
        assert!(text.contains(&db.config().data.redacted_url()), "{text}");
        // Preferring TLS falls back to plaintext.
        let preferred = db.config().data.clone().with_tls(TlsMode::Prefer);
        let preferred = Database::connect(&preferred, DatabaseRole::Data)
            .await
            .unwrap_or_else(|err| panic!("{}", report(&err)));
        assert!(!uses_tls(&preferred).await);
        preferred.close().await;
    }

    store.close().await;
    db.cleanup().await;
}

#[on_every_backend]
async fn statement_timeout_is_set_on_every_connection(backend: Backend) {
    let db = TestDb::new(backend).await;
    let config = db
        .config()
        .data
        .clone()
        .with_statement_timeout(Duration::from_millis(1500));
    let database = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));

    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            assert_eq!(
                strings(&database, "SHOW statement_timeout").await,
                ["1500ms"]
            );
        }
        Backend::MySql => {
            let version = strings(&database, "SELECT VERSION()").await;
            let sql = if version[0].contains("MariaDB") {
                "SELECT CAST(@@max_statement_time AS CHAR)"
            } else {
                "SELECT CAST(@@max_execution_time AS CHAR)"
            };
            let value = strings(&database, sql).await;
            assert!(
                matches!(value[0].as_str(), "1.500000" | "1.5" | "1500"),
                "{value:?}"
            );
        }
    }

    database.close().await;
    db.cleanup().await;
}
