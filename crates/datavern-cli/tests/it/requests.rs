//! `datavern request …` end to end on every backend: the lifecycle through the binary on a
//! seeded site, with deadlines on a given clock (`--now`), refusals with exit code 1, usage
//! errors with exit code 2, and the steps audited.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use datavern_core::catalog::Kommunenummer;
use datavern_core::demo;
use datavern_sql::{Backend, StoreConfig};
use datavern_store::Store;
use datavern_store::audit::AuditFilter;
use serde_json::Value;

use crate::demo::{Site, exits, seed};
use datavern_testkit::on_every_backend;

/// Runs `datavern request ARGS` on `site` as the DPO of tenant 4601, at `now` if given, with
/// `stdin` on standard input.
pub(crate) fn request(
    site: &Site,
    args: &[&str],
    now: Option<&str>,
    stdin: Option<&str>,
) -> Output {
    request_as(site, "personvernombud", args, now, stdin)
}

/// The same as principal `actor`.
pub(crate) fn request_as(
    site: &Site,
    actor: &str,
    args: &[&str],
    now: Option<&str>,
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datavern"));
    command
        .arg("request")
        .args(args)
        .args(["--tenant", "4601", "--actor", actor])
        .current_dir(site.dir.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(now) = now {
        command.args(["--now", now]);
    }
    match &site.db {
        None => {
            command.args(["--data-dir", "data"]);
        }
        Some(db) => {
            let (data, keys) = db.urls();
            command
                .args(["--config", "site/datavern.toml"])
                .env("DATAVERN_DATABASE__URL", data)
                .env("DATAVERN_DATABASE__KEYS_URL", keys);
        }
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// The JSON `datavern request ARGS --json` printed, which must exit 0.
#[track_caller]
pub(crate) fn json(site: &Site, args: &[&str], now: Option<&str>, stdin: Option<&str>) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let output = request(site, &all, now, stdin);
    serde_json::from_str(&exits(&output, 0)).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The store `site`'s commands use, opened directly (to read its audit log).
pub(crate) async fn open_store(site: &Site) -> Store {
    let config = match &site.db {
        Some(db) => db.config().clone(),
        None => StoreConfig::embedded(site.dir.path().join("data")),
    };
    Store::open(&config).await.unwrap()
}

const SEED: u64 = 11;
const RECEIVED: &str = "2026-01-31T09:00:00Z";
const FEB_20: &str = "2026-02-20T09:00:00Z";
const MAR_1: &str = "2026-03-01T09:00:00Z";
const APR_1: &str = "2026-04-01T09:00:00Z";

#[on_every_backend(multi_thread)]
async fn request_lifecycle_through_the_cli(backend: Backend) {
    let site = Site::new(backend).await;
    seed(&site, 10, SEED);
    let fnr = demo::person(SEED, 0).fodselsnummer;
    let run = |args: &[&str], now: &str| request(&site, args, Some(now), None);
    let json = |args: &[&str], now: &str| json(&site, args, Some(now), None);

    // A fødselsnummer (read from stdin) resolves through the catalog to the resident.
    let by_fnr = {
        let output = request(
            &site,
            &[
                "create",
                "--type",
                "access",
                "--fodselsnummer-stdin",
                "--json",
            ],
            Some(RECEIVED),
            Some(&format!("{fnr}\n")),
        );
        let stdout = exits(&output, 0);
        assert!(!stdout.contains(&fnr) && !stderr(&output).contains(&fnr));
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    assert_eq!(by_fnr["identified_by"], "synthetic");
    let subject = by_fnr["subjects"][0].as_str().unwrap().to_owned();
    assert_eq!(by_fnr["subjects"].as_array().unwrap().len(), 1);

    let created = json(
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
    assert_eq!(created["identified_by"], "subject_id");
    assert_eq!(created["due_on"], "2026-02-28");
    assert_eq!(created["days_left"], 28);
    assert_eq!(created["parameters"]["fields"][0], "epost");

    // Nobody: a valid number of no resident, a subject id of no record (exit 1, nothing
    // recorded); a number with a wrong check digit is a usage error (exit 2).
    for (flag, stdin) in [
        ("--fodselsnummer-stdin", Some("15108695088\n")),
        ("--subject-id", None),
    ] {
        let nobody = uuid::Uuid::now_v7().to_string();
        let mut args = vec!["create", "--type", "access", flag];
        if stdin.is_none() {
            args.push(&nobody);
        }
        let output = request(&site, &args, Some(RECEIVED), stdin);
        exits(&output, 1);
        assert!(
            stderr(&output).contains("no data subject"),
            "{}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("15108695088"));
    }
    let output = request(
        &site,
        &["create", "--type", "access", "--fodselsnummer-stdin"],
        Some(RECEIVED),
        Some("15108695077\n"),
    );
    exits(&output, 2);
    assert!(!stderr(&output).contains("15108695077"));

    // Parameters: a restriction needs its ground of Art. 18(1) or --lift, and only a
    // restriction or an objection takes them; each refusal names the flag.
    for (args, flag) in [
        (vec!["--type", "restriction"], "--ground"),
        (
            vec!["--type", "restriction", "--ground", "archive_duty"],
            "--ground",
        ),
        (vec!["--type", "access", "--lift"], "--lift"),
        (
            vec!["--type", "objection", "--ground", "legal_claims"],
            "--ground",
        ),
    ] {
        let mut all = vec!["create", "--subject-id", subject.as_str()];
        all.extend(args);
        let output = run(&all, RECEIVED);
        exits(&output, 2);
        assert!(stderr(&output).contains(flag), "{}", stderr(&output));
    }
    let output = run(
        &[
            "create",
            "--subject-id",
            &subject,
            "--type",
            "restriction",
            "--ground",
            "legal_claims",
            "--lift",
        ],
        RECEIVED,
    );
    exits(&output, 2);
    let restriction = json(
        &[
            "create",
            "--subject-id",
            &subject,
            "--type",
            "restriction",
            "--ground",
            "legal_claims",
        ],
        RECEIVED,
    );
    assert_eq!(restriction["parameters"]["ground"], "legal_claims");
    let lift = json(
        &[
            "create",
            "--subject-id",
            &subject,
            "--type",
            "objection",
            "--lift",
            "--purpose",
            "kommunikasjon",
        ],
        RECEIVED,
    );
    assert_eq!(lift["parameters"]["lift"], true);
    assert_eq!(lift["parameters"]["purposes"][0], "kommunikasjon");

    // Run before verification is refused, and leaves the request as it was.
    let output = run(&["run", &id], RECEIVED);
    exits(&output, 1);
    assert!(stderr(&output).contains("verif"), "{}", stderr(&output));
    let verified = json(&["verify", &id, "--method", "id-porten"], RECEIVED);
    assert_eq!(verified["state"], "verified");

    let extended = json(
        &["extend", &id, "--months", "1", "--reason", "three archives"],
        FEB_20,
    );
    assert_eq!(extended["extended_due_on"], "2026-03-31");
    let output = run(&["extend", &id, "--months", "1", "--reason", "more"], MAR_1);
    exits(&output, 1);
    assert!(
        stderr(&output).contains("2026-02-28"),
        "{}",
        stderr(&output)
    );

    // 1 March: the extended request is not overdue, the others (due 28 February) are;
    // 1 April: it is overdue too, in the table and in JSON.
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let overdue = json(&["list", "--overdue"], MAR_1);
    assert_eq!(overdue["items"].as_array().unwrap().len(), 3, "{overdue}");
    assert!(!ids(&overdue).contains(&id), "{overdue}");
    let overdue = json(&["list", "--overdue"], APR_1);
    assert!(ids(&overdue).contains(&id), "{overdue}");
    let table = exits(&run(&["list", "--overdue"], APR_1), 0);
    assert!(table.contains(&id) && table.contains("OVERDUE"), "{table}");
    let shown = exits(&run(&["show", &id], APR_1), 0);
    assert!(shown.contains("OVERDUE by 1 day(s)"), "{shown}");
    assert!(
        shown.contains("2026-03-31 (extended from 2026-02-28)"),
        "{shown}"
    );

    let rejected = json(&["reject", &id, "--reason", "archival duty"], APR_1);
    assert_eq!(rejected["state"], "rejected");
    exits(&run(&["verify", &id, "--method", "letter"], APR_1), 1);
    exits(&run(&["run", &id], APR_1), 1);
    exits(&run(&["show", "not-a-uuid"], APR_1), 2);

    let store = open_store(&site).await;
    let audit = store
        .audit()
        .query(AuditFilter::new(Kommunenummer::parse("4601").unwrap()).record(id.parse().unwrap()))
        .await
        .unwrap();
    // Each refusal is audited as the API audits it: `request.refused`, the code as reason.
    let actions: Vec<(&str, Option<&str>)> = audit
        .items
        .iter()
        .map(|r| (r.entry.action.as_str(), r.entry.reason.as_deref()))
        .collect();
    assert_eq!(
        actions,
        [
            ("request.received", None),
            ("request.refused", Some("illegal_transition")),
            ("request.verified", Some("method=id_porten")),
            ("request.extended", None),
            ("request.refused", Some("extension_refused")),
            ("request.rejected", None),
            ("request.refused", Some("illegal_transition")),
            ("request.refused", Some("illegal_transition")),
        ]
    );
    assert!(
        audit
            .items
            .iter()
            .all(|r| r.entry.principal == "personvernombud")
    );
    store.close().await;
    let out = exits(&site.run(&["audit", "verify"]), 0);
    assert!(out.contains("audit log intact"), "{out}");
    site.finish().await;
}

/// The four-eyes rule at the command line: the actor who verified an erasure may not run
/// it; a second actor may, and an operator alone may only with `--four-eyes-override` and a
/// reason, which the history and the audit log record.
#[on_every_backend(multi_thread)]
async fn erasure_needs_a_second_actor_or_an_audited_override(backend: Backend) {
    let site = Site::new(backend).await;
    seed(&site, 10, SEED);
    let subject = |index: u64| {
        let fnr = demo::person(SEED, index).fodselsnummer;
        let created = json(
            &site,
            &["create", "--type", "erasure", "--fodselsnummer-stdin"],
            None,
            Some(&format!("{fnr}\n")),
        );
        created["id"].as_str().unwrap().to_owned()
    };
    let (alone, second) = (subject(0), subject(1));

    // The verification says how, and where the evidence is; personal data is refused.
    let output = request(
        &site,
        &[
            "verify",
            &alone,
            "--method",
            "in_person",
            "--evidence",
            "15108695088",
        ],
        None,
        None,
    );
    exits(&output, 2);
    assert!(!stderr(&output).contains("15108695088"));
    let verified = json(
        &site,
        &[
            "verify",
            &alone,
            "--method",
            "in_person",
            "--evidence",
            "2026/412-1",
        ],
        None,
        None,
    );
    assert_eq!(verified["verification"], "in_person");
    assert_eq!(verified["verification_evidence"], "2026/412-1");

    // The verifier runs it: refused (exit 1), nothing erased, the refusal recorded.
    let output = request(&site, &["run", &alone], None, None);
    exits(&output, 1);
    assert!(stderr(&output).contains("four eyes"), "{}", stderr(&output));
    let shown = json(&site, &["show", &alone], None, None);
    assert_eq!(shown["state"], "verified");

    // Alone at the console, with a reason: run, and the override is on record.
    let ran = json(
        &site,
        &[
            "run",
            &alone,
            "--four-eyes-override",
            "the second DPO is on leave; approved by the municipal director",
        ],
        None,
        None,
    );
    assert_ne!(ran["state"], "verified", "{ran}");
    let history: Vec<&str> = ran["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        history[..5],
        [
            "received",
            "verified",
            "refused",
            "four_eyes_overridden",
            "started"
        ],
        "{ran}"
    );

    // A second actor verifies: the first runs it without an override.
    let output = request_as(
        &site,
        "personvernombud-2",
        &["verify", &second, "--method", "letter"],
        None,
        None,
    );
    exits(&output, 0);
    let ran = json(&site, &["run", &second], None, None);
    assert_ne!(ran["state"], "verified", "{ran}");

    let store = open_store(&site).await;
    let tenant = Kommunenummer::parse("4601").unwrap();
    let audit = store
        .audit()
        .query(AuditFilter::new(tenant).record(alone.parse().unwrap()))
        .await
        .unwrap();
    let steps: Vec<(&str, &str, Option<&str>)> = audit
        .items
        .iter()
        .filter(|r| r.entry.action.as_str().starts_with("request."))
        .map(|r| {
            (
                r.entry.action.as_str(),
                r.entry.outcome.as_str(),
                r.entry.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        steps[..4],
        [
            ("request.received", "granted", None),
            ("request.verified", "granted", Some("method=in_person")),
            ("request.refused", "denied", Some("four_eyes_required")),
            ("request.four_eyes_overridden", "granted", None),
        ]
    );
    store.close().await;
    site.finish().await;
}

/// A data directory never seeded has no key file: nothing to read, and nothing is created.
#[tokio::test]
async fn request_commands_refuse_a_site_never_seeded() {
    let site = Site::new(Backend::Sqlite).await;
    let output = request(&site, &["list"], None, None);
    exits(&output, 2);
    assert!(
        stderr(&output).contains("no key-encryption key"),
        "{}",
        stderr(&output)
    );
    assert!(!site.dir.path().join("data").exists());
    site.finish().await;
}

/// The exit-code contract of `request run`: a refusal is 1, a database that cannot be
/// reached is 2 (a failure to retry, not an answer about the request).
#[tokio::test(flavor = "multi_thread")]
async fn run_refused_is_1_database_unreachable_is_2() {
    let site = Site::new(Backend::Sqlite).await;
    seed(&site, 20, SEED);
    let unknown = "018f0000-0000-7000-8000-000000000000";

    let output = request(&site, &["run", unknown], None, None);
    exits(&output, 1);
    assert!(
        stderr(&output).starts_with("refused: "),
        "{}",
        stderr(&output)
    );

    // The seeded site's key file is there; its database is a PostgreSQL port nobody listens on.
    let closed = "postgres://postgres@127.0.0.1:1/datavern";
    let output = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args([
            "request",
            "run",
            unknown,
            "--tenant",
            "4601",
            "--data-dir",
            "data",
        ])
        .current_dir(site.dir.path())
        .env_remove("RUST_LOG")
        .env("DATAVERN_DATABASE__URL", closed)
        .env("DATAVERN_DATABASE__KEYS_URL", closed)
        .output()
        .unwrap();
    exits(&output, 2);
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("cannot connect"),
        "{}",
        stderr(&output)
    );
    site.finish().await;
}
