//! `datavern request …` end to end on every backend: the lifecycle through the binary, with
//! deadlines on a given clock (`--now`), refusals with exit code 1, and the steps audited.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use datavern_core::catalog::Kommunenummer;
use datavern_store::Backend;
use datavern_store::audit::AuditFilter;
use datavern_store::testing::TestDb;
use serde_json::Value;

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(datavern_store::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(datavern_store::Backend::Postgres).await;
            }

            #[tokio::test]
            async fn mariadb() {
                super::$name(datavern_store::Backend::MySql).await;
            }
        }
    )*};
}

on_every_backend!(request_lifecycle_through_the_cli);

struct Site {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Site {
    fn run(&self, args: &[&str], now: &str, stdin: Option<&str>) -> Output {
        let (data, keys) = self.db.urls();
        let mut command = Command::new(env!("CARGO_BIN_EXE_datavern"));
        command
            .arg("request")
            .args(args)
            .args([
                "--data-dir",
                "data",
                "--tenant",
                "4601",
                "--actor",
                "personvernombud",
            ])
            .args(["--now", now])
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env("DATAVERN_DATABASE__URL", data)
            .env("DATAVERN_DATABASE__KEYS_URL", keys)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn json(&self, args: &[&str], now: &str) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let output = self.run(&all, now, None);
        serde_json::from_str(&exits(&output, 0)).unwrap()
    }
}

#[track_caller]
fn exits(output: &Output, code: i32) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const RECEIVED: &str = "2026-01-31T09:00:00Z";
const FEB_20: &str = "2026-02-20T09:00:00Z";
const MAR_1: &str = "2026-03-01T09:00:00Z";
const APR_1: &str = "2026-04-01T09:00:00Z";

async fn request_lifecycle_through_the_cli(backend: Backend) {
    let site = Site {
        dir: tempfile::tempdir().unwrap(),
        db: TestDb::new(backend).await,
    };
    let subject = uuid::Uuid::now_v7().to_string();
    let created = site.json(
        &[
            "create",
            "--type",
            "erasure",
            "--subject-id",
            &subject,
            "--field",
            "epost",
        ],
        RECEIVED,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "received");
    assert_eq!(created["due_on"], "2026-02-28");
    assert_eq!(created["days_left"], 28);
    assert_eq!(created["parameters"]["fields"][0], "epost");

    // Without a register of persons, a fødselsnummer (read from stdin) cannot be resolved.
    let output = site.run(
        &["create", "--type", "access", "--fodselsnummer-stdin"],
        RECEIVED,
        Some("15108695088\n"),
    );
    exits(&output, 1);
    assert!(
        stderr(&output).contains("subject id"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("15108695088"));
    let output = site.run(
        &["create", "--type", "access", "--fodselsnummer-stdin"],
        RECEIVED,
        Some("15108695077\n"),
    );
    exits(&output, 2);
    assert!(!stderr(&output).contains("15108695077"));

    // Run before verification is refused; after it, no executor is installed.
    let output = site.run(&["run", &id], RECEIVED, None);
    exits(&output, 1);
    assert!(stderr(&output).contains("verify"), "{}", stderr(&output));
    let verified = site.json(&["verify", &id, "--method", "id-porten"], RECEIVED);
    assert_eq!(verified["state"], "verified");
    let output = site.run(&["run", &id], RECEIVED, None);
    exits(&output, 1);
    assert!(
        stderr(&output).contains("no executor for `erasure`"),
        "{}",
        stderr(&output)
    );

    let extended = site.json(
        &["extend", &id, "--months", "1", "--reason", "three archives"],
        FEB_20,
    );
    assert_eq!(extended["extended_due_on"], "2026-03-31");
    let output = site.run(
        &["extend", &id, "--months", "1", "--reason", "more"],
        MAR_1,
        None,
    );
    exits(&output, 1);
    assert!(
        stderr(&output).contains("2026-02-28"),
        "{}",
        stderr(&output)
    );

    // 1 April: overdue, in the table and in JSON.
    let table = exits(&site.run(&["list", "--overdue"], APR_1, None), 0);
    assert!(table.contains(&id) && table.contains("OVERDUE"), "{table}");
    let none = site.json(&["list", "--overdue"], MAR_1);
    assert!(none["items"].as_array().unwrap().is_empty());
    let shown = exits(&site.run(&["show", &id], APR_1, None), 0);
    assert!(shown.contains("OVERDUE by 1 day(s)"), "{shown}");
    assert!(
        shown.contains("2026-03-31 (extended from 2026-02-28)"),
        "{shown}"
    );

    let rejected = site.json(&["reject", &id, "--reason", "archival duty"], APR_1);
    assert_eq!(rejected["state"], "rejected");
    let output = site.run(&["verify", &id], APR_1, None);
    exits(&output, 1);
    let output = site.run(&["show", "not-a-uuid"], APR_1, None);
    exits(&output, 2);

    let store = site.db.open().await;
    let audit = store
        .audit()
        .query(AuditFilter::new(Kommunenummer::parse("4601").unwrap()).record(id.parse().unwrap()))
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .items
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "request.received",
            "request.verified",
            "request.extended",
            "request.rejected"
        ]
    );
    assert!(
        audit
            .items
            .iter()
            .all(|r| r.entry.principal == "personvernombud")
    );
    store.close().await;
    site.db.cleanup().await;
}
