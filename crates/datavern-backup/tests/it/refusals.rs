//! What a backup refuses, and how: each a clear error, audited, nothing half-written.

use datavern_backup::{Placement, ReadData, Refusal, SnapshotKind};
use datavern_core::residency::Location;
use datavern_crypto::LocalKeyFile;
use datavern_sql::Backend;
use datavern_sql::testing::{TestDb, fetch_one};

use crate::support::{Setup, backups, files_under, local_config, on_every_backend};

fn refusal(result: Result<impl std::fmt::Debug, datavern_backup::BackupError>) -> Refusal {
    match result {
        Ok(value) => panic!("expected a refusal, got {value:?}"),
        Err(err) => err
            .refusal()
            .unwrap_or_else(|| panic!("expected a refusal, got {}", datavern_sql::report(&err))),
    }
}

async fn refusals_audited(s: &Setup, code: &str) -> i64 {
    fetch_one(
        s.env.data(),
        "SELECT COUNT(*) FROM dv_audit WHERE action LIKE 'backup.%' AND outcome = 'refused' AND reason = ?",
        &[code.into()],
    )
    .await
}

#[tokio::test]
async fn backup_to_a_location_the_data_may_not_go_is_refused_before_anything_is_written() {
    let s = Setup::new(Backend::Sqlite).await;
    s.env.create_resident(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let far = backups(
        &s.env,
        local_config(&dir, Some(Placement::Location(Location::Third))),
    );
    far.init().await.expect("init");
    let err = far.create(SnapshotKind::Data).await.expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::Residency));
    let message = err.to_string();
    assert!(
        message.contains("`innbyggere` must stay within `eea`"),
        "{message}"
    );
    assert!(
        far.list().await.expect("list").is_empty(),
        "no snapshot was written"
    );
    assert!(
        files_under(&dir.path().join("repo/data")).is_empty(),
        "no data pack was written"
    );
    assert_eq!(refusals_audited(&s, "residency").await, 1);

    // A storage target of the catalog that may not hold every collection is refused too.
    let dir = tempfile::tempdir().expect("dir");
    let offsite = backups(
        &s.env,
        local_config(&dir, Some(Placement::Target("backup-offsite".into()))),
    );
    offsite.init().await.expect("init");
    let err = offsite
        .create(SnapshotKind::Data)
        .await
        .expect_err("refused");
    assert_eq!(err.refusal(), Some(Refusal::Residency), "{err}");
    assert!(
        err.to_string().contains("not among the collections"),
        "{err}"
    );

    // Without a declared location, nothing is guessed.
    let dir = tempfile::tempdir().expect("dir");
    let nowhere = backups(&s.env, local_config(&dir, None));
    nowhere.init().await.expect("init");
    let err = nowhere
        .create(SnapshotKind::Data)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("declares no location"), "{err}");
    s.finish().await;
}

#[tokio::test]
async fn wrong_repository_password_is_refused_and_another_kek_cannot_unwrap_it() {
    let s = Setup::new(Backend::Sqlite).await;
    s.backups.create(SnapshotKind::Data).await.expect("create");

    // Another repository's password file: its password does not open this repository.
    let other = tempfile::tempdir().expect("dir");
    let other_backups = backups(
        &s.env,
        local_config(&other, Some(Placement::Location(Location::No))),
    );
    other_backups.init().await.expect("init other");
    let mut swapped = s.backups.config().clone();
    swapped.password_file = other_backups.config().password_file.clone();
    let wrong = backups(&s.env, swapped);
    assert_eq!(refusal(wrong.list().await), Refusal::WrongPassword);

    // The right file under another KEK does not unwrap: a clear error, not a password.
    let kek_dir = tempfile::tempdir().expect("dir");
    let kek = LocalKeyFile::create(kek_dir.path().join("kek"))
        .await
        .expect("kek");
    let foreign = datavern_backup::Backups::new(
        s.env.store.clone(),
        s.env.catalog.clone(),
        String::new(),
        std::sync::Arc::new(kek),
        s.backups.config().clone(),
    );
    let err = foreign.list().await.expect_err("another KEK");
    assert!(err.to_string().contains("repository password"), "{err}");
    s.finish().await;
}

#[on_every_backend]
async fn truncated_pack_is_found_by_verify_and_a_restore_from_it_writes_nothing(backend: Backend) {
    let s = Setup::new(backend).await;
    for n in 1..=5 {
        s.env.create_resident(n).await;
    }
    let snapshot = s.backups.create(SnapshotKind::Data).await.expect("create");
    s.backups
        .verify(ReadData::All)
        .await
        .expect("intact before");

    let packs = files_under(&s.dir.path().join("repo/data"));
    let largest = packs
        .iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack");
    let bytes = std::fs::read(largest).expect("read pack");
    std::fs::write(largest, &bytes[..bytes.len() / 2]).expect("truncate");

    let err = s.backups.verify(ReadData::All).await.expect_err("damaged");
    assert_eq!(err.refusal(), Some(Refusal::Damaged), "{err}");
    assert_eq!(refusals_audited(&s, "repository_damaged").await, 1);

    let fresh = TestDb::new(backend).await;
    let err = s
        .backups
        .restore(&snapshot.id, SnapshotKind::Data, &fresh.config().data)
        .await
        .expect_err("a damaged pack cannot be restored");
    let target =
        datavern_sql::Database::connect(&fresh.config().data, datavern_sql::DatabaseRole::Data)
            .await
            .expect("connect");
    assert!(
        target.table_names().await.expect("tables").is_empty(),
        "the failed restore ({}) left tables behind",
        datavern_sql::report(&err)
    );
    target.close().await;
    fresh.cleanup().await;
    s.finish().await;
}

#[on_every_backend]
async fn restore_into_a_database_that_holds_tables_is_refused(backend: Backend) {
    let s = Setup::new(backend).await;
    let a = s.env.create_resident(1).await.id;
    let snapshot = s.backups.create(SnapshotKind::Data).await.expect("create");
    // The live database itself: it holds every table.
    let live = s.env.db.config().data.clone();
    let before: i64 = fetch_one(s.env.data(), "SELECT COUNT(*) FROM c_innbyggere", &[]).await;
    let err = s
        .backups
        .restore(&snapshot.id, SnapshotKind::Data, &live)
        .await
        .expect_err("not empty");
    assert_eq!(err.refusal(), Some(Refusal::TargetNotEmpty), "{err}");
    let after: i64 = fetch_one(s.env.data(), "SELECT COUNT(*) FROM c_innbyggere", &[]).await;
    assert_eq!(before, after);
    let still: i64 = fetch_one(
        s.env.data(),
        "SELECT COUNT(*) FROM c_innbyggere WHERE id = ?",
        &[a.into()],
    )
    .await;
    assert_eq!(still, 1);
    assert_eq!(refusals_audited(&s, "target_not_empty").await, 1);
    s.finish().await;
}
