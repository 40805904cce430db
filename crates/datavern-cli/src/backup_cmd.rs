//! `datavern backup …`: snapshots of the data database and the key store in a restic
//! repository, restore, verification, retention tiers and legal holds (`docs/backup.md`).
//!
//! The repository is `--repo` or `backup.repository` (a directory, or `s3://bucket/prefix`
//! with `[backup.s3]`); its password is wrapped by the KEK in `backup.password_file`. Every
//! operation is audited in the live store's log. Exit codes: 0 done, 1 refused (a rule: the
//! residency of the repository, a non-empty restore target, a held snapshot, a wrong
//! password, a damaged repository), 2 failed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use datavern_backup::{
    BackupError, Backups, KeepPolicy, Placement, ProgressMode, Prune, ReadData, RepositoryConfig,
    RepositorySpec, S3Settings, SnapshotInfo, SnapshotKind,
};
use datavern_core::access::PrincipalId;
use datavern_core::residency::Location;
use datavern_sql::{DatabaseConfig, StoreConfig};
use datavern_store::Store;
use serde::Serialize;
use std::sync::Arc;

use crate::governed::{Governed, Missing};
use crate::serve_cmd::{LogFormat, init_logging};
use crate::settings::{Overrides, Settings, SettingsArgs};
use crate::typed::{from_str, typed};

/// `datavern backup …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BackupCommand {
    /// Create the repository and its password, wrapped by the KEK.
    Init(Common),
    /// Take a snapshot of the data database (or, with --keys, of the key store).
    Create(CreateArgs),
    /// List the snapshots, oldest first.
    List(Common),
    /// Check the repository (with --read-data, every byte of it).
    Verify(VerifyArgs),
    /// Restore a snapshot into an empty database.
    Restore(RestoreArgs),
    /// Forget the snapshots no retention tier keeps (never a held one), and prune.
    Forget(ForgetArgs),
    /// Place or release a legal hold on a snapshot.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Restore the latest data snapshot into a scratch database, compare it with the live
    /// one, verify its audit chain, report the recovery time, and empty the scratch again.
    Drill(DrillArgs),
    /// Print the repository password for stock restic (`restic --password-command`).
    Password(Common),
    /// PostgreSQL point-in-time recovery through pgBackRest (`[backup.pitr]`).
    #[command(subcommand)]
    Pitr(PitrCommand),
}

/// `datavern backup pitr …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PitrCommand {
    /// Write pgBackRest's configuration, create the stanza, check WAL archiving, and print
    /// the archive_command the cluster's postgresql.conf must have.
    Setup(PitrArgs),
    /// Take a physical backup (full, diff or incr).
    Backup(PitrBackupArgs),
    /// List the physical backups and the archived WAL range.
    Info(PitrArgs),
    /// Restore the cluster as it was at a time into an empty data directory; starting a
    /// cluster there replays WAL to that time and promotes it.
    Restore(PitrRestoreArgs),
}

/// Arguments every `backup pitr` command shares.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PitrArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `datavern backup pitr backup`.
#[derive(Debug, clap::Args)]
pub(crate) struct PitrBackupArgs {
    #[command(flatten)]
    common: PitrArgs,
    /// full, diff or incr.
    #[arg(long = "type", value_name = "TYPE", default_value = "incr", value_parser = ["full", "diff", "incr"])]
    backup_type: String,
}

/// Arguments of `datavern backup pitr restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct PitrRestoreArgs {
    #[command(flatten)]
    common: PitrArgs,
    /// The moment to restore to (RFC 3339, e.g. 2026-12-07T14:30:00Z).
    #[arg(long, value_name = "TIME")]
    to: jiff::Timestamp,
    /// The empty (or missing) data directory of the cluster to restore into.
    #[arg(long, value_name = "DIR")]
    into: PathBuf,
}

