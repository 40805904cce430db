//! `datavern audit verify` and `datavern audit export`: check the audit log's hash chain and
//! signed checkpoints, in the database or offline in an export file.
//!
//! Both find the database the way `serve` does (`--data-dir`, `--config`, `DATAVERN_`
//! environment). The verifier key is the one given, or else the public half of the signing
//! key the settings name (`keys.signing_key_file`, default `DATA_DIR/audit-signing.key`).
//! Exit codes: 0 intact, 1 broken (the first bad position and why on stdout), 2 usage or I/O.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use datavern_crypto::audit::{CheckpointSigner, CheckpointVerifier};
use datavern_sql::{Database, DatabaseRole};
use datavern_store::audit::{AuditConfig, AuditLog, VerifyReport, verify_export_file};

use crate::settings::{Overrides, Settings, SettingsArgs};

/// `datavern audit …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify the audit log: every sealed entry against the hash chain, every checkpoint's
    /// signature, and the recorded head. Exit 0 intact, 1 broken, 2 usage or I/O error.
    Verify(VerifyArgs),
    /// Write the sealed audit log, its checkpoints and head to a file that `audit verify
    /// --file` checks offline with only the public verifier key.
    Export(ExportArgs),
}

/// Arguments of `datavern audit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Verify this export file offline instead of the database.
    #[arg(long, value_name = "EXPORT")]
    file: Option<PathBuf>,
    #[command(flatten)]
    key: VerifierKeyArgs,
    /// A signed checkpoint kept outside the database (a file holding one signed note), to
    /// detect entries deleted or rewritten after the last checkpoint stored; repeatable.
    #[arg(long, value_name = "NOTE_FILE")]
    checkpoint: Vec<PathBuf>,
}

/// Arguments of `datavern audit export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The export file to write; refused if it exists.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    key: VerifierKeyArgs,
}

/// Where the public verifier key comes from.
#[derive(Debug, Clone, Default, clap::Args)]
struct VerifierKeyArgs {
    /// The public verifier key, `<name>+<key id>+<base64 key>` [default: derived from the
    /// signing key file the settings name].
    #[arg(long, value_name = "KEY", conflicts_with = "verifier_key_file")]
    verifier_key: Option<String>,
    /// A file holding the public verifier key (its first line that is not a `#` comment).
    #[arg(long, value_name = "FILE")]
    verifier_key_file: Option<PathBuf>,
}

