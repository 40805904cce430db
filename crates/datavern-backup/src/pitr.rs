//! Point-in-time recovery of a PostgreSQL cluster through pgBackRest: datavern writes the
//! private pgBackRest configuration, runs its commands (stanza creation, checks, full,
//! differential and incremental backups, the repository's state) and restores a cluster to a
//! chosen moment from a backup and the archived WAL.
//!
//! PostgreSQL archives its WAL into the repository itself, through the command
//! [`Pitr::archive_command`] returns; datavern only orchestrates. Every pgBackRest run is a
//! child process whose standard error is kept (its last lines) in the error when it fails.
//! pgBackRest's configuration holds paths only, no credentials.

use std::fmt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use datavern_sql::{Database, SqlError};
use jiff::Timestamp;
use serde::Deserialize;
use tokio::process::Command;

/// How many lines of a failed command's standard error an error keeps.
const STDERR_LINES: usize = 20;

/// What can go wrong while orchestrating pgBackRest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PitrError {
    /// The configuration cannot work; the message says what to change.
    #[error("{0}")]
    Config(String),

    /// A command could not be started (not installed, not executable).
    #[error("could not run {command}: {source}")]
    Spawn {
        /// The command, as `program subcommand`.
        command: String,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },

    /// A command ran and failed.
    #[error("{command} failed ({status}): {stderr}")]
    Command {
        /// The command, as `program subcommand`.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// The last lines of its standard error (of its standard output when that was empty).
        stderr: String,
    },

    /// A restore into a directory that already holds files: pgBackRest would mix them with
    /// the restored cluster.
    #[error(
        "refusing to restore into {}: the directory is not empty; stop and empty the \
         cluster there, or choose another directory",
        path.display()
    )]
    TargetNotEmpty {
        /// The directory.
        path: PathBuf,
    },

    /// No backup in the repository stopped before the target time: nothing to replay from.
    #[error("no backup stopped at or before {target}: cannot recover to that time")]
    NoBackupBefore {
        /// The target time.
        target: Timestamp,
    },

    /// `pgbackrest info` answered something this module cannot read.
    #[error("pgbackrest info: {0}")]
    Info(String),

    /// A local file or directory could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },

    /// The database failed (switching the WAL segment).
    #[error(transparent)]
    Sql(#[from] SqlError),
}

impl PitrError {
    fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        PitrError::Io {
            what: what.into(),
            source,
        }
    }
}

/// A point-in-time recovery operation's result.
pub type Result<T, E = PitrError> = std::result::Result<T, E>;

/// Where pgBackRest keeps its repository and its own files, and which PostgreSQL cluster it
/// backs up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitrConfig {
    /// The stanza: pgBackRest's name for the cluster (letters, digits, `-`, `_`, `.`).
    pub stanza: String,
    /// The private pgBackRest configuration file [`Pitr::write_config`] writes.
    pub config_file: PathBuf,
    /// The repository directory (backups and archived WAL).
    pub repo_path: PathBuf,
    /// pgBackRest's own directories: `log`, `lock` and `spool` are created under it.
    pub work_dir: PathBuf,
    /// The cluster's data directory.
    pub pg_data: PathBuf,
    /// The cluster's port.
    pub pg_port: u16,
    /// The directory of the cluster's Unix socket.
    pub pg_socket_dir: PathBuf,
    /// The OS user pgBackRest runs as (through `runuser`, so datavern must run as root);
    /// `None` runs it as the current user.
    pub run_as: Option<String>,
    /// The pgBackRest program.
    pub pgbackrest: PathBuf,
}

impl PitrConfig {
    /// A configuration for `stanza` with the socket in `/var/run/postgresql`, pgBackRest
    /// found on the `PATH` and run as the current user.
    pub fn new(
        stanza: impl Into<String>,
        config_file: impl Into<PathBuf>,
        repo_path: impl Into<PathBuf>,
        work_dir: impl Into<PathBuf>,
        pg_data: impl Into<PathBuf>,
        pg_port: u16,
    ) -> Self {
        PitrConfig {
            stanza: stanza.into(),
            config_file: config_file.into(),
            repo_path: repo_path.into(),
            work_dir: work_dir.into(),
            pg_data: pg_data.into(),
            pg_port,
            pg_socket_dir: PathBuf::from("/var/run/postgresql"),
            run_as: None,
            pgbackrest: PathBuf::from("pgbackrest"),
        }
    }