/// Arguments of `datavern backup drill`.
#[derive(Debug, clap::Args)]
pub(crate) struct DrillArgs {
    #[command(flatten)]
    common: Common,
    /// The scratch database (empty; its tables are dropped afterwards): a URL, or a SQLite
    /// file path [default: a temporary SQLite file, when the live store is on SQLite].
    #[arg(long, value_name = "DATABASE")]
    scratch: Option<String>,
}

/// `datavern backup hold …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum HoldCommand {
    /// Hold a snapshot: it is never forgotten or pruned until released.
    Place(HoldPlaceArgs),
    /// Release a snapshot's hold.
    Release(HoldReleaseArgs),
}

/// Arguments every backup command shares.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The repository: a directory, or s3://bucket/prefix [default: backup.repository].
    #[arg(long, value_name = "REPO")]
    repo: Option<String>,
    /// Where the repository is, for the residency check: no, eea, adequate or third
    /// [default: backup.location].
    #[arg(long, value_parser = from_str::<Location>(), conflicts_with = "target")]
    location: Option<Location>,
    /// The catalog's storage target (kind backup) the repository is [default: backup.target].
    #[arg(long)]
    target: Option<String>,
    /// Who runs it, as the audit log names them (e.g. drift@bergen) [default: datavern-backup].
    #[arg(long, value_name = "PRINCIPAL", value_parser = typed(PrincipalId::parse))]
    by: Option<PrincipalId>,
    /// Print the result as JSON (no progress bars).
    #[arg(long)]
    json: bool,
}

/// Arguments of `datavern backup create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    common: Common,
    /// Back up the key store instead of the data (kept apart, with a short retention).
    #[arg(long)]
    keys: bool,
}

/// Arguments of `datavern backup verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// Read and check every pack, not only the structure.
    #[arg(long)]
    read_data: bool,
}

/// Arguments of `datavern backup restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    #[command(flatten)]
    common: Common,
    /// The snapshot: its id (a unique prefix will do) or `latest`.
    snapshot: String,
    /// The empty database to restore into: a postgres://, mysql:// or sqlite:// URL, or the
    /// path of a new SQLite file.
    #[arg(long, value_name = "DATABASE")]
    into: String,
    /// Restore a key-store snapshot (the keys destroyed since are destroyed again).
    #[arg(long)]
    keys: bool,
}

/// Arguments of `datavern backup forget`.
#[derive(Debug, clap::Args)]
pub(crate) struct ForgetArgs {
    #[command(flatten)]
    common: Common,
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N")]
    keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last N days.
    #[arg(long, value_name = "N")]
    keep_daily: Option<u32>,
    /// … of each of the last N weeks.
    #[arg(long, value_name = "N")]
    keep_weekly: Option<u32>,
    /// … of each of the last N months.
    #[arg(long, value_name = "N")]
    keep_monthly: Option<u32>,
    /// … of each of the last N years.
    #[arg(long, value_name = "N")]
    keep_yearly: Option<u32>,
    /// Also remove the data only the forgotten snapshots used.
    #[arg(long)]
    prune: bool,
    /// Apply the tiers to the key store's snapshots instead of the data's.
    #[arg(long)]
    keys: bool,
}

/// Arguments of `datavern backup hold place`.
#[derive(Debug, clap::Args)]
pub(crate) struct HoldPlaceArgs {
    #[command(flatten)]
    common: Common,
    /// The snapshot's id (a unique prefix will do).
    snapshot: String,
    /// Why: a case reference or provision.
    #[arg(long)]
    reason: String,
}

/// Arguments of `datavern backup hold release`.
#[derive(Debug, clap::Args)]
pub(crate) struct HoldReleaseArgs {
    #[command(flatten)]
    common: Common,
    /// The snapshot's id (a unique prefix will do).
    snapshot: String,
}

