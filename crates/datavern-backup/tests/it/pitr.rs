//! Point-in-time recovery through pgBackRest on a PostgreSQL 15 cluster of the test's own,
//! created with Debian's cluster tools (which need root) and dropped afterwards.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use datavern_backup::pitr::{BackupType, Pitr, PitrConfig, PitrError};
use datavern_sql::{Database, DatabaseConfig, DatabaseRole};
use jiff::Timestamp;
use uuid::Uuid;

const PG_VERSION: &str = "15";
const PG_USER: &str = "postgres";

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restores_to_a_point_in_time_with_exactly_the_rows_committed_before_it() {
    require_tool("pgbackrest", &["version"]);
    require_tool("pg_lsclusters", &[]);

    // Dropped last: the clusters below are dropped before their repository goes.
    let dir = tempfile::tempdir().expect("temp dir");
    chown_to_postgres(dir.path());

    let suffix = &Uuid::new_v4().simple().to_string()[..12];
    let source = Cluster::new(format!("pitr-src-{suffix}"));
    let scratch = Cluster::new(format!("pitr-dst-{suffix}"));
    // Ports are chosen and claimed (by creating the clusters) under a lock, so that test
    // processes running side by side never choose the same.
    let ports_lock = lock_ports();
    let source_port = free_port(&[]);

    let pitr = Pitr::new(
        PitrConfig::new(
            format!("datavern-{suffix}"),
            dir.path().join("pgbackrest.conf"),
            dir.path().join("repo"),
            dir.path().join("work"),
            source.data_dir(),
            source_port,
        )
        .with_run_as(PG_USER),
    )
    .expect("pitr config");
    pitr.write_config().await.expect("write pgbackrest config");

    let archive_command = format!("archive_command={}", pitr.archive_command());
    source.create(
        source_port,
        &[
            "-o",
            "archive_mode=on",
            "-o",
            &archive_command,
            "-o",
            "wal_level=replica",
        ],
    );
    let scratch_port = free_port(&[source_port]);
    scratch.create(scratch_port, &[]);
    drop(ports_lock);
    source.start();

    pitr.stanza_create().await.expect("stanza-create");
    pitr.check().await.expect("check");
    pitr.backup(BackupType::Full).await.expect("full backup");

    psql(
        source_port,
        "CREATE TABLE residents (id integer PRIMARY KEY, name text NOT NULL)",
    );
    psql(
        source_port,
        "INSERT INTO residents SELECT i, 'batch 1' FROM generate_series(1, 100) AS i",
    );
    // A later transaction's now(): after batch 1's commit, before batch 2's.
    let target: Timestamp = psql(
        source_port,
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    )
    .parse()
    .expect("target time");
    tokio::time::sleep(Duration::from_secs(1)).await;
    psql(
        source_port,
        "INSERT INTO residents SELECT i, 'batch 2' FROM generate_series(101, 150) AS i",
    );

    let database = Database::connect(
        &DatabaseConfig::new(format!(
            "postgres://{PG_USER}@127.0.0.1:{source_port}/postgres"
        ))
        .expect("database config"),
        DatabaseRole::Data,
    )
    .await
    .expect("connect to the source cluster");
    pitr.switch_wal_and_check(&database)
        .await
        .expect("switch wal and check");
    database.close().await;

    let info = pitr.info().await.expect("info");
    assert_eq!(info.backups.len(), 1, "{info:?}");
    assert_eq!(info.backups[0].backup_type, BackupType::Full);
    assert!(info.backups[0].stop <= target, "{info:?}");
    assert!(info.archive_max.is_some(), "{info:?}");

    let into = scratch.data_dir();
    let refused = pitr.restore_to_time(target, &into).await;
    assert!(
        matches!(refused, Err(PitrError::TargetNotEmpty { .. })),
        "a fresh cluster's data directory is not empty: {refused:?}"
    );
    empty_dir(&into);
    pitr.restore_to_time(target, &into)
        .await
        .expect("restore to the target time");
    scratch.start();
    wait_until_promoted(scratch_port).await;

    assert_eq!(
        psql(scratch_port, "SELECT count(*), max(id) FROM residents"),
        "100|100",
        "exactly batch 1, committed before {target}"
    );
    assert_eq!(
        psql(
            scratch_port,
            "SELECT count(*) FROM residents WHERE name <> 'batch 1'"
        ),
        "0"
    );
}