    /// Runs pgBackRest as the OS user `user` (the cluster's owner).
    pub fn with_run_as(mut self, user: impl Into<String>) -> Self {
        self.run_as = Some(user.into());
        self
    }

    /// The directory of the cluster's Unix socket.
    pub fn with_socket_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.pg_socket_dir = dir.into();
        self
    }

    /// The pgBackRest program to run.
    pub fn with_pgbackrest(mut self, program: impl Into<PathBuf>) -> Self {
        self.pgbackrest = program.into();
        self
    }

    fn log_dir(&self) -> PathBuf {
        self.work_dir.join("log")
    }

    fn lock_dir(&self) -> PathBuf {
        self.work_dir.join("lock")
    }

    fn spool_dir(&self) -> PathBuf {
        self.work_dir.join("spool")
    }

    /// Refuses what would not survive the trip into pgBackRest's configuration file and
    /// PostgreSQL's `archive_command` unquoted.
    fn check(&self) -> Result<()> {
        let stanza_ok = !self.stanza.is_empty()
            && self
                .stanza
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !stanza_ok {
            return Err(PitrError::Config(format!(
                "the stanza name {:?} may hold only ASCII letters, digits, '-', '_' and '.'",
                self.stanza
            )));
        }
        let paths = [
            ("config_file", &self.config_file),
            ("repo_path", &self.repo_path),
            ("work_dir", &self.work_dir),
            ("pg_data", &self.pg_data),
            ("pg_socket_dir", &self.pg_socket_dir),
            ("pgbackrest", &self.pgbackrest),
        ];
        for (name, path) in paths {
            let Some(text) = path.to_str() else {
                return Err(PitrError::Config(format!(
                    "{name} ({}) is not valid UTF-8",
                    path.display()
                )));
            };
            let safe = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
            if !safe {
                return Err(PitrError::Config(format!(
                    "{name} ({text}) may hold only ASCII letters, digits, '/', '-', '_' and '.' \
                     (it is written unquoted into pgBackRest's configuration and \
                     PostgreSQL's archive_command)"
                )));
            }
        }
        if let Some(user) = &self.run_as
            && (user.is_empty() || user.starts_with('-'))
        {
            return Err(PitrError::Config(format!(
                "run_as ({user:?}) is not a user name"
            )));
        }
        Ok(())
    }
}

/// A pgBackRest backup type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// Every file of the cluster.
    Full,
    /// What changed since the last full backup.
    Diff,
    /// What changed since the last backup of any type.
    Incr,
}

impl BackupType {
    /// pgBackRest's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Full => "full",
            BackupType::Diff => "diff",
            BackupType::Incr => "incr",
        }
    }

    /// The type pgBackRest names `text` (`full`, `diff`, `incr`).
    pub fn parse(text: &str) -> Option<BackupType> {
        match text {
            "full" => Some(BackupType::Full),
            "diff" => Some(BackupType::Diff),
            "incr" => Some(BackupType::Incr),
            _ => None,
        }
    }
}

impl fmt::Display for BackupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One backup in the repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PitrBackup {
    /// pgBackRest's label (`20261207-194000F`, with `_…D` or `_…I` for a differential or an
    /// incremental one).
    pub label: String,
    /// The type.
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    /// When it started.
    #[serde(serialize_with = "rfc3339")]
    pub start: Timestamp,
    /// When it stopped.
    #[serde(serialize_with = "rfc3339")]
    pub stop: Timestamp,
}

/// The repository's state for the stanza: its backups and the range of archived WAL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PitrInfo {
    /// The backups, oldest first.
    pub backups: Vec<PitrBackup>,
    /// The oldest archived WAL segment, if any.
    pub archive_min: Option<String>,
    /// The newest archived WAL segment, if any.
    pub archive_max: Option<String>,
}

