//! `datavern db migrate|grants` and a deployment with an owner and a serving role: the owner
//! migrates (`database.migration_url`), `db grants --apply` gives the serving role its
//! privileges, and commands then run as that role, which may append to the audit log but
//! never change it.

use std::process::{Command, Output};

use datavern_sql::Backend;
use datavern_sql::testing::{self, TestDb};
use datavern_store::Store;

use crate::demo::exits;

/// `datavern ARGS` in `dir` with the configuration of `datavern init --dir site`, the owner's
/// URLs as the migration URLs and `serving` as the serving URLs.
fn run(
    dir: &std::path::Path,
    owner: &(String, String),
    serving: &(String, String),
    args: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .args(["--config", "site/datavern.toml"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("DATAVERN_DATABASE__URL", &serving.0)
        .env("DATAVERN_DATABASE__KEYS_URL", &serving.1)
        .env("DATAVERN_DATABASE__MIGRATION_URL", &owner.0)
        .env("DATAVERN_DATABASE__KEYS_MIGRATION_URL", &owner.1)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_owner_migrates_and_the_serving_role_gets_only_its_grants() {
    owner_migrates_and_the_serving_role_gets_only_its_grants(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_owner_migrates_and_the_serving_role_gets_only_its_grants() {
    owner_migrates_and_the_serving_role_gets_only_its_grants(Backend::MySql).await;
}

async fn owner_migrates_and_the_serving_role_gets_only_its_grants(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let init = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["init", "--dir", "site"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    exits(&init, 0);
    let db = TestDb::new(backend).await;
    let owner = db.urls();
    let login = db.create_login().await;
    let cmd = |args: &[&str]| run(dir.path(), &owner, &login.urls, args);

    // The owner migrates and applies the catalog.
    let out = exits(&cmd(&["db", "migrate"]), 0);
    assert!(out.contains("migrated"), "{out}");

    let printed = exits(&cmd(&["db", "grants", "--role", &login.name]), 0);
    let q = |t: &str| match backend {
        Backend::MySql => format!("`{t}`"),
        _ => format!("\"{t}\""),
    };
    assert!(
        printed.contains(&format!("GRANT SELECT, INSERT ON {} TO", q("dv_audit"))),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "GRANT UPDATE ({}, {}, {}) ON {}",
            q("sequence"),
            q("entry_hash"),
            q("sealed_at"),
            q("dv_audit")
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO",
            q("c_innbyggere")
        )),
        "{printed}"
    );
    for audit in ["dv_audit", "dv_audit_head", "dv_audit_checkpoints"] {
        assert!(
            !printed.contains(&format!("DELETE ON {}", q(audit))),
            "{printed}"
        );
    }
    // Printing changed nothing: the serving role still cannot read the store.
    let refused = cmd(&["hold", "list", "--tenant", "4601"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");

    exits(&cmd(&["db", "grants", "--role", &login.name, "--apply"]), 0);
    // Now commands run as the serving role: migrations and catalog through the owner first.
    exits(
        &cmd(&[
            "hold",
            "place",
            "--tenant",
            "4601",
            "--collection",
            "saker",
            "--reason",
            "Tvist 2026/77",
            "--by",
            "personvernombud",
        ]),
        0,
    );
    let listed = exits(&cmd(&["hold", "list", "--tenant", "4601"]), 0);
    assert!(listed.contains("saker"), "{listed}");

    // As that role, the audit log it wrote cannot be changed.
    let serving = Store::open_migrated(&login.config).await.unwrap();
    serving.audit().seal().await.unwrap();
    let update = "UPDATE dv_audit SET principal = 'someone-else'";
    let err = testing::try_execute(serving.data(), update)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("denied"), "{err}");
    serving.close().await;
    db.cleanup().await;
}
