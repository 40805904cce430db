//! `datavern audit verify` and `datavern audit export` on an embedded data directory, as an
//! operator runs them; tampering is done directly in the SQLite file.

use std::path::Path;
use std::process::{Command, Output};

use datavern_core::access::Operation;
use datavern_core::catalog::Kommunenummer;
use datavern_crypto::audit::{CheckpointSigner, KeyName};
use datavern_sql::StoreConfig;
use datavern_sql::{Database, DatabaseConfig, DatabaseRole, testing};
use datavern_store::Store;
use datavern_store::audit::{AuditAction, AuditEntry, AuditOutcome};

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
fn exits(output: &Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

/// A data directory as `serve` leaves it: the store, a signing key at its default path, five
/// sealed entries and a checkpoint. Returns the verifier key.
async fn data_dir_with_entries(dir: &Path) -> String {
    let store = Store::open(&StoreConfig::embedded(dir)).await.unwrap();
    let signer = CheckpointSigner::create(
        dir.join("audit-signing.key"),
        KeyName::new("datavern/audit").unwrap(),
    )
    .await
    .unwrap();
    let tenant = Kommunenummer::parse("0301").unwrap();
    for i in 0..5 {
        let entry = AuditEntry::new(
            store.now(),
            Some(tenant),
            format!("saksbehandler-{i}"),
            AuditAction::Record(Operation::Read),
            AuditOutcome::Granted,
        )
        .with_fields(["navn".to_owned()]);
        store.audit().record(entry).await.unwrap();
    }
    assert_eq!(store.audit().seal().await.unwrap().size, 5);
    store
        .audit()
        .checkpoint(&signer, "datavern/audit")
        .await
        .unwrap();
    store.audit().stop().await;
    store.close().await;
    signer.verifier_key()
}

async fn tamper(dir: &Path, sql: &str) {
    let config = DatabaseConfig::sqlite_file(dir.join("data.db"));
    let db = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap();
    // As whoever can write the file can: drop the append-only trigger first.
    testing::execute(&db, "DROP TRIGGER IF EXISTS dv_audit_seal_only").await;
    testing::execute(&db, sql).await;
    db.close().await;
}

#[tokio::test]
async fn verify_on_a_fresh_data_dir_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::embedded(dir.path()))
        .await
        .unwrap();
    store.close().await;
    let out = exits(
        &datavern(dir.path(), &["audit", "verify", "--data-dir", "."]),
        0,
    );
    assert!(out.contains("audit log intact: 0 entries checked"), "{out}");
}

#[tokio::test]
async fn verify_checks_entries_and_checkpoints_and_names_a_tampered_position() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    data_dir_with_entries(&data).await;

    // The verifier key comes from the signing key file the settings name.
    let out = exits(
        &datavern(dir.path(), &["audit", "verify", "--data-dir", "data"]),
        0,
    );
    assert!(out.contains("5 entries checked"), "{out}");
    assert!(
        out.contains("checkpoints: 1 verified, the last at size 5"),
        "{out}"
    );

    tamper(
        &data,
        "UPDATE dv_audit SET principal = 'someone-else' WHERE sequence = 2",
    )
    .await;
    let out = exits(
        &datavern(dir.path(), &["audit", "verify", "--data-dir", "data"]),
        1,
    );
    assert!(
        out.contains("BROKEN at position 2: hash mismatch at 2"),
        "{out}"
    );
    assert!(out.contains("1 entries verified before it"), "{out}");
}

#[tokio::test]
async fn verify_with_another_key_fails_at_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    data_dir_with_entries(dir.path()).await;
    let other = CheckpointSigner::generate(KeyName::new("datavern/audit").unwrap()).unwrap();
    let key = other.verifier_key();
    let out = exits(
        &datavern(
            dir.path(),
            &["audit", "verify", "--data-dir", ".", "--verifier-key", &key],
        ),
        1,
    );
    assert!(
        out.contains("at position 5: checkpoint of size 5 does not verify"),
        "{out}"
    );
}

#[tokio::test]
async fn export_verifies_offline_and_fails_after_an_edited_line() {
    let dir = tempfile::tempdir().unwrap();
    let verifier_key = data_dir_with_entries(dir.path()).await;
    let out = exits(
        &datavern(
            dir.path(),
            &["audit", "export", "--data-dir", ".", "--out", "audit.jsonl"],
        ),
        0,
    );
    assert!(
        out.contains("exported 5 sealed entries and 1 checkpoints"),
        "{out}"
    );
    // Refuses to overwrite.
    exits(
        &datavern(
            dir.path(),
            &["audit", "export", "--data-dir", ".", "--out", "audit.jsonl"],
        ),
        2,
    );

    // Offline: the file and the public key only (the key as a file, from another directory).
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(
        elsewhere.path().join("verifier.pub"),
        format!("{verifier_key}\n"),
    )
    .unwrap();
    let file = dir.path().join("audit.jsonl");
    let file = file.to_str().unwrap();
    let args = [
        "audit",
        "verify",
        "--file",
        file,
        "--verifier-key-file",
        "verifier.pub",
    ];
    let out = exits(&datavern(elsewhere.path(), &args), 0);
    assert!(out.contains("audit log intact: 5 entries checked"), "{out}");

    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, text.replacen("saksbehandler-3", "saksbehandler-9", 1)).unwrap();
    let out = exits(&datavern(elsewhere.path(), &args), 1);
    assert!(out.contains("BROKEN at position 4"), "{out}");
}

#[test]
fn missing_database_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = datavern(dir.path(), &["audit", "verify", "--data-dir", "nowhere"]);
    exits(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no datavern database"));
    assert!(!dir.path().join("nowhere").exists());

    let out = datavern(
        dir.path(),
        &[
            "audit",
            "verify",
            "--verifier-key",
            "k",
            "--verifier-key-file",
            "f",
        ],
    );
    exits(&out, 2);
    let out = datavern(
        dir.path(),
        &["audit", "verify", "--verifier-key", "not a key"],
    );
    exits(&out, 2);
}
