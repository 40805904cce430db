//! `datavern retention run` as an operator runs it, on an embedded data directory seeded
//! with `datavern demo seed`: a dry run counts and changes nothing, a run deletes what is
//! due and reports it, a second run finds nothing, and the audit log stays intact.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const CATALOG: &str = include_str!("../../../../examples/kommune.yaml");

/// `datavern ARGS --data-dir data` in `dir`, with `catalog` as the catalog if given.
fn datavern(dir: &Path, catalog: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_datavern"));
    command
        .args(args)
        .args(["--data-dir", "data"])
        .current_dir(dir)
        .env_remove("RUST_LOG");
    if let Some(catalog) = catalog {
        command.env("DATAVERN_CATALOG__PATH", catalog);
    }
    command.output().unwrap()
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

fn collection<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn retention_run_deletes_what_is_due_once_and_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    exits(
        &datavern(
            path,
            None,
            &["demo", "seed", "--records", "40", "--seed", "7"],
        ),
        0,
    );

    // Applications are kept three years from soknadsdato (early 2025): due by 2029.
    let dry: Value = serde_json::from_str(&exits(
        &datavern(
            path,
            None,
            &[
                "retention",
                "run",
                "--dry-run",
                "--json",
                "--at",
                "2029-01-01T00:00:00Z",
            ],
        ),
        0,
    ))
    .unwrap();
    assert_eq!(dry["mode"], "dry_run");
    assert_eq!(dry["handled"], 0);
    let applications = collection(&dry, "barnehagesoknader")["due"]
        .as_u64()
        .unwrap();
    assert!(applications > 0, "{dry}");
    let now: Value = serde_json::from_str(&exits(
        &datavern(path, None, &["retention", "run", "--json"]),
        0,
    ))
    .unwrap();
    assert_eq!(now["handled"], 0, "nothing is due yet: {now}");

    // The same data under a catalog keeping applications one month: all of them are due.
    let short = path.join("short.yaml");
    let catalog = CATALOG.replacen("period: P3Y", "period: P1M", 1);
    assert_ne!(catalog, CATALOG);
    std::fs::write(&short, catalog).unwrap();
    let table = exits(&datavern(path, Some(&short), &["retention", "run"]), 0);
    assert!(table.contains("barnehagesoknader"), "{table}");
    assert!(
        table.contains(&format!(
            "handled {applications} of {applications} records due"
        )),
        "{table}"
    );
    let again: Value = serde_json::from_str(&exits(
        &datavern(path, Some(&short), &["retention", "run", "--json"]),
        0,
    ))
    .unwrap();
    assert_eq!(again["handled"], 0, "{again}");
    assert_eq!(collection(&again, "barnehagesoknader")["due"], 0);

    // Every batch was audited into an intact chain.
    exits(&datavern(path, None, &["audit", "verify"]), 0);
}

#[test]
fn retention_at_another_time_is_only_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let output = datavern(
        dir.path(),
        None,
        &["retention", "run", "--at", "2030-01-01T00:00:00Z"],
    );
    exits(&output, 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--dry-run"));
}

#[test]
fn a_legal_hold_placed_from_the_cli_keeps_records_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    exits(
        &datavern(
            path,
            None,
            &["demo", "seed", "--records", "20", "--seed", "3"],
        ),
        0,
    );
    let short = path.join("short.yaml");
    std::fs::write(&short, CATALOG.replacen("period: P3Y", "period: P1M", 1)).unwrap();
    let short = Some(short.as_path());

    let placed: Value = serde_json::from_str(&exits(
        &datavern(
            path,
            short,
            &[
                "hold",
                "place",
                "--collection",
                "barnehagesoknader",
                "--reason",
                "Klagesak 2026/12",
                "--by",
                "dpo@bergen",
            ],
        ),
        0,
    ))
    .unwrap();
    let id = placed[0]["id"].as_str().unwrap().to_owned();

    let held: Value = serde_json::from_str(&exits(
        &datavern(path, short, &["retention", "run", "--json"]),
        0,
    ))
    .unwrap();
    let applications = collection(&held, "barnehagesoknader");
    assert_eq!(applications["deleted"], 0, "{held}");
    let count = applications["held"].as_u64().unwrap();
    assert!(count > 0, "{held}");

    let report: Value =
        serde_json::from_str(&exits(&datavern(path, short, &["report", "compliance"]), 0)).unwrap();
    assert_eq!(report["legal_holds"].as_array().unwrap().len(), 1);
    let past = report["past_retention"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == "barnehagesoknader")
        .unwrap();
    assert_eq!(past["held"].as_u64(), Some(count));

    exits(
        &datavern(
            path,
            short,
            &[
                "hold",
                "release",
                &id,
                "--reason",
                "Avsluttet",
                "--by",
                "dpo@bergen",
            ],
        ),
        0,
    );
    let listed: Value =
        serde_json::from_str(&exits(&datavern(path, short, &["hold", "list"]), 0)).unwrap();
    assert_eq!(listed[0]["released_by"], "dpo@bergen");
    let released: Value = serde_json::from_str(&exits(
        &datavern(path, short, &["retention", "run", "--json"]),
        0,
    ))
    .unwrap();
    assert_eq!(
        collection(&released, "barnehagesoknader")["deleted"].as_u64(),
        Some(count)
    );
    exits(&datavern(path, None, &["audit", "verify"]), 0);
}

#[test]
fn report_ropa_prints_markdown_or_json_from_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let markdown = exits(&datavern(dir.path(), None, &["report", "ropa"]), 0);
    assert!(
        markdown.starts_with("# Record of processing activities"),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(&exits(
        &datavern(dir.path(), None, &["report", "ropa", "--format", "json"]),
        0,
    ))
    .unwrap();
    assert!(json["retention"].as_array().is_some_and(|r| !r.is_empty()));
}