pub(crate) async fn run(command: BackupCommand) -> anyhow::Result<ExitCode> {
    init_logging(LogFormat::Text);
    let common = match &command {
        BackupCommand::Pitr(command) => return pitr(command).await,
        BackupCommand::Init(c) | BackupCommand::List(c) | BackupCommand::Password(c) => c,
        BackupCommand::Create(a) => &a.common,
        BackupCommand::Verify(a) => &a.common,
        BackupCommand::Restore(a) => &a.common,
        BackupCommand::Forget(a) => &a.common,
        BackupCommand::Drill(a) => &a.common,
        BackupCommand::Hold(HoldCommand::Place(a)) => &a.common,
        BackupCommand::Hold(HoldCommand::Release(a)) => &a.common,
    }
    .clone();
    let settings = Settings::load(&common.settings, &Overrides { listen: None })?;
    let (result, closed) = match Governed::open(&settings, Missing::Refuse).await {
        Ok(governed) => {
            let backups = service(&settings, &governed, &common)?;
            let result = execute(&backups, command, common.json).await;
            (result, governed.close().await)
        }
        // The database a snapshot replaces is often the one that is gone: a restore goes on
        // with what remains (the live key store for data, the live data for keys).
        Err(err) => match command {
            BackupCommand::Restore(args) => {
                restore_without_live(&settings, &common, args, &err).await?
            }
            _ => return Err(err),
        },
    };
    let code = match result {
        Ok(code) => code,
        Err(err) => match err
            .downcast_ref::<BackupError>()
            .and_then(BackupError::refusal)
        {
            Some(refusal) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("refused ({}): {err:#}", refusal.code());
                }
                ExitCode::from(1)
            }
            None => return Err(err),
        },
    };
    closed?;
    Ok(code)
}

/// A restore when the live store cannot be opened whole: a data snapshot is restored with
/// the live key store alone (and the restore audited in the restored database only), a
/// key-store snapshot with the live data alone (whose audit log names the erasures to
/// repeat). The KEK must exist: a new one could unwrap nothing.
async fn restore_without_live(
    settings: &Settings,
    common: &Common,
    args: RestoreArgs,
    open_error: &anyhow::Error,
) -> anyhow::Result<(anyhow::Result<ExitCode>, anyhow::Result<()>)> {
    tracing::warn!(
        error = %format!("{open_error:#}"),
        "The live store cannot be opened; restoring with what remains of it"
    );
    if !settings.kek_file().exists() && settings.database.url.is_none() {
        anyhow::bail!(
            "no key-encryption key at {}: a restore needs the KEK that wrapped the repository \
             password and the subject keys",
            settings.kek_file().display()
        );
    }
    let live = settings.store_config()?;
    let into = target_database(&args.into)?;
    let config = if args.keys {
        StoreConfig::new(live.data, into)
    } else {
        StoreConfig::new(into, live.keys)
    };
    let store = Store::connect(&config).await.with_context(|| {
        if args.keys {
            "cannot reach the live data database, whose audit log names the erasures to repeat"
        } else {
            "cannot reach the live key store, which decides what the restored data may read"
        }
    })?;
    let catalog = Arc::new(settings.catalog()?);
    let kek: Arc<dyn datavern_crypto::KekProvider> =
        Arc::new(crate::serve_cmd::kek(settings, settings.mode()).await?);
    let backups = service_on(settings, store.clone(), catalog, kek, common)?;
    let result = execute(&backups, BackupCommand::Restore(args), common.json).await;
    let sealed = store.audit().shutdown().await;
    store.close().await;
    Ok((result, sealed.map(|_| ()).map_err(anyhow::Error::from)))
}

