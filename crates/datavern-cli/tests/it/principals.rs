//! `datavern serve` refuses a principals file that others may write (or whose directory they
//! may write), and a principal for a tenant the catalog does not serve: exit 2, a message
//! naming the file, the mode and how to fix it, before anything listens.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn datavern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `datavern init --dir site`: a configured installation in `site` with its principals file
/// in `site/datavern-data`.
fn init(dir: &Path) -> std::path::PathBuf {
    let output = datavern(dir, &["init", "--dir", "site"]);
    assert!(output.status.success(), "{output:?}");
    dir.join("site/datavern-data/principals.toml")
}

/// `datavern serve` on the installation; it must fail before it listens. A server that
/// starts instead says `listening on` first: it is stopped and the test fails (no hang).
fn serve_fails(dir: &Path) -> String {
    let stderr_path = dir.join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_datavern"))
        .args([
            "serve",
            "--config",
            "site/datavern.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.contains("listening on") {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("serve started: {line}");
    }
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(2), "{line}\n{stderr}");
    stderr
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn serve_refuses_a_principals_file_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let principals = init(dir.path());
    for (mode, by) in [
        (0o666, "group and others"),
        (0o620, "group"),
        (0o602, "others"),
    ] {
        chmod(&principals, mode);
        let stderr = serve_fails(dir.path());
        assert!(
            stderr.contains(&format!(
                "principals file site/datavern-data/principals.toml is writable by {by} \
                 (mode {mode:04o})"
            )) && stderr.contains("chmod go-w"),
            "{stderr}"
        );
    }
    // Readable by others is fine: it holds hashes only.
    chmod(&principals, 0o644);
    let data = principals.parent().unwrap();
    chmod(data, 0o777);
    let stderr = serve_fails(dir.path());
    assert!(
        stderr.contains(
            "directory of the principals file site/datavern-data is writable by group and \
             others (mode 0777)"
        ),
        "{stderr}"
    );
    chmod(data, 0o700);
}

#[test]
fn serve_refuses_a_principal_for_a_tenant_the_catalog_does_not_serve() {
    let dir = tempfile::tempdir().unwrap();
    let principals = init(dir.path());
    let text = std::fs::read_to_string(&principals).unwrap();
    assert!(text.contains("tenant = \"4601\""), "{text}");
    std::fs::write(
        &principals,
        text.replace("tenant = \"4601\"", "tenant = \"5001\""),
    )
    .unwrap();
    let stderr = serve_fails(dir.path());
    assert!(
        stderr.contains("acts for tenant 5001, which the catalog does not serve")
            && stderr.contains("site/datavern-data/principals.toml"),
        "{stderr}"
    );
}