pub(crate) async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(args).await,
        AuditCommand::Export(args) => export(args).await,
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let verifier = verifier(&args.key, &args.settings).await?;
    if !args.checkpoint.is_empty() && verifier.is_none() {
        bail!("--checkpoint needs a verifier key (--verifier-key or a signing key file)");
    }
    let report = match &args.file {
        Some(path) => verify_export_file(path, verifier.as_ref())
            .with_context(|| format!("cannot verify {}", path.display()))?,
        None => {
            let log = open_log(&args.settings).await?;
            let report = match (&verifier, args.checkpoint.as_slice()) {
                (Some(verifier), kept) if !kept.is_empty() => {
                    let notes = kept
                        .iter()
                        .map(|path| {
                            std::fs::read_to_string(path)
                                .with_context(|| format!("cannot read {}", path.display()))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    log.verify_with_checkpoints(verifier, &notes).await
                }
                _ => log.verify(verifier.as_ref()).await,
            };
            log.database().close().await;
            report.context("cannot read the audit log")?
        }
    };
    print_report(&report, verifier.is_some())?;
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let verifier = verifier(&args.key, &args.settings).await?;
    let log = open_log(&args.settings).await?;
    let key = verifier.as_ref().map(ToString::to_string);
    let summary = log.export_to_file(&args.out, key.as_deref()).await;
    log.database().close().await;
    let summary = summary.with_context(|| format!("cannot export to {}", args.out.display()))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "exported {} sealed entries and {} checkpoints to {} (head: size {}, {})",
        summary.entries,
        summary.checkpoints,
        args.out.display(),
        summary.head.size,
        summary.head.hash
    )?;
    if let Some(key) = key {
        writeln!(
            stdout,
            "verify it with: datavern audit verify --file {} --verifier-key {key}",
            args.out.display()
        )?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The data database's audit log, found as `serve` finds it; never created or migrated here.
async fn open_log(args: &SettingsArgs) -> anyhow::Result<AuditLog> {
    let settings = Settings::load(args, &Overrides::default())?;
    let config = settings.store_config()?;
    if config.data.backend().dialect().is_embedded() {
        let path = settings.data_dir().join(datavern_sql::EMBEDDED_DATA_FILE);
        if settings.database.url.is_none() && !path.is_file() {
            bail!(
                "no datavern database at {} (`datavern serve` or `datavern init` makes one; \
                 --data-dir or --config to point elsewhere)",
                path.display()
            );
        }
    }
    let db = Database::connect(&config.data, DatabaseRole::Data)
        .await
        .with_context(|| {
            format!(
                "cannot open the data database {}",
                config.data.redacted_url()
            )
        })?;
    Ok(AuditLog::new(db, AuditConfig::manual()))
}

/// The verifier key given, else the public half of the signing key the settings name (if
/// that file exists), else none.
async fn verifier(
    key: &VerifierKeyArgs,
    settings: &SettingsArgs,
) -> anyhow::Result<Option<CheckpointVerifier>> {
    if let Some(text) = &key.verifier_key {
        return CheckpointVerifier::new(text.trim())
            .map(Some)
            .context("--verifier-key");
    }
    if let Some(path) = &key.verifier_key_file {
        return read_verifier_key(path).map(Some);
    }
    let settings = Settings::load(settings, &Overrides::default())?;
    let path = settings.signing_key_file();
    if !path.exists() {
        return Ok(None);
    }
    let signer = CheckpointSigner::open(&path)
        .await
        .with_context(|| format!("cannot open signing key {}", path.display()))?;
    Ok(Some(signer.verifier()))
}

fn read_verifier_key(path: &Path) -> anyhow::Result<CheckpointVerifier> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Some(line) = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
    else {
        bail!("{} holds no verifier key", path.display());
    };
    if line.starts_with("PRIVATE+KEY+") {
        bail!(
            "{} is a signing key; give the public verifier key (the `# …` line in that file \
             names it)",
            path.display()
        );
    }
    CheckpointVerifier::new(line).with_context(|| format!("verifier key in {}", path.display()))
}

fn print_report(report: &VerifyReport, keyed: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match &report.failure {
        None => writeln!(
            out,
            "audit log intact: {} entries checked, head: size {}, {}",
            report.entries, report.head.size, report.head.hash
        )?,
        Some(failure) => {
            writeln!(out, "audit log BROKEN {failure}")?;
            writeln!(
                out,
                "{} entries verified before it (head: size {}, {})",
                report.entries, report.head.size, report.head.hash
            )?;
        }
    }
    if keyed {
        match report.last_checkpoint {
            Some(last) => writeln!(
                out,
                "checkpoints: {} verified, the last at size {last}",
                report.checkpoints_verified
            )?,
            None => writeln!(out, "checkpoints: none verified")?,
        }
    } else if report.checkpoints_unverified > 0 {
        writeln!(
            out,
            "checkpoints: {} present, NOT verified (no verifier key: --verifier-key, or the \
             signing key file in the settings)",
            report.checkpoints_unverified
        )?;
    } else {
        writeln!(out, "checkpoints: none (no verifier key either)")?;
    }
    if report.unsealed > 0 {
        let oldest = report
            .oldest_unsealed
            .map(|at| format!(", oldest from {at}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{} entries written but not yet sealed{oldest}",
            report.unsealed
        )?;
    }
    out.flush()?;
    Ok(())
}