fn rfc3339<S: serde::Serializer>(
    time: &Timestamp,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(time)
}

/// The orchestration of pgBackRest for one PostgreSQL cluster.
#[derive(Debug, Clone)]
pub struct Pitr {
    config: PitrConfig,
}

impl Pitr {
    /// Orchestration by `config`; refuses a stanza name or a path that cannot be written
    /// unquoted into pgBackRest's configuration and PostgreSQL's `archive_command`.
    pub fn new(config: PitrConfig) -> Result<Pitr> {
        config.check()?;
        Ok(Pitr { config })
    }

    /// The configuration.
    pub fn config(&self) -> &PitrConfig {
        &self.config
    }

    /// The value for PostgreSQL's `archive_command` (with `archive_mode = on` and
    /// `wal_level = replica`): pushes each completed WAL segment into the repository.
    pub fn archive_command(&self) -> String {
        format!(
            "{} --config={} --stanza={} archive-push %p",
            self.config.pgbackrest.display(),
            self.config.config_file.display(),
            self.config.stanza
        )
    }

    /// The text of the private pgBackRest configuration.
    pub fn config_text(&self) -> String {
        let c = &self.config;
        format!(
            "[global]\n\
             repo1-path={repo}\n\
             repo1-retention-full=2\n\
             repo1-bundle=y\n\
             log-path={log}\n\
             lock-path={lock}\n\
             spool-path={spool}\n\
             start-fast=y\n\
             \n\
             [{stanza}]\n\
             pg1-path={data}\n\
             pg1-port={port}\n\
             pg1-socket-path={socket}\n",
            repo = c.repo_path.display(),
            log = c.log_dir().display(),
            lock = c.lock_dir().display(),
            spool = c.spool_dir().display(),
            stanza = c.stanza,
            data = c.pg_data.display(),
            port = c.pg_port,
            socket = c.pg_socket_dir.display(),
        )
    }

