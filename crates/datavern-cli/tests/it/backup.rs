//! `datavern backup …` as an operator runs it: init, create, list, verify, restore, drill,
//! the refusals' exit code, and `serve` taking backups on a schedule.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn operator_backs_up_restores_and_drills_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&datavern(
        d,
        &["demo", "seed", "--records", "30", "--data-dir", "data"],
    ));
    let common = ["--data-dir", "data", "--repo", "repo"];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(common.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |args: &[&str]| {
        let args = with(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        datavern(d, &args)
    };
    ok(&run(&["backup", "init"]));
    assert!(d.join("data/backup-password.wrapped").is_file());

    // No declared location: a configuration error (exit 2), nothing written.
    let refused = run(&["backup", "create"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let created: serde_json::Value = serde_json::from_str(&ok(&run(&[
        "backup",
        "create",
        "--location",
        "no",
        "--json",
    ])))
    .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let far = run(&["backup", "create", "--location", "third"]);
    assert_eq!(far.status.code(), Some(1), "{far:?}");
    assert!(String::from_utf8_lossy(&far.stderr).contains("refused (residency)"));

    let listed: serde_json::Value =
        serde_json::from_str(&ok(&run(&["backup", "list", "--json"]))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    ok(&run(&["backup", "verify", "--read-data"]));

    let restored = run(&[
        "backup",
        "restore",
        &id[..12],
        "--into",
        "restored.db",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&ok(&restored)).unwrap();
    assert_eq!(report["shredded_subjects"], 0);
    let again = run(&["backup", "restore", &id, "--into", "restored.db"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a non-empty target is refused"
    );

    let drill: serde_json::Value =
        serde_json::from_str(&ok(&run(&["backup", "drill", "--json"]))).unwrap();
    assert_eq!(drill["mismatched"], 0);
    assert_eq!(drill["audit_chain_intact"], true);

    ok(&run(&[
        "backup",
        "hold",
        "place",
        &id,
        "--reason",
        "sak 2026/1",
    ]));
    let forget = ok(&run(&["backup", "forget", "--keep-last", "1", "--prune"]));
    assert!(forget.contains("forgot 0"), "{forget}");
}

#[tokio::test]
async fn serve_takes_backups_on_its_schedule_and_reports_them_as_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&datavern(
        d,
        &["demo", "seed", "--records", "10", "--data-dir", "data"],
    ));
    ok(&datavern(
        d,
        &["backup", "init", "--data-dir", "data", "--repo", "repo"],
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"])
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env("DATAVERN_BACKUP__REPOSITORY", "repo")
        .env("DATAVERN_BACKUP__LOCATION", "no")
        .env("DATAVERN_BACKUP__INTERVAL", "1s")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let mut metrics = String::new();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        metrics = reqwest::get(format!("{url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("datavern_backup_snapshots{kind=\"keys\",held=\"false\"}") {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert!(
        metrics.contains("datavern_backup_last_success_timestamp_seconds{kind=\"data\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("datavern_backup_size_bytes{kind=\"keys\"}"),
        "{metrics}"
    );
    let listed: serde_json::Value = serde_json::from_str(&ok(&datavern(
        d,
        &[
            "backup",
            "list",
            "--data-dir",
            "data",
            "--repo",
            "repo",
            "--json",
        ],
    )))
    .unwrap();
    assert!(listed.as_array().unwrap().len() >= 2, "{listed}");
}

#[test]
fn a_data_snapshot_restores_when_the_live_data_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&datavern(
        d,
        &["demo", "seed", "--records", "20", "--data-dir", "data"],
    ));
    let repo = ["--data-dir", "data", "--repo", "repo"];
    ok(&datavern(d, &[&["backup", "init"][..], &repo[..]].concat()));
    ok(&datavern(
        d,
        &[&["backup", "create", "--location", "no"][..], &repo[..]].concat(),
    ));
    // The live data database is gone (its directory with it); the key store remains.
    let keys = format!("sqlite://{}", d.join("data/keys.db").display());
    let gone = format!("sqlite://{}", d.join("gone/data.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args([
            "backup",
            "restore",
            "latest",
            "--into",
            "restored.db",
            "--json",
        ])
        .args(repo)
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env("DATAVERN_DATABASE__URL", &gone)
        .env("DATAVERN_DATABASE__KEYS_URL", &keys)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
    assert!(report["rows"].as_u64().unwrap() > 0, "{report}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("restoring with what remains"),
        "{output:?}"
    );
    // The restored database serves as the data database, its chain intact.
    let verify = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["audit", "verify", "--data-dir", "data"])
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env(
            "DATAVERN_DATABASE__URL",
            format!("sqlite://{}", d.join("restored.db").display()),
        )
        .env("DATAVERN_DATABASE__KEYS_URL", &keys)
        .output()
        .unwrap();
    ok(&verify);
}
