//! `datavern serve` and `datavern init` as a user runs them: a real process on a free port,
//! read until it says where it listens, called over HTTP, stopped with SIGTERM.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// A running `datavern serve`.
struct Serving {
    child: Child,
    url: String,
    stderr: PathBuf,
}

/// Starts `datavern ARGS` in `dir` with `env`, and waits for its `listening on` line.
fn serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Serving {
    let stderr = dir.join(format!("serve-{}.log", unique()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_datavern"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(File::create(&stderr).unwrap()));
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(url) = line.trim().strip_prefix("listening on ") else {
        let status = child.wait().unwrap();
        panic!(
            "no `listening on` line (got {line:?}, {status}); stderr:\n{}",
            std::fs::read_to_string(&stderr).unwrap()
        );
    };
    Serving {
        url: url.to_owned(),
        child,
        stderr,
    }
}

impl Serving {
    /// Sends SIGTERM and returns the exit status and everything written to stderr.
    fn terminate(mut self) -> (ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        (status, std::fs::read_to_string(&self.stderr).unwrap())
    }
}

/// A name no other call in this process has used.
fn unique() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

async fn get(url: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn serve_in_a_fresh_directory_runs_development_mode_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(
        dir.path(),
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );

    let response = get(&format!("{}/healthz", server.url), None).await;
    assert_eq!(response.status(), 200);

    let key_file = data.join("dev-api-key");
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    let key = key.trim();
    assert!(key.starts_with("dvk_"), "{key}");
    let response = get(&format!("{}/v1/catalog", server.url), Some(key)).await;
    assert_eq!(response.status(), 200);
    let response = get(&format!("{}/v1/catalog", server.url), None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        get(&format!("{}/readyz", server.url), None).await.status(),
        200
    );

    // Only the hash is in the principals file.
    let principals = std::fs::read_to_string(data.join("principals.toml")).unwrap();
    assert!(!principals.contains(&key[4..]), "{principals}");
    assert!(principals.contains("key_hash = \"sha256:"), "{principals}");

    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("Development mode"),
        "{stderr}"
    );
    // Printed once (on creation), never in a log line.
    assert_eq!(stderr.matches(&key[4..]).count(), 1, "{stderr}");
    assert!(
        stderr
            .lines()
            .all(|l| !(l.contains(&key[4..]) && l.contains("INFO"))),
        "{stderr}"
    );
    assert!(stderr.contains("Audit log sealed"), "{stderr}");
    assert!(stderr.contains("Stopped"), "{stderr}");
    // No personal value in the logs.
    assert!(
        !stderr.contains("15108695088") && !stderr.contains("Nordmann"),
        "{stderr}"
    );

    // A second start reuses the keys and the principal, and prints no key.
    let server = serve(
        dir.path(),
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let response = get(&format!("{}/v1/catalog", server.url), Some(key)).await;
    assert_eq!(response.status(), 200);
    let (status, stderr) = server.terminate();
    assert!(status.success());
    assert!(!stderr.contains(&key[4..]), "{stderr}");
}

#[tokio::test]
async fn serve_reads_datavern_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-env");
    let server = serve(
        dir.path(),
        &["serve", "--log-format", "json"],
        &[
            ("DATAVERN_DATA_DIR", data.to_str().unwrap()),
            ("DATAVERN_SERVER__LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_eq!(
        get(&format!("{}/healthz", server.url), None).await.status(),
        200
    );
    assert!(data.join("dev-api-key").is_file());
    let (status, stderr) = server.terminate();
    assert!(status.success());
    // JSON logs: every log line is an object.
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert!(stderr.contains(r#""level":"WARN""#), "{stderr}");
}

#[tokio::test]
async fn init_then_serve_with_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let output = datavern(dir.path(), &["init", "--dir", "site"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout
        .split_whitespace()
        .find(|w| w.starts_with("dvk_"))
        .unwrap()
        .to_owned();
    let site = dir.path().join("site");
    let config = std::fs::read_to_string(site.join("datavern.toml")).unwrap();
    assert!(config.contains("# url = \"postgres://"), "{config}");
    for file in ["kek.key", "audit-signing.key", "principals.toml"] {
        let path = site.join("datavern-data").join(file);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600, "{file}");
        assert!(!std::fs::read_to_string(&path).unwrap().contains(&key[4..]));
    }

    // Never overwrites.
    let again = datavern(dir.path(), &["init", "--dir", "site"]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");

    let server = serve(
        dir.path(),
        &[
            "serve",
            "--config",
            "site/datavern.toml",
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let response = get(&format!("{}/v1/catalog", server.url), Some(&key)).await;
    assert_eq!(response.status(), 200);
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("Development mode"), "{stderr}");
    assert!(!site.join("datavern-data/dev-api-key").exists());
}

#[test]
fn configured_serve_refuses_missing_keys_instead_of_creating_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datavern.toml"), "data_dir = \"empty\"\n").unwrap();
    let output = datavern(dir.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("key-encryption key file") && stderr.contains("datavern init"),
        "{stderr}"
    );
    assert!(!dir.path().join("empty/kek.key").exists());
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = datavern(&root, &["openapi"]);
    assert!(output.status.success());
    let committed = std::fs::read_to_string(root.join("openapi.json")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}
