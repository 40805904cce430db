//! Stock restic reads datavern's repository: it lists the snapshots, checks the repository
//! and prints a snapshot's files, with the password `datavern backup password` gives. The
//! test fails when restic is missing (`.ci/backup-tools` installs it).

use std::process::Command;

use datavern_backup::SnapshotKind;
use datavern_sql::Backend;

use crate::support::Setup;

fn restic(repo: &std::path::Path, password: &str, args: &[&str]) -> String {
    let output = Command::new("restic")
        .arg("--repo")
        .arg(repo)
        .arg("--no-cache")
        .args(args)
        .env("RESTIC_PASSWORD", password)
        .output()
        .unwrap_or_else(|err| {
            panic!("restic cannot run ({err}): run .ci/backup-tools to install it")
        });
    assert!(
        output.status.success(),
        "restic {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn stock_restic_lists_checks_and_reads_datavern_snapshots() {
    let s = Setup::new(Backend::Sqlite).await;
    s.env.create_resident(1).await;
    let data = s.backups.create(SnapshotKind::Data).await.expect("data");
    let keys = s.backups.create(SnapshotKind::Keys).await.expect("keys");
    let password = s.backups.password().await.expect("password");
    let repo = s.dir.path().join("repo");

    let listed: serde_json::Value =
        serde_json::from_str(&restic(&repo, password.expose(), &["snapshots", "--json"]))
            .expect("restic's JSON");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [data.id.as_str(), keys.id.as_str()]);
    let tags = listed[0]["tags"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t == "kind:data"), "{tags:?}");

    restic(&repo, password.expose(), &["check", "--read-data"]);
    let meta = restic(
        &repo,
        password.expose(),
        &["dump", &data.id, "/datavern/data/datavern.json"],
    );
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("datavern.json");
    assert_eq!(meta["kind"], "data");
    assert_eq!(meta["backend"], "sqlite");
    s.finish().await;
}