/// A cluster of the test's, dropped (stopped first) when the guard goes, also when an
/// assertion failed.
struct Cluster {
    name: String,
}

impl Cluster {
    fn new(name: String) -> Cluster {
        Cluster { name }
    }

    fn data_dir(&self) -> PathBuf {
        PathBuf::from(format!("/var/lib/postgresql/{PG_VERSION}/{}", self.name))
    }

    /// `pg_createcluster` on `port` with `options` (each `-o name=value`), trusting local
    /// connections; the cluster is created stopped.
    fn create(&self, port: u16, options: &[&str]) {
        let port = port.to_string();
        let mut args = vec![PG_VERSION, &self.name, "-p", &port];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--", "--auth=trust"]);
        run("pg_createcluster", &args);
    }

    fn start(&self) {
        run("pg_ctlcluster", &[PG_VERSION, &self.name, "start"]);
    }
}

impl Drop for Cluster {
    // A failing test's output is where its cluster's log can still be read.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The log goes with the cluster: show its end first, to say why the test failed.
            let log = format!(
                "/var/log/postgresql/postgresql-{PG_VERSION}-{}.log",
                self.name
            );
            if let Ok(text) = std::fs::read_to_string(&log) {
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                eprintln!("--- the end of {log} ---\n{tail}");
            }
        }
        // Runs also for a cluster never created; pg_dropcluster then fails, harmlessly.
        let _ = Command::new("pg_dropcluster")
            .args(["--stop", PG_VERSION, &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Fails (does not skip) the test when a tool it needs is not installed.
fn require_tool(program: &str, args: &[&str]) {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => panic!("{program} is required for this test (install it): {err}"),
    }
}

/// Runs `program` and returns its standard output; panics with its standard error.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{program} is required for this test: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// One statement through `psql` (unaligned, tuples only), as the superuser.
fn psql(port: u16, sql: &str) -> String {
    let port = port.to_string();
    run(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            PG_USER,
            "-d",
            "postgres",
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
    )
}

/// Polls until the restored cluster accepts connections and has left recovery (replayed to
/// the target and promoted).
async fn wait_until_promoted(port: u16) {
    let port_text = port.to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let output = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port_text,
                "-U",
                PG_USER,
                "-d",
                "postgres",
                "-X",
                "-At",
                "-c",
                "SELECT pg_is_in_recovery()",
            ])
            .output()
            .expect("psql");
        if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "f" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the restored cluster on port {port} did not finish recovery: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A port free now on 127.0.0.1 and not configured for any existing cluster, below the
/// kernel's ephemeral range (32768 and up), so that no outgoing connection takes it between
/// this check and the cluster's start.
fn free_port(taken: &[u16]) -> u16 {
    const FIRST: u16 = 25_400;
    const COUNT: u16 = 600;
    let clusters = run("pg_lsclusters", &["--no-header"]);
    let configured: Vec<u16> = clusters
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2)?.parse().ok())
        .collect();
    // Start where another test process (another run of this suite) is unlikely to.
    let offset = u16::try_from(std::process::id() % u32::from(COUNT)).unwrap_or(0);
    (0..COUNT)
        .map(|i| FIRST + (offset + i) % COUNT)
        .find(|port| {
            !configured.contains(port)
                && !taken.contains(port)
                && TcpListener::bind(("127.0.0.1", *port)).is_ok()
        })
        .expect("no free port for a test cluster")
}

/// An exclusive lock among this machine's test processes, held while ports are chosen and
/// claimed.
fn lock_ports() -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("datavern-pitr-ports.lock"))
        .expect("open the port lock");
    file.lock().expect("take the port lock");
    file
}

fn chown_to_postgres(path: &Path) {
    let path = path.to_str().expect("utf-8 temp path");
    run("chown", &[&format!("{PG_USER}:"), path]);
}

/// Removes everything inside `dir`, keeping `dir` (its owner and mode) itself.
fn empty_dir(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read data dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("remove dir");
        } else {
            std::fs::remove_file(&path).expect("remove file");
        }
    }
}
