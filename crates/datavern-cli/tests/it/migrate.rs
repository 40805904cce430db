//! `datavern migrate …` as an operator runs it on the embedded default: plan (text, JSON, a
//! plan file), apply, status, complete, and the refusals' exit code.

use std::path::Path;
use std::process::{Command, Output};

const EXAMPLE: &str = include_str!("../../../../examples/kommune.yaml");

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .args(["--data-dir", "data"])
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

fn refused(output: &Output, code: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("refused ({code})")), "{stderr}");
}

#[test]
fn operator_encrypts_a_field_with_a_reviewed_plan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&datavern(d, &["demo", "seed", "--records", "20"]));
    let new = EXAMPLE.replacen(
        "        identifier: postnummer\n",
        "        identifier: postnummer\n        encrypted: true\n",
        1,
    );
    assert_ne!(new, EXAMPLE);
    std::fs::write(d.join("new.yaml"), &new).unwrap();

    let text = ok(&datavern(
        d,
        &[
            "migrate",
            "plan",
            "--catalog",
            "new.yaml",
            "--out",
            "plan.json",
        ],
    ));
    assert!(
        text.contains("[expand-contract] field \"postnummer\" becomes encrypted"),
        "{text}"
    );
    assert!(text.contains("dv_next_postnummer"), "{text}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["from_version"], 1);
    assert!(
        plan["changes"][0]["ddl"]["postgres"]["expand"].is_array(),
        "{plan}"
    );

    // A catalog that does not validate: refused, nothing started.
    std::fs::write(d.join("bad.yaml"), "version: 1\ncollections: 3\n").unwrap();
    refused(
        &datavern(d, &["migrate", "apply", "--catalog", "bad.yaml"]),
        "catalog_invalid",
    );
    // A plan for another catalog: refused.
    std::fs::write(
        d.join("other.yaml"),
        EXAMPLE.replacen("      period: P2Y\n", "      period: P3Y\n", 1),
    )
    .unwrap();
    refused(
        &datavern(
            d,
            &[
                "migrate",
                "apply",
                "--catalog",
                "other.yaml",
                "--plan",
                "plan.json",
            ],
        ),
        "checksum_mismatch",
    );

    let applied: serde_json::Value = serde_json::from_str(&ok(&datavern(
        d,
        &[
            "migrate",
            "apply",
            "--catalog",
            "new.yaml",
            "--plan",
            "plan.json",
            "--batch-size",
            "7",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(applied["next"], "complete", "{applied}");
    let status: serde_json::Value =
        serde_json::from_str(&ok(&datavern(d, &["migrate", "status", "--json"]))).unwrap();
    assert_eq!(status["open"]["state"], "ready", "{status}");
    let completed: serde_json::Value =
        serde_json::from_str(&ok(&datavern(d, &["migrate", "complete", "--json"]))).unwrap();
    assert_eq!(completed["version"], 2);
    refused(&datavern(d, &["migrate", "complete"]), "no_migration");

    // The data reads with the new catalog, and the audit chain verifies.
    let digest = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(["demo", "digest", "--records", "20", "--data-dir", "data"])
        .env("DATAVERN_CATALOG__PATH", "new.yaml")
        .current_dir(d)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    ok(&digest);
    ok(&datavern(d, &["audit", "verify"]));
}
