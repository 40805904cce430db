//! After an erasure, the erased person's wrapped key and ciphertext are gone from the
//! database files, not only from the tables: SQLite checkpoints and truncates the WAL of both
//! databases (secure_delete zeroes the rows in their pages), PostgreSQL vacuums the key table.
//! Before this, a completed erasure on SQLite left the wrapped key in `keys.db` (and the
//! ciphertext in `data.db`) until a checkpoint, and with only the KEK file every field of the
//! person could be recovered.

use std::path::{Path, PathBuf};

use datavern_sql::{Backend, testing};
use datavern_store::{KeyState, SubjectId};
use uuid::Uuid;

use super::{Env, resident};
use crate::support::{execute, report, tenant};

/// The wrapped key of `subject` as stored, and the envelope of its fødselsnummer.
async fn secrets(env: &Env, subject: Uuid) -> (Vec<u8>, Vec<u8>) {
    let keys = env
        .store
        .keys()
        .subject_keys(tenant("4601"), &[SubjectId::from_uuid(subject)])
        .await
        .unwrap();
    let wrapped = match &keys[0].state {
        KeyState::Live(wrapped) => wrapped.to_bytes(),
        KeyState::Destroyed { .. } => panic!("the key is destroyed already"),
    };
    let envelope: Vec<u8> = testing::fetch_one(
        env.data(),
        "SELECT fodselsnummer FROM c_innbyggere WHERE id = ?",
        &[subject.into()],
    )
    .await;
    (wrapped, envelope)
}

async fn erase_resident(env: &Env, n: u32) {
    let subjects = env.resolve_fnr(n).await;
    let outcome = env
        .rights
        .erase(&env.actor(), &subjects, env.now())
        .await
        .unwrap_or_else(|err| panic!("{}", report(&err)));
    assert!(outcome.complete);
    assert_eq!(outcome.keys[0].destroyed_versions, 1);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The database file and its WAL (empty when absent).
fn files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let path = PathBuf::from(name);
            let bytes = std::fs::read(&path).unwrap_or_default();
            (path, bytes)
        })
        .collect()
}

#[tokio::test]
async fn sqlite_erasure_leaves_no_key_or_ciphertext_in_the_files_or_their_wal() {
    let env = Env::new(Backend::Sqlite).await;
    let person = env
        .create("innbyggere", "innbyggerregister", resident(4))
        .await;
    let (wrapped, envelope) = secrets(&env, person).await;
    let path = |url: String| PathBuf::from(url.trim_start_matches("sqlite://"));
    let keys_db = path(env.db.config().keys.redacted_url());
    let data_db = path(env.db.config().data.redacted_url());
    // Before: both are in the files (main file or WAL), so the scan can find them.
    assert!(files(&keys_db).iter().any(|(_, f)| contains(f, &wrapped)));
    assert!(files(&data_db).iter().any(|(_, f)| contains(f, &envelope)));

    erase_resident(&env, 4).await;

    for (file, bytes) in files(&keys_db) {
        assert!(
            !contains(&bytes, &wrapped),
            "the erased person's wrapped key is still in {}",
            file.display()
        );
    }
    for (file, bytes) in files(&data_db) {
        assert!(
            !contains(&bytes, &envelope),
            "the erased person's ciphertext is still in {}",
            file.display()
        );
    }
    env.finish().await;
}

/// PostgreSQL: the destroyed key's old row version is vacuumed out of the key table's file.
/// The erased rows of collection tables stay as dead row versions until (auto)vacuum; a
/// `VACUUM` removes them. WAL segments keep both until they are recycled (docs/storage.md).
#[tokio::test]
async fn postgres_erasure_vacuums_the_key_out_of_the_table_file() {
    let env = Env::new(Backend::Postgres).await;
    let person = env
        .create("innbyggere", "innbyggerregister", resident(4))
        .await;
    let (wrapped, envelope) = secrets(&env, person).await;
    let keys = env.store.keys().database();
    let in_file = async |db: &datavern_sql::Database, table: &str, needle: &[u8]| -> bool {
        // The test role is a superuser: it may flush pages and read the relation's file.
        testing::execute(db, "CHECKPOINT").await;
        let file: Vec<u8> = testing::fetch_one(
            db,
            &format!("SELECT pg_read_binary_file(pg_relation_filepath('{table}'))"),
            &[],
        )
        .await;
        contains(&file, needle)
    };
    assert!(in_file(keys, "dv_subject_keys", &wrapped).await);
    assert!(in_file(env.data(), "c_innbyggere", &envelope).await);

    erase_resident(&env, 4).await;

    assert!(
        !in_file(keys, "dv_subject_keys", &wrapped).await,
        "the destroyed key is still in the key table's file"
    );
    // What removes the erased rows' dead versions from a collection table.
    execute(env.data(), "VACUUM c_innbyggere").await;
    assert!(!in_file(env.data(), "c_innbyggere", &envelope).await);
    env.finish().await;
}