async fn execute(
    backups: &Backups,
    command: BackupCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        BackupCommand::Init(_) => {
            backups.init().await?;
            print(
                json,
                &serde_json::json!({"initialized": backups.config().spec.display()}),
                || {
                    format!(
                        "Initialized {}; its password is wrapped by the KEK in {} (keep both)",
                        backups.config().spec.display(),
                        backups.config().password_file.display()
                    )
                },
            )
        }
        BackupCommand::Create(args) => {
            let kind = if args.keys {
                SnapshotKind::Keys
            } else {
                SnapshotKind::Data
            };
            let info = backups.create(kind).await?;
            print(json, &info, || {
                format!(
                    "Snapshot {} ({}): {} bytes, {} added to the repository",
                    info.short_id,
                    kind.as_str(),
                    info.size_bytes,
                    info.added_bytes
                )
            })
        }
        BackupCommand::List(_) => {
            let snapshots = backups.list().await?;
            print(json, &snapshots, || table(&snapshots))
        }
        BackupCommand::Verify(args) => {
            let read = if args.read_data {
                ReadData::All
            } else {
                ReadData::StructureOnly
            };
            let report = backups.verify(read).await?;
            print(json, &report, || {
                format!(
                    "Repository {} is intact: {} snapshots, {}",
                    report.repository,
                    report.snapshots,
                    if report.read_data {
                        "every pack read and checked"
                    } else {
                        "structure checked (--read-data reads every pack)"
                    }
                )
            })
        }
        BackupCommand::Restore(args) => {
            let kind = if args.keys {
                SnapshotKind::Keys
            } else {
                SnapshotKind::Data
            };
            let into = target_database(&args.into)?;
            let report = backups.restore(&args.snapshot, kind, &into).await?;
            print(json, &report, || {
                format!(
                    "Restored snapshot {} into {}: {} tables, {} rows in {:.1} s; {} subjects \
                     erased since stay unreadable",
                    &report.snapshot[..8.min(report.snapshot.len())],
                    report.target,
                    report.tables,
                    report.rows,
                    report.seconds,
                    report.shredded_subjects
                )
            })
        }
        BackupCommand::Forget(args) => {
            let policy = KeepPolicy {
                last: args.keep_last,
                daily: args.keep_daily,
                weekly: args.keep_weekly,
                monthly: args.keep_monthly,
                yearly: args.keep_yearly,
            };
            let prune = if args.prune { Prune::Yes } else { Prune::No };
            let kind = if args.keys {
                SnapshotKind::Keys
            } else {
                SnapshotKind::Data
            };
            let report = backups.forget(kind, policy, prune).await?;
            print(json, &report, || {
                format!(
                    "Kept {}, forgot {}{}",
                    report.kept.len(),
                    report.forgotten.len(),
                    if report.pruned { ", pruned" } else { "" }
                )
            })
        }
        BackupCommand::Hold(HoldCommand::Place(args)) => {
            let info = backups.hold(&args.snapshot, &args.reason).await?;
            print(json, &info, || {
                format!("Snapshot held; it is now {}", info.short_id)
            })
        }
        BackupCommand::Hold(HoldCommand::Release(args)) => {
            let info = backups.release(&args.snapshot).await?;
            print(json, &info, || {
                format!("Hold released; the snapshot is now {}", info.short_id)
            })
        }
        BackupCommand::Drill(args) => {
            let temporary = tempfile::tempdir().context("cannot create a scratch directory")?;
            let scratch = match &args.scratch {
                Some(scratch) => target_database(scratch)?,
                None if backups.store_backend().dialect().is_embedded() => {
                    DatabaseConfig::sqlite_file(temporary.path().join("drill.db"))
                }
                None => anyhow::bail!(
                    "give --scratch: an empty database on the live store's backend to restore \
                     into"
                ),
            };
            let report = backups.drill(&scratch).await?;
            print(json, &report, || {
                format!(
                    "Drill of snapshot {}: restored {} rows in {:.1} s; sampled {} records: {} \
                     equal to live, {} changed since, {} unreadable (erased since), {} \
                     different; audit chain {}; {}",
                    &report.restore.snapshot[..8.min(report.restore.snapshot.len())],
                    report.restore.rows,
                    report.seconds,
                    report.sampled,
                    report.matched,
                    report.changed_since,
                    report.unreadable,
                    report.mismatched,
                    if report.audit_chain_intact {
                        "intact"
                    } else {
                        "BROKEN"
                    },
                    if report.passed() { "passed" } else { "FAILED" }
                )
            })
            .map(|code| {
                if report.passed() {
                    code
                } else {
                    ExitCode::from(1)
                }
            })
        }
        BackupCommand::Pitr(command) => pitr(&command).await,
        BackupCommand::Password(_) => {
            let password = backups.password().await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", password.expose())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `datavern backup pitr …`: pgBackRest, orchestrated; the store is not opened (a cluster
/// being restored is usually down).
async fn pitr(command: &PitrCommand) -> anyhow::Result<ExitCode> {
    use datavern_backup::pitr::{BackupType, Pitr, PitrConfig};
    let common = match &command {
        PitrCommand::Setup(a) | PitrCommand::Info(a) => a,
        PitrCommand::Backup(a) => &a.common,
        PitrCommand::Restore(a) => &a.common,
    };
    let settings = Settings::load(&common.settings, &Overrides { listen: None })?;
    let Some(p) = &settings.backup.pitr else {
        anyhow::bail!(
            "point-in-time recovery is not configured: set [backup.pitr] pg_data, repo_path \
             and work_dir (docs/backup.md)"
        );
    };
    let work_dir = p.work_dir.relative();
    let mut config = PitrConfig::new(
        &p.stanza,
        work_dir.join("pgbackrest.conf"),
        p.repo_path.relative(),
        &work_dir,
        p.pg_data.relative(),
        p.pg_port,
    );
    if let Some(dir) = &p.socket_dir {
        config = config.with_socket_dir(dir.relative());
    }
    if let Some(user) = &p.run_as {
        config = config.with_run_as(user);
    }
    let pitr = Pitr::new(config)?;
    let json = common.json;
    match command {
        PitrCommand::Setup(_) => {
            pitr.write_config().await?;
            pitr.stanza_create().await?;
            let archive_command = pitr.archive_command();
            let checked = pitr.check().await;
            print(
                json,
                &serde_json::json!({"archive_command": archive_command, "archiving": checked.is_ok()}),
                || {
                    format!(
                        "Stanza {} created. Set in postgresql.conf:\n  archive_mode = on\n  \
                     archive_command = '{archive_command}'\nArchiving {}",
                        pitr.config().stanza,
                        match &checked {
                            Ok(()) => "works".to_owned(),
                            Err(err) => format!("does not work yet: {err}"),
                        }
                    )
                },
            )
        }
        PitrCommand::Backup(args) => {
            let backup_type =
                BackupType::parse(&args.backup_type).context("--type is full, diff or incr")?;
            pitr.backup(backup_type).await?;
            let info = pitr.info().await?;
            print(json, &info, || {
                format!(
                    "{} backup taken; {} backups, WAL archived {} … {}",
                    backup_type.as_str(),
                    info.backups.len(),
                    info.archive_min.as_deref().unwrap_or("-"),
                    info.archive_max.as_deref().unwrap_or("-")
                )
            })
        }
        PitrCommand::Info(_) => {
            let info = pitr.info().await?;
            print(json, &info, || {
                let mut lines: Vec<String> = info
                    .backups
                    .iter()
                    .map(|b| {
                        format!(
                            "{} {:<4} {} … {}",
                            b.label,
                            b.backup_type.as_str(),
                            b.start,
                            b.stop
                        )
                    })
                    .collect();
                lines.push(format!(
                    "WAL archived {} … {}",
                    info.archive_min.as_deref().unwrap_or("-"),
                    info.archive_max.as_deref().unwrap_or("-")
                ));
                lines.join("\n")
            })
        }
        PitrCommand::Restore(args) => {
            pitr.restore_to_time(args.to, &args.into).await?;
            print(
                json,
                &serde_json::json!({"restored_to": args.to.to_string(), "data_dir": args.into}),
                || {
                    format!(
                        "Restored into {}; start a cluster on it to replay WAL to {} and promote",
                        args.into.display(),
                        args.to
                    )
                },
            )
        }
    }
}

/// The scheduled backups of `serve`, when `backup.interval` or `backup.verify_interval` is
/// set: started, or `None` (the default: off).
pub(crate) fn scheduled(
    settings: &Settings,
    governance: &datavern_governance::Governance,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let backup = &settings.backup;
    if backup.interval.is_none() && backup.verify_interval.is_none() {
        return Ok(None);
    }
    let config = repository_config(settings, None, None, None)
        .context("backup.interval is set, but the repository is not")?;
    let (catalog_text, _) = settings.catalog_text()?;
    let backups = Backups::new(
        governance.store().clone(),
        governance.catalog().clone(),
        catalog_text,
        governance.kek().clone(),
        config,
    )
    .with_principal("datavern-serve");
    Ok(Some(tokio::spawn(run_scheduled(
        backups,
        backup.interval,
        backup.verify_interval,
    ))))
}

/// Takes a data and a key-store snapshot every `interval` and checks the repository's
/// structure every `verify_interval`, the first time one interval after start; a run that
/// takes longer delays the next instead of overlapping it. Failures are logged and counted
/// (`datavern_backup_failures_total`) and retried at the next interval.
async fn run_scheduled(backups: Backups, interval: Option<Duration>, verify: Option<Duration>) {
    use datavern_server::metrics::{
        BACKUP_ADDED_BYTES, BACKUP_DURATION_SECONDS, BACKUP_FAILURES_TOTAL,
        BACKUP_LAST_SUCCESS_SECONDS, BACKUP_SIZE_BYTES,
    };
    tracing::info!(interval = ?interval, verify = ?verify, "Backups scheduled");
    let ticker = |every: Option<Duration>| {
        every.map(|every| {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        })
    };
    let mut backup_ticks = ticker(interval);
    let mut verify_ticks = ticker(verify);
    loop {
        let backup_due = async {
            match &mut backup_ticks {
                Some(ticks) => ticks.tick().await,
                None => std::future::pending().await,
            }
        };
        let verify_due = async {
            match &mut verify_ticks {
                Some(ticks) => ticks.tick().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = backup_due => {
                for kind in [SnapshotKind::Data, SnapshotKind::Keys] {
                    let started = std::time::Instant::now();
                    match backups.create(kind).await {
                        Ok(info) => {
                            let labels = [("kind", kind.as_str())];
                            metrics::gauge!(BACKUP_LAST_SUCCESS_SECONDS, &labels)
                                .set(backups.now_unix_seconds());
                            metrics::gauge!(BACKUP_DURATION_SECONDS, &labels)
                                .set(started.elapsed().as_secs_f64());
                            metrics::gauge!(BACKUP_SIZE_BYTES, &labels).set(info.size_bytes as f64);
                            metrics::gauge!(BACKUP_ADDED_BYTES, &labels).set(info.added_bytes as f64);
                        }
                        Err(err) => {
                            metrics::counter!(BACKUP_FAILURES_TOTAL, "operation" => "create").increment(1);
                            tracing::error!(
                                kind = kind.as_str(),
                                error = %datavern_sql::report(&err),
                                "Scheduled backup failed; retried at the next interval"
                            );
                        }
                    }
                }
                count_snapshots(&backups).await;
            }
            _ = verify_due => {
                match backups.verify(ReadData::StructureOnly).await {
                    Ok(_) => metrics::gauge!(BACKUP_LAST_SUCCESS_SECONDS, "kind" => "verify")
                        .set(backups.now_unix_seconds()),
                    Err(err) => {
                        metrics::counter!(BACKUP_FAILURES_TOTAL, "operation" => "verify").increment(1);
                        tracing::error!(
                            error = %datavern_sql::report(&err),
                            "Scheduled repository check failed"
                        );
                    }
                }
            }
        }
    }
}

/// Sets `datavern_backup_snapshots` from the repository's list.
async fn count_snapshots(backups: &Backups) {
    let Ok(snapshots) = backups.list().await else {
        return;
    };
    for kind in [SnapshotKind::Data, SnapshotKind::Keys] {
        for held in [true, false] {
            let n = snapshots
                .iter()
                .filter(|s| s.kind == Some(kind) && s.held == held)
                .count();
            metrics::gauge!(
                datavern_server::metrics::BACKUP_SNAPSHOTS,
                "kind" => kind.as_str(),
                "held" => if held { "true" } else { "false" }
            )
            .set(n as f64);
        }
    }
}

/// The backup service of the opened store, on the repository the flags and settings name.
pub(crate) fn service(
    settings: &Settings,
    governed: &Governed,
    common: &Common,
) -> anyhow::Result<Backups> {
    service_on(
        settings,
        governed.store().clone(),
        governed.catalog().clone(),
        governed.governance.kek().clone(),
        common,
    )
}

/// The backup service of `store`, on the repository the flags and settings name, drawing
/// progress unless `--json`, auditing under `--by`.
fn service_on(
    settings: &Settings,
    store: Store,
    catalog: Arc<datavern_core::catalog::Catalog>,
    kek: Arc<dyn datavern_crypto::KekProvider>,
    common: &Common,
) -> anyhow::Result<Backups> {
    let config = repository_config(
        settings,
        common.repo.as_deref(),
        common.location,
        common.target.as_deref(),
    )?;
    let (catalog_text, _) = settings.catalog_text()?;
    let mut backups =
        Backups::new(store, catalog, catalog_text, kek, config).with_progress(if common.json {
            ProgressMode::Hidden
        } else {
            ProgressMode::Bars
        });
    if let Some(by) = &common.by {
        backups = backups.with_principal(by.as_str());
    }
    Ok(backups)
}

/// The repository from the flags, else `[backup]`.
pub(crate) fn repository_config(
    settings: &Settings,
    repo: Option<&str>,
    location: Option<Location>,
    target: Option<&str>,
) -> anyhow::Result<RepositoryConfig> {
    let backup = &settings.backup;
    let repository = repo
        .map(str::to_owned)
        .or_else(|| backup.repository.clone())
        .context(
            "no backup repository: give --repo DIR|s3://bucket/prefix or set backup.repository",
        )?;
    let s3 = backup.s3.as_ref().map(|s3| S3Settings {
        endpoint: s3.endpoint.clone(),
        region: s3.region.clone(),
        access_key_id: s3.access_key_id.clone(),
        secret_access_key: s3.secret_access_key.clone().into(),
    });
    let spec = RepositorySpec::parse(&repository, s3)?;
    let placement = match (location, target) {
        (Some(location), _) => Some(Placement::Location(location)),
        (None, Some(target)) => Some(Placement::Target(target.to_owned())),
        (None, None) => match (&backup.target, &backup.location) {
            (Some(target), _) => Some(Placement::Target(target.clone())),
            (None, Some(location)) => Some(Placement::Location(
                location
                    .parse()
                    .map_err(|err| anyhow::anyhow!("backup.location: {err}"))?,
            )),
            (None, None) => None,
        },
    };
    Ok(RepositoryConfig {
        spec,
        password_file: settings.backup_password_file(),
        name: backup.name.clone().unwrap_or_else(|| "datavern".to_owned()),
        placement,
        cache_dir: backup.cache_dir.as_ref().map(|d| d.relative()),
    })
}

/// A database URL, or the path of a SQLite file.
fn target_database(into: &str) -> anyhow::Result<DatabaseConfig> {
    if into.contains("://") {
        return Ok(DatabaseConfig::new(into)?);
    }
    Ok(DatabaseConfig::sqlite_file(PathBuf::from(into)))
}

fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", text())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn table(snapshots: &[SnapshotInfo]) -> String {
    let mut lines = vec![format!(
        "{:<10} {:<27} {:<5} {:<9} {:>14} {:>14}  hold",
        "id", "time", "kind", "backend", "size", "added"
    )];
    for s in snapshots {
        lines.push(format!(
            "{:<10} {:<27} {:<5} {:<9} {:>14} {:>14}  {}",
            s.short_id,
            s.time,
            s.kind.map_or("?", SnapshotKind::as_str),
            s.backend.as_deref().unwrap_or("?"),
            s.size_bytes,
            s.added_bytes,
            s.hold_reason
                .as_deref()
                .unwrap_or(if s.held { "held" } else { "" })
        ));
    }
    lines.join("\n")
}
