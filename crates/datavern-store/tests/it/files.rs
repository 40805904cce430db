//! SQLite files are private to their owner however the database is named: by path (the
//! embedded default) or by `sqlite://` URL (`database.url`).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use datavern_sql::{Database, DatabaseConfig, DatabaseRole, StoreConfig};
use datavern_store::Store;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[tokio::test]
async fn sqlite_files_named_by_url_are_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.db");
    let keys = dir.path().join("keys.db");
    let config = StoreConfig::new(
        DatabaseConfig::new(format!("sqlite://{}", data.display())).unwrap(),
        DatabaseConfig::new(format!("sqlite://{}?mode=rwc", keys.display())).unwrap(),
    );
    let store = Store::open(&config).await.unwrap();
    // Migrations wrote to both, so their WAL and shared-memory files exist while open.
    for db in [&data, &keys] {
        for file in [db.clone(), with_suffix(db, "-wal"), with_suffix(db, "-shm")] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }
    store.close().await;
}

#[tokio::test]
async fn existing_sqlite_files_readable_by_others_are_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.db");
    let config = DatabaseConfig::new(format!("sqlite://{}", path.display())).unwrap();
    let db = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db.close().await;
    for file in [
        path.clone(),
        with_suffix(&path, "-wal"),
        with_suffix(&path, "-shm"),
    ] {
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let db = Database::connect(&config, DatabaseRole::Data)
        .await
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    db.close().await;
}
