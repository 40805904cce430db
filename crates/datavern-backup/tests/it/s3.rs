//! The S3 target against a real S3 server the test starts: `s3s-fs` (an S3 implementation
//! over a directory, with signed requests), from `.ci/backup-tools`. The test fails when the
//! server is missing: set `DATAVERN_S3S_FS` to its path, or put it on `PATH`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use datavern_backup::{
    Placement, ReadData, RepositoryConfig, RepositorySpec, S3Settings, SnapshotKind,
};
use datavern_core::residency::Location;
use datavern_sql::Backend;
use datavern_sql::testing::{TestDb, fetch_one};
use tokio::process::{Child, Command};

use crate::support::{Setup, backups};

const ACCESS_KEY: &str = "datavern-test";
const SECRET_KEY: &str = "datavern-test-secret";

/// The s3s-fs binary: `DATAVERN_S3S_FS`, else on `PATH`, else where `.ci/backup-tools`
/// installs it.
fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("DATAVERN_S3S_FS") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    if let Some(path) = on_path {
        return path;
    }
    let cached = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/datavern/bin/s3s-fs"))
        .filter(|p| p.is_file());
    cached.unwrap_or_else(|| {
        panic!(
            "s3s-fs is not installed: run .ci/backup-tools, or set DATAVERN_S3S_FS; the S3 \
             target is tested against a real server, never skipped"
        )
    })
}

/// An S3 server on a free port over a temporary directory, stopped when dropped.
struct S3Server {
    _child: Child,
    _root: tempfile::TempDir,
    endpoint: String,
}

impl S3Server {
    async fn start(bucket: &str) -> S3Server {
        let root = tempfile::tempdir().expect("dir");
        std::fs::create_dir(root.path().join(bucket)).expect("bucket");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start s3s-fs");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return S3Server {
                    _child: child,
                    _root: root,
                    endpoint: format!("http://127.0.0.1:{port}"),
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("s3s-fs did not start listening on port {port}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_go_to_s3_and_restore_from_it() {
    let s = Setup::new(Backend::Sqlite).await;
    let a = s.env.create_resident(1).await.id;
    let server = S3Server::start("backups").await;
    let settings = S3Settings {
        endpoint: server.endpoint.clone(),
        region: None,
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: SECRET_KEY.to_owned().into(),
    };
    let dir = tempfile::tempdir().expect("dir");
    let config = RepositoryConfig {
        spec: RepositorySpec::parse("s3://backups/bergen/prod", Some(settings.clone()))
            .expect("spec"),
        password_file: dir.path().join("s3.password"),
        name: "datavern".to_owned(),
        placement: Some(Placement::Location(Location::No)),
        cache_dir: None,
    };
    let remote = backups(&s.env, config.clone());
    remote.init().await.expect("init on S3");
    let snapshot = remote
        .create(SnapshotKind::Data)
        .await
        .expect("create on S3");
    assert_eq!(remote.list().await.expect("list").len(), 1);
    remote.verify(ReadData::All).await.expect("verify on S3");

    let fresh = TestDb::new(Backend::Sqlite).await;
    let report = remote
        .restore(&snapshot.id, SnapshotKind::Data, &fresh.config().data)
        .await
        .expect("restore from S3");
    assert_eq!(report.shredded_subjects, 0);
    let db =
        datavern_sql::Database::connect(&fresh.config().data, datavern_sql::DatabaseRole::Data)
            .await
            .expect("connect");
    let found: i64 = fetch_one(
        &db,
        "SELECT COUNT(*) FROM c_innbyggere WHERE id = ?",
        &[a.into()],
    )
    .await;
    assert_eq!(found, 1);
    db.close().await;

    // Wrong credentials: a clear repository error, not a hang or a panic.
    let mut wrong = config;
    wrong.spec = RepositorySpec::parse(
        "s3://backups/bergen/prod",
        Some(S3Settings {
            secret_access_key: "not-the-secret".to_owned().into(),
            ..settings
        }),
    )
    .expect("spec");
    let err = backups(&s.env, wrong)
        .list()
        .await
        .expect_err("bad credentials");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");

    fresh.cleanup().await;
    s.finish().await;
}