    /// Writes the private pgBackRest configuration (mode 0600) and creates the repository
    /// and pgBackRest's own directories (mode 0700), all owned by [`PitrConfig::run_as`]
    /// when set.
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza))]
    pub async fn write_config(&self) -> Result<()> {
        let c = &self.config;
        let dirs = [
            c.repo_path.clone(),
            c.work_dir.clone(),
            c.log_dir(),
            c.lock_dir(),
            c.spool_dir(),
        ];
        for dir in &dirs {
            create_private_dir(dir).await?;
        }
        if let Some(parent) = c.config_file.parent()
            && !parent.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|err| PitrError::io(format!("creating {}", parent.display()), err))?;
        }
        let path = c.config_file.clone();
        let text = self.config_text();
        tokio::task::spawn_blocking(move || write_private_file(&path, &text))
            .await
            .map_err(|err| PitrError::io("writing the pgBackRest configuration", err.into()))??;
        if let Some(user) = &c.run_as {
            let mut owned: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
            owned.push(&c.config_file);
            chown(user, &owned).await?;
        }
        tracing::info!(
            stanza = %c.stanza,
            config = %c.config_file.display(),
            repo = %c.repo_path.display(),
            "Wrote the pgBackRest configuration"
        );
        Ok(())
    }

    /// Creates the stanza in the repository (`pgbackrest stanza-create`).
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza))]
    pub async fn stanza_create(&self) -> Result<()> {
        self.run("stanza-create", &[]).await.map(drop)
    }

    /// Checks that the cluster archives into the repository (`pgbackrest check`): it
    /// switches the WAL segment and waits until the segment is archived.
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza))]
    pub async fn check(&self) -> Result<()> {
        self.run("check", &[]).await.map(drop)
    }

    /// Takes a backup of `backup_type` (`pgbackrest backup`).
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza, backup_type = %backup_type))]
    pub async fn backup(&self, backup_type: BackupType) -> Result<()> {
        let type_arg = format!("--type={backup_type}");
        self.run("backup", &[type_arg.as_str()]).await?;
        tracing::info!(stanza = %self.config.stanza, backup_type = %backup_type, "Took a pgBackRest backup");
        Ok(())
    }

    /// The repository's backups and archived WAL range for the stanza
    /// (`pgbackrest info --output=json`).
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza))]
    pub async fn info(&self) -> Result<PitrInfo> {
        let stdout = self.run("info", &["--output=json"]).await?;
        parse_info(&stdout, &self.config.stanza)
    }

    /// Closes the current WAL segment on `database` (`SELECT pg_switch_wal()`, which needs a
    /// superuser or a role granted the function) and waits until it is archived
    /// ([`check`](Self::check)), so that every commit so far can be recovered. `database`
    /// is the backed-up PostgreSQL cluster; on another backend the statement fails.
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza))]
    pub async fn switch_wal_and_check(&self, database: &Database) -> Result<()> {
        database
            .acquire()
            .await?
            .conn()
            .execute_raw("SELECT pg_switch_wal()")
            .await?;
        self.check().await
    }

    /// Restores the cluster as it was at `target` into the data directory `into`, which must
    /// be empty or missing (a missing one is created, mode 0700, owned by
    /// [`PitrConfig::run_as`]). Starting a cluster on `into` replays the archived WAL up to
    /// `target` and then promotes it. The backup restored is the latest that stopped at or
    /// before `target`. The WAL holding `target` must be archived first
    /// ([`switch_wal_and_check`](Self::switch_wal_and_check)).
    #[tracing::instrument(skip_all, fields(stanza = %self.config.stanza, target = %target, into = %into.display()))]
    pub async fn restore_to_time(&self, target: Timestamp, into: &Path) -> Result<()> {
        let into_text = into
            .to_str()
            .ok_or_else(|| PitrError::Config(format!("{} is not valid UTF-8", into.display())))?;
        match tokio::fs::read_dir(into).await {
            Ok(mut entries) => {
                let first = entries
                    .next_entry()
                    .await
                    .map_err(|err| PitrError::io(format!("reading {}", into.display()), err))?;
                if first.is_some() {
                    return Err(PitrError::TargetNotEmpty {
                        path: into.to_owned(),
                    });
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(into).await?;
                if let Some(user) = &self.config.run_as {
                    chown(user, &[into]).await?;
                }
            }
            Err(err) => {
                return Err(PitrError::io(format!("reading {}", into.display()), err));
            }
        }
        let info = self.info().await?;
        let set_arg = format!("--set={}", choose_backup(&info, target)?);
        let pg_path = format!("--pg1-path={into_text}");
        let target_arg = format!("--target={}", pgbackrest_time(target)?);
        self.run(
            "restore",
            &[
                pg_path.as_str(),
                set_arg.as_str(),
                "--type=time",
                target_arg.as_str(),
                "--target-action=promote",
            ],
        )
        .await?;
        tracing::info!(
            stanza = %self.config.stanza,
            target = %target,
            into = %into.display(),
            "Restored a cluster for point-in-time recovery"
        );
        Ok(())
    }

    /// Runs `pgbackrest --config=.. --stanza=.. <command> <args>` (as the configured user)
    /// and returns its standard output. Console logging is off and errors go to standard
    /// error, so the output is only the command's answer.
    async fn run(&self, command: &str, args: &[&str]) -> Result<String> {
        let c = &self.config;
        let mut cmd = match &c.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.arg("-u").arg(user).arg("--").arg(&c.pgbackrest);
                cmd
            }
            None => Command::new(&c.pgbackrest),
        };
        cmd.arg(format!("--config={}", c.config_file.display()))
            .arg(format!("--stanza={}", c.stanza))
            .arg("--log-level-console=off")
            .arg("--log-level-stderr=warn")
            .arg(command)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let name = format!("pgbackrest {command}");
        tracing::debug!(command = %name, stanza = %c.stanza, "Running pgBackRest");
        let output = cmd.output().await.map_err(|source| PitrError::Spawn {
            command: name.clone(),
            source,
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let shown = if stderr.trim().is_empty() {
                last_lines(&stdout)
            } else {
                last_lines(&stderr)
            };
            tracing::warn!(command = %name, stanza = %c.stanza, status = %output.status, "pgBackRest failed");
            return Err(PitrError::Command {
                command: name,
                status: output.status,
                stderr: shown,
            });
        }
        Ok(stdout)
    }
}

