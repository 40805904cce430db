//! `datavern import` as an operator runs it on an embedded data directory: a CSV file with a
//! mapping is imported and reported as JSON, a mapping naming an unknown field is refused
//! (exit 1) with what to fix and nothing written, a rerun finds the import done, and the
//! audit log stays intact.

use std::path::Path;
use std::process::{Command, Output};

use datavern_testkit::fixtures::fnr;
use serde_json::Value;

/// `datavern ARGS --data-dir data` in `dir`.
fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .args(["--data-dir", "data"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[track_caller]
fn exits(output: &Output, code: i32) -> (String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

const MAPPING: &str = "
columns:
  - { column: Fødselsnummer, field: fodselsnummer }
  - { column: Fornavn, field: fornavn }
  - { column: Etternavn, field: etternavn }
  - { column: Fødselsdato, field: fodselsdato, date_format: dd.mm.yyyy }
";

fn import(dir: &Path, mapping: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        "--collection",
        "innbyggere",
        "--csv",
        "innbyggere.csv",
        "--delimiter",
        ";",
        "--mapping",
        mapping,
        "--purpose",
        "innbyggerregister",
    ];
    args.extend_from_slice(extra);
    datavern(dir, &args)
}

#[test]
fn a_csv_file_is_imported_once_and_a_bad_mapping_is_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let mut csv = "Fødselsnummer;Fornavn;Etternavn;Fødselsdato\n".to_owned();
    for n in 1..=3 {
        csv.push_str(&format!(
            "{};Halldis{n};Rognaldsen;{n:02}.10.1986\n",
            fnr(n)
        ));
    }
    csv.push_str("15108695077;Feil;Sjekksum;15.10.1986\n");
    std::fs::write(path.join("innbyggere.csv"), csv).unwrap();
    std::fs::write(path.join("map.yaml"), MAPPING).unwrap();
    std::fs::write(
        path.join("bad.yaml"),
        MAPPING.replace("field: etternavn", "field: etternamn"),
    )
    .unwrap();

    let (_, stderr) = exits(&import(path, "bad.yaml", &[]), 1);
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        stderr.contains("field `etternamn` is not a field of collection `innbyggere`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `etternavn`?"), "{stderr}");

    let (dry, _) = exits(&import(path, "map.yaml", &["--dry-run"]), 0);
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    assert!(dry.contains("would import 3, rejected 1"), "{dry}");
    assert!(!dry.contains("15108695077"), "{dry}");

    let (stdout, _) = exits(&import(path, "map.yaml", &["--json"]), 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["invalid_identifiers"][0]["row"], 4);
    assert_eq!(report["invalid_identifiers"][0]["column"], "Fødselsnummer");
    assert!(
        !stdout.contains("Halldis") && !stdout.contains(&fnr(1)),
        "{stdout}"
    );

    let (again, _) = exits(&import(path, "map.yaml", &[]), 0);
    assert!(again.contains("already imported"), "{again}");

    exits(&datavern(path, &["audit", "verify"]), 0);
}
