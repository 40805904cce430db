//! `datavern migrate copy` as an operator runs it: a seeded SQLite installation copied to
//! PostgreSQL, refused for a location residency forbids (exit 1, nothing written), stopped
//! part-way and resumed, verified (exit 0), refused into a target that is no longer empty,
//! and the copied audit chain verified on the target by `datavern audit verify`.

use std::path::Path;
use std::process::{Command, Output};

use datavern_sql::testing::TestDb;
use datavern_sql::{Backend, Database, DatabaseRole};

use crate::demo::exits;

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_copies_a_sqlite_installation_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    exits(
        &datavern(
            d,
            &["demo", "seed", "--records", "40", "--data-dir", "data"],
        ),
        0,
    );
    let target = TestDb::new(Backend::Postgres).await;
    let (data_url, keys_url) = target.urls();
    let copy = |extra: &[&str]| {
        let mut args = vec![
            "migrate",
            "copy",
            "--data-dir",
            "data",
            "--to",
            &data_url,
            "--keys-to",
            &keys_url,
        ];
        args.extend_from_slice(extra);
        datavern(d, &args)
    };

    // Health data must stay in Norway: a target in the EEA is refused, nothing written.
    let far = copy(&["--location", "eea"]);
    assert_eq!(far.status.code(), Some(1), "{far:?}");
    let stderr = String::from_utf8_lossy(&far.stderr);
    assert!(stderr.contains("refused (residency)"), "{stderr}");
    assert!(stderr.contains("collection `saker`"), "{stderr}");
    let data = Database::connect(&target.config().data, DatabaseRole::Data)
        .await
        .unwrap();
    assert!(data.table_names().await.unwrap().is_empty());

    // Killed part-way (the test hook stops after three batches): exit 2, resumable.
    let stopped = copy(&[
        "--location",
        "no",
        "--batch-size",
        "7",
        "--stop-after-batches",
        "3",
    ]);
    assert_eq!(stopped.status.code(), Some(2), "{stopped:?}");
    let out = String::from_utf8_lossy(&stopped.stdout);
    assert!(
        out.contains("run the same command again to resume"),
        "{out}"
    );

    let resumed = copy(&["--location", "no", "--batch-size", "7", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&exits(&resumed, 0)).unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["resumed"], true);
    assert_eq!(report["source_backend"], "sqlite");
    assert_eq!(report["target_backend"], "postgres");
    let tables = report["data"]["tables"].as_array().unwrap();
    let residents = tables
        .iter()
        .find(|t| t["table"] == "c_innbyggere")
        .unwrap();
    assert_eq!(residents["source_rows"], residents["target_rows"]);
    assert_eq!(residents["source_digest"], residents["target_digest"]);
    assert!(residents["target_rows"].as_u64().unwrap() > 0);
    assert!(
        !data
            .table_names()
            .await
            .unwrap()
            .iter()
            .any(|t| t == "dv_copy_progress")
    );
    data.close().await;

    // Done: a second copy into the same databases is refused.
    let again = copy(&["--location", "no"]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("refused (target_not_empty)"));

    // The copied chain, with the copy's own entry, verifies on the target.
    let verified = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["audit", "verify", "--data-dir", "data"])
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env("DATAVERN_DATABASE__URL", &data_url)
        .env("DATAVERN_DATABASE__KEYS_URL", &keys_url)
        .output()
        .unwrap();
    let out = exits(&verified, 0);
    assert!(out.contains("audit log intact"), "{out}");
    target.cleanup().await;
}

/// `migrate copy --mask`: a masked copy of a seeded installation into a new SQLite
/// installation with keys of its own, whose catalog says masked and whose audit chain
/// verifies; refused into the source's own directory and into a target no longer empty.
#[tokio::test(flavor = "multi_thread")]
async fn operator_writes_a_masked_copy_for_a_test_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    exits(
        &datavern(
            d,
            &["demo", "seed", "--records", "40", "--data-dir", "data"],
        ),
        0,
    );
    let mask = |to_dir: &str| {
        datavern(
            d,
            &[
                "migrate",
                "copy",
                "--mask",
                "--data-dir",
                "data",
                "--to",
                "test-env/data.db",
                "--keys-to",
                "test-env/keys.db",
                "--to-data-dir",
                to_dir,
                "--location",
                "no",
                "--batch-size",
                "7",
                "--json",
            ],
        )
    };

    // Never into the source's own directory: its keys would be the copy's.
    let own = mask("data");
    assert_eq!(own.status.code(), Some(1), "{own:?}");
    assert!(String::from_utf8_lossy(&own.stderr).contains("refused (own_keys)"));

    let report: serde_json::Value = serde_json::from_str(&exits(&mask("test-env"), 0)).unwrap();
    assert_eq!(report["source_backend"], "sqlite");
    let residents = report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == "innbyggere")
        .unwrap();
    assert!(residents["records"].as_u64().unwrap() > 0, "{report}");
    assert!(
        residents["masked_fields"]
            .as_array()
            .unwrap()
            .contains(&"fodselsnummer".into())
    );
    let env = d.join("test-env");
    for file in [
        "kek.key",
        "audit-signing.key",
        "catalog.yaml",
        "data.db",
        "keys.db",
    ] {
        assert!(env.join(file).exists(), "{file}");
    }
    assert_ne!(
        std::fs::read(env.join("kek.key")).unwrap(),
        std::fs::read(d.join("data/kek.key")).unwrap()
    );
    let checked = exits(
        &datavern(d, &["catalog", "check", "test-env/catalog.yaml"]),
        0,
    );
    assert!(checked.contains("masked copy"), "{checked}");

    // The copy's audit chain, with its records' entries, verifies under its own catalog.
    let verified = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["audit", "verify", "--data-dir", "test-env"])
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env("DATAVERN_CATALOG__PATH", "test-env/catalog.yaml")
        .output()
        .unwrap();
    let out = exits(&verified, 0);
    assert!(out.contains("audit log intact"), "{out}");

    // Done: a second masked copy into the same databases is refused.
    let again = mask("test-env");
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("refused (target_not_empty)"));

    // Each step is in the source's audit log, refusals with their reason.
    let source = Database::connect(
        &datavern_sql::DatabaseConfig::sqlite_file(d.join("data/data.db")),
        DatabaseRole::Data,
    )
    .await
    .unwrap();
    let steps = datavern_testkit::sql::strings(
        &source,
        "SELECT action || ' ' || COALESCE(reason, '-') FROM dv_audit \
         WHERE action LIKE 'migration.%' ORDER BY id",
    )
    .await;
    assert_eq!(
        steps,
        [
            "migration.copy_refused own_keys",
            "migration.masked -",
            "migration.copy_refused target_not_empty"
        ]
    );
    source.close().await;
}