/// The label of the latest backup in `info` that stopped at or before `target`.
///
/// pgBackRest records a backup's stop time in whole seconds (truncated) and, left to choose,
/// wants one strictly before the target: a backup that stopped in the target's second would
/// be passed over although it is the one to restore. Chosen here with `<=`, such a backup
/// is taken; if it in fact stopped after `target` within that second, PostgreSQL refuses
/// the target as before the backup's consistent point when the restored cluster starts.
fn choose_backup(info: &PitrInfo, target: Timestamp) -> Result<&str> {
    info.backups
        .iter()
        .filter(|b| b.stop <= target)
        .max_by_key(|b| b.stop)
        .map(|b| b.label.as_str())
        .ok_or(PitrError::NoBackupBefore { target })
}

/// `target` as pgBackRest and PostgreSQL both read it: `YYYY-MM-DD HH:MM:SS.ffffff+00`,
/// truncated to PostgreSQL's microseconds so that rounding never moves it later.
fn pgbackrest_time(target: Timestamp) -> Result<String> {
    let micros = target
        .round(
            jiff::TimestampRound::new()
                .smallest(jiff::Unit::Microsecond)
                .mode(jiff::RoundMode::Trunc),
        )
        .map_err(|err| PitrError::Config(format!("the target time {target}: {err}")))?;
    Ok(micros.strftime("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
}

/// The last [`STDERR_LINES`] non-empty lines of `text`.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(STDERR_LINES);
    lines[start..].join("\n")
}

async fn create_private_dir(dir: &Path) -> Result<()> {
    let path = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
    })
    .await
    .map_err(|err| PitrError::io(format!("creating {}", dir.display()), err.into()))?
    .map_err(|err| PitrError::io(format!("creating {}", dir.display()), err))
}

fn write_private_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let what = || format!("writing {}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| PitrError::io(what(), err))?;
    // An existing file keeps its mode through `open`: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|err| PitrError::io(what(), err))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| PitrError::io(what(), err))
}

