//! `datavern catalog check`: summary and exit 0 for a valid catalog, every problem and exit 1
//! for an invalid one, exit 2 for usage and I/O errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn datavern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .output()
        .unwrap()
}

fn example() -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "examples",
        "kommune.yaml",
    ]
    .iter()
    .collect();
    path.to_str().unwrap().to_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Writes `yaml` to a temporary file and returns the directory (kept alive) and the path.
fn catalog_file(yaml: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.yaml");
    std::fs::write(&path, yaml).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

fn broken_example() -> String {
    std::fs::read_to_string(example())
        .unwrap()
        .replacen(
            "category: user.health.diagnosis",
            "category: user.helth.diagnosis",
            1,
        )
        .replacen("location: eea", "location: EU", 1)
}

#[test]
fn valid_catalog_prints_a_summary_and_exits_0() {
    let output = datavern(&["catalog", "check", &example()]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = stdout(&output);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with("kommune.yaml: valid catalog (version 1)"),
        "{out}"
    );
    assert!(out.contains("accredited for: BEGRENSET"), "{out}");
    assert!(out.contains("tenants: 4601 Bergen kommune"), "{out}");
    assert!(out.contains("collections (5):"), "{out}");
    assert!(out.contains("nyhetsbrev         6(1)(a) consent"), "{out}");
    let fnr = out
        .lines()
        .find(|l| l.trim_start().starts_with("fodselsnummer*"))
        .unwrap();
    assert!(fnr.contains("encrypted (mandatory), searchable"), "{fnr}");
    assert!(fnr.contains("user.national_id.fodselsnummer"), "{fnr}");
    assert!(
        out.contains("archive duty: erasure answered by restriction"),
        "{out}"
    );
    assert!(
        out.contains("foresatt1 (guardian) via foresatt1_id → innbyggere"),
        "{out}"
    );
}

#[test]
fn invalid_catalog_prints_every_problem_with_position_and_exits_1() {
    let (_dir, path) = catalog_file(&broken_example());
    let output = datavern(&["catalog", "check", &path]);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with(&format!("{path}:")) && lines[0].contains(
            ": deployment.storage[3].location: unknown location `EU`: expected one of no, eea, adequate, third"
        ),
        "{out}"
    );
    let category = lines[1].strip_prefix(&format!("{path}:")).unwrap();
    let (position, rest) = category.split_once(": ").unwrap();
    let (line, column) = position.split_once(':').unwrap();
    assert!(
        line.parse::<usize>().unwrap() > 100 && column == "19",
        "{position}"
    );
    assert_eq!(
        rest,
        r#"collections[2].fields[3].category: unknown category "user.helth.diagnosis"; did you mean "user.health.diagnosis"?"#
    );
    assert_eq!(lines[2], format!("{path}: invalid catalog, 2 problems"));
}

#[test]
fn syntax_error_reports_line_and_column() {
    let (_dir, path) = catalog_file("version: 1\ncollections:\n  - name: [\n");
    let output = datavern(&["catalog", "check", &path]);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(
        out.starts_with(&format!("{path}:4:1: invalid YAML: ")),
        "{out}"
    );
}

#[test]
fn json_output_for_a_valid_catalog() {
    let output = datavern(&["catalog", "check", "--format", "json", &example()]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], true);
    let summary = &report["summary"];
    assert_eq!(summary["version"], 1);
    assert_eq!(summary["deployment"]["tenants"][0]["kommunenummer"], "4601");
    let innbyggere = &summary["collections"][0];
    assert_eq!(innbyggere["name"], "innbyggere");
    let fnr = &innbyggere["fields"][0];
    assert_eq!(fnr["name"], "fodselsnummer");
    assert_eq!(fnr["encrypted"], true);
    assert_eq!(fnr["encryption_reason"], "mandatory");
    assert_eq!(fnr["searchable"], true);
    assert_eq!(fnr["category"], "user.national_id.fodselsnummer");
    assert_eq!(fnr["classification"], "ÅPEN");
    let nyhetsbrev = summary["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "nyhetsbrev");
    assert_eq!(nyhetsbrev.unwrap()["requires_consent"], true);
    assert_eq!(nyhetsbrev.unwrap()["lawful_basis"], "6(1)(a)");
}

#[test]
fn json_output_for_an_invalid_catalog() {
    let (_dir, path) = catalog_file(&broken_example());
    let output = datavern(&["catalog", "check", "--format", "json", &path]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[1]["path"], "collections[2].fields[3].category");
    assert_eq!(errors[1]["code"], "unknown_category");
    assert_eq!(errors[1]["column"], 19);
    assert!(errors[1]["line"].as_u64().unwrap() > 100);
}

#[test]
fn missing_file_is_an_io_error_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.yaml");
    let output = datavern(&["catalog", "check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("cannot read catalog") && err.contains("missing.yaml"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(datavern(&["catalog", "check"]).status.code(), Some(2));
    let output = datavern(&["catalog", "check", "--format", "xml", &example()]);
    assert_eq!(output.status.code(), Some(2));
}