/// Gives `paths` to `user` and the user's login group (`chown user: paths..`).
async fn chown(user: &str, paths: &[&Path]) -> Result<()> {
    let output = Command::new("chown")
        .arg("--")
        .arg(format!("{user}:"))
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| PitrError::Spawn {
            command: "chown".to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(PitrError::Command {
            command: "chown".to_owned(),
            status: output.status,
            stderr: last_lines(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    Ok(())
}

/// The part of `pgbackrest info --output=json` read here.
#[derive(Deserialize)]
struct RawStanza {
    name: String,
    #[serde(default)]
    archive: Vec<RawArchive>,
    #[serde(default)]
    backup: Vec<RawBackup>,
}

#[derive(Deserialize)]
struct RawArchive {
    min: Option<String>,
    max: Option<String>,
}

#[derive(Deserialize)]
struct RawBackup {
    label: String,
    #[serde(rename = "type")]
    backup_type: String,
    timestamp: RawTimes,
}

#[derive(Deserialize)]
struct RawTimes {
    start: i64,
    stop: i64,
}

fn parse_info(json: &str, stanza: &str) -> Result<PitrInfo> {
    let stanzas: Vec<RawStanza> =
        serde_json::from_str(json).map_err(|err| PitrError::Info(err.to_string()))?;
    let Some(raw) = stanzas.into_iter().find(|s| s.name == stanza) else {
        return Err(PitrError::Info(format!("no stanza {stanza} in the answer")));
    };
    let time = |seconds: i64| {
        Timestamp::from_second(seconds)
            .map_err(|err| PitrError::Info(format!("a backup time of {seconds}: {err}")))
    };
    let mut backups = Vec::with_capacity(raw.backup.len());
    for b in raw.backup {
        let backup_type = BackupType::parse(&b.backup_type).ok_or_else(|| {
            PitrError::Info(format!(
                "backup {} has an unknown type {:?}",
                b.label, b.backup_type
            ))
        })?;
        backups.push(PitrBackup {
            start: time(b.timestamp.start)?,
            stop: time(b.timestamp.stop)?,
            label: b.label,
            backup_type,
        });
    }
    // One archive entry per database history; the range spans them all, and segment names
    // (timeline, log, segment in fixed-width hex) order as text.
    let archive_min = raw.archive.iter().filter_map(|a| a.min.clone()).min();
    let archive_max = raw.archive.iter().filter_map(|a| a.max.clone()).max();
    Ok(PitrInfo {
        backups,
        archive_min,
        archive_max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_read_from_pgbackrest_json() {
        let json = r#"[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1",
            "max":"000000010000000000000005","min":"000000010000000000000001"}],
            "backup":[{"label":"20261207-194000F","type":"full","error":false,
            "timestamp":{"start":1796672400,"stop":1796672405}},
            {"label":"20261207-194000F_20261207-194100I","type":"incr",
            "timestamp":{"start":1796672460,"stop":1796672462}}],
            "name":"demo","status":{"code":0,"message":"ok"}}]"#;
        let info = parse_info(json, "demo").expect("info");
        assert_eq!(info.backups.len(), 2);
        assert_eq!(info.backups[0].backup_type, BackupType::Full);
        assert_eq!(info.backups[1].backup_type, BackupType::Incr);
        assert_eq!(info.backups[0].start.as_second(), 1_796_672_400);
        assert_eq!(
            info.archive_min.as_deref(),
            Some("000000010000000000000001")
        );
        assert_eq!(
            info.archive_max.as_deref(),
            Some("000000010000000000000005")
        );
        assert!(matches!(parse_info(json, "other"), Err(PitrError::Info(_))));
    }

    #[test]
    fn the_latest_backup_stopped_by_the_target_is_chosen() {
        let at = |text: &str| text.parse::<Timestamp>().expect("timestamp");
        let backup = |label: &str, stop: &str| PitrBackup {
            label: label.to_owned(),
            backup_type: BackupType::Full,
            start: at(stop),
            stop: at(stop),
        };
        let info = PitrInfo {
            backups: vec![
                backup("a", "2026-12-07T19:00:00Z"),
                backup("b", "2026-12-07T19:10:00Z"),
                backup("c", "2026-12-07T19:20:00Z"),
            ],
            archive_min: None,
            archive_max: None,
        };
        let choose = |target: &str| choose_backup(&info, at(target)).map(str::to_owned);
        assert_eq!(choose("2026-12-07T19:15:00Z").expect("b"), "b");
        // Stop times are whole seconds: the target's own second counts as before it.
        assert_eq!(choose("2026-12-07T19:10:00.5Z").expect("b"), "b");
        assert_eq!(choose("2026-12-07T19:10:00Z").expect("b"), "b");
        assert!(matches!(
            choose("2026-12-07T18:59:59Z"),
            Err(PitrError::NoBackupBefore { .. })
        ));
    }

    #[test]
    fn target_time_is_truncated_to_microseconds_in_utc() {
        let t: Timestamp = "2026-12-07T19:40:35.1234569Z".parse().expect("timestamp");
        assert_eq!(
            pgbackrest_time(t).expect("format"),
            "2026-12-07 19:40:35.123456+00"
        );
    }

    #[test]
    fn unquotable_paths_and_stanzas_are_refused() {
        let config = |stanza: &str, data: &str| {
            PitrConfig::new(stanza, "/etc/pgbackrest/x.conf", "/r", "/w", data, 5432)
        };
        assert!(Pitr::new(config("main", "/var/lib/postgresql/15/main")).is_ok());
        assert!(Pitr::new(config("ma in", "/d")).is_err());
        assert!(Pitr::new(config("main", "/d with space")).is_err());
        assert!(Pitr::new(config("main", "/d'quote")).is_err());
    }
}
