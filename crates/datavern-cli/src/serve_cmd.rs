//! `datavern serve`: the HTTP API over the configured store, until SIGTERM or SIGINT.
//!
//! Without configuration (no `datavern.toml`, no database URL) it runs in development mode:
//! the example catalog on SQLite under `./datavern-data` (`--data-dir`), with a key file, an
//! audit signing key and a development API key created on first start. The key is printed
//! once to stderr, stored hashed in `principals.toml`, and written to `DATA_DIR/dev-api-key`
//! (mode 0600) for scripts. Configured installations (`datavern init`) must have every file
//! in place; nothing is created behind an operator's back.
//!
//! When the server is ready it prints `listening on http://ADDR` on stdout (the address
//! actually bound, so `--listen 127.0.0.1:0` is usable); logs go to stderr.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use datavern_core::catalog::Catalog;
use datavern_core::clock::SystemClock;
use datavern_core::dsr::RequestType;
use datavern_crypto::LocalKeyFile;
use datavern_crypto::audit::CheckpointSigner;
use datavern_governance::Governance;
use datavern_governance::retention::{Retention, RunMode};
use datavern_server::auth::StaticKeys;
use datavern_server::metrics::Metrics;
use datavern_server::{AUDITOR_ROLE, AppState, DPO_ROLE, Server, shutdown_signal};
use tracing_subscriber::EnvFilter;

use crate::init_cmd::{create_principals, create_private_dir, create_signing_key, write_new};
use crate::settings::{AUDIT_ORIGIN, DEV_API_KEY_FILE, Mode, Overrides, Settings, SettingsArgs};

/// Arguments of `datavern serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Address to listen on, IP:port; port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Log line format on stderr; the level comes from RUST_LOG (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(
        &args.settings,
        &Overrides {
            listen: args.listen,
        },
    )?;
    init_logging(args.log_format);
    tracing::debug!(settings = ?settings, "Settings resolved");
    serve(settings).await
}

/// `datavern openapi`: prints the OpenAPI document, exactly as committed in `openapi.json`.
pub(crate) fn print_openapi() -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(datavern_server::openapi_json().as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let mode = settings.mode();
    let data_dir = settings.data_dir();
    let catalog = settings.catalog()?;
    if mode == Mode::Development {
        tracing::warn!(
            data_dir = %data_dir.display(),
            "Development mode: example catalog unless configured, SQLite in the data \
             directory, local key files and a development API key. Not for real personal \
             data: configure with datavern.toml or DATAVERN_ variables (`datavern init`)"
        );
    }
    create_private_dir(&data_dir)?;

    // Opened (or, in development, created) before anything else, so that a missing or
    // unreadable key fails at startup rather than on the first write.
    let kek = kek(&settings, mode).await?;
    let signer = signer(&settings, mode).await?;
    let authenticator = principals(&settings, &catalog, mode).await?;
    let unserved = authenticator.unserved_tenants(&catalog);
    if !unserved.is_empty() {
        bail!(
            "principals file {}: {}",
            settings.principals_file().display(),
            unserved.join("; ")
        );
    }
    for warning in authenticator.check_against(&catalog) {
        tracing::warn!(warning = %warning, "Principal does not fit the catalog");
    }

    let (store, report) =
        crate::governed::open_migrated(&settings, &catalog, Arc::new(SystemClock)).await?;
    tracing::info!(
        created = report.created.len(),
        unchanged = report.unchanged.len(),
        backend = %store.data().backend(),
        "Catalog applied"
    );

    let four_eyes = settings.requests.four_eyes()?;
    for request_type in [RequestType::Erasure, RequestType::Rectification] {
        if !four_eyes.requires(request_type) {
            tracing::warn!(
                request_type = %request_type,
                "The four-eyes rule is off: one principal may verify and run these requests \
                 (requests.four_eyes)"
            );
        }
    }
    let governance = Governance::builder(store.clone(), Arc::new(catalog), Arc::new(kek))
        .signer(
            Arc::new(signer),
            AUDIT_ORIGIN,
            settings.audit.checkpoint_interval,
        )
        .four_eyes(four_eyes)
        .build();
    let backups = crate::backup_cmd::scheduled(&settings, &governance)?;
    let retention = settings.retention.interval.map(|interval| {
        let job = governance
            .retention()
            .with_batch_size(settings.retention.batch_size);
        tokio::spawn(run_retention(job, governance.store().clone(), interval))
    });
    let state = AppState::new(governance, Arc::new(authenticator), Metrics::global());
    let config = settings.server_config();
    let server = Server::bind(&config, state)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = server.local_addr()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(url = %format!("http://{addr}"), "Listening");
    server.run(shutdown_signal()).await?;
    if let Some(retention) = retention {
        // A batch cut short rolls back; the next start picks it up again.
        retention.abort();
        let _ = retention.await;
    }
    if let Some(backups) = backups {
        // A snapshot cut short is never saved: its packs are pruned later.
        backups.abort();
        let _ = backups.await;
    }
    // Everything recorded is sealed into the chain and a final checkpoint signed.
    match store.audit().shutdown().await {
        Ok(head) => tracing::info!(size = head.size, "Audit log sealed"),
        Err(err) => {
            tracing::error!(error = %format!("{:#}", anyhow::Error::new(err)), "Cannot seal the audit log")
        }
    }
    store.close().await;
    tracing::info!("Stopped");
    Ok(ExitCode::SUCCESS)
}

/// Runs retention every `interval`, the first time one interval after start; a run that
/// takes longer than the interval delays the next instead of overlapping it.
/// Each run is judged at the time of `store`'s clock.
async fn run_retention(
    job: Retention,
    store: datavern_store::Store,
    interval: std::time::Duration,
) {
    tracing::info!(interval = ?interval, "Retention scheduled");
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match job.run(store.now().into(), RunMode::Apply, |_| {}).await {
            Ok(report) => tracing::info!(
                run = %report.run_id,
                handled = report.handled,
                held = report.collections.iter().map(|c| c.held).sum::<u64>(),
                seconds = report.elapsed_seconds,
                "Retention run finished"
            ),
            Err(err) => tracing::error!(
                error = %format!("{:#}", anyhow::Error::new(err)),
                "Retention run failed; retried at the next interval"
            ),
        }
    }
}

pub(crate) async fn kek(settings: &Settings, mode: Mode) -> anyhow::Result<LocalKeyFile> {
    let path = settings.kek_file();
    if path.exists() {
        return LocalKeyFile::open(&path)
            .await
            .with_context(|| format!("cannot open key file {}", path.display()));
    }
    missing_unless_development(mode, &path, "key-encryption key file")?;
    let kek = LocalKeyFile::create(&path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    tracing::info!(path = %path.display(), "Created development key-encryption key");
    Ok(kek)
}

pub(crate) async fn signer(settings: &Settings, mode: Mode) -> anyhow::Result<CheckpointSigner> {
    let path = settings.signing_key_file();
    if path.exists() {
        return CheckpointSigner::open(&path)
            .await
            .with_context(|| format!("cannot open signing key {}", path.display()));
    }
    missing_unless_development(mode, &path, "audit signing key")?;
    let signer = create_signing_key(&path).await?;
    tracing::info!(
        path = %path.display(),
        verifier_key = %signer.verifier_key(),
        "Created development audit signing key"
    );
    Ok(signer)
}

async fn principals(
    settings: &Settings,
    catalog: &Catalog,
    mode: Mode,
) -> anyhow::Result<StaticKeys> {
    let path = settings.principals_file();
    if !path.exists() {
        missing_unless_development(mode, &path, "principals file")?;
        create_dev_principal(settings, catalog, &path)?;
    }
    let keys = StaticKeys::load(&path).await?;
    tracing::info!(path = %path.display(), principals = keys.len(), "Principals loaded");
    if mode == Mode::Development {
        let key_file = settings.data_dir().join(DEV_API_KEY_FILE);
        if key_file.exists() {
            tracing::info!(path = %key_file.display(), "Development API key file");
        }
    }
    Ok(keys)
}

/// Creates principal `dev` with a fresh key: hash in the principals file, key in
/// `DATA_DIR/dev-api-key` (0600) and once on stderr.
fn create_dev_principal(settings: &Settings, catalog: &Catalog, path: &Path) -> anyhow::Result<()> {
    let key_file = settings.data_dir().join(DEV_API_KEY_FILE);
    if key_file.exists() {
        bail!(
            "{} exists but the principals file {} does not; remove the stale key file",
            key_file.display(),
            path.display()
        );
    }
    let key = create_principals(path, catalog, "dev", &["developer", AUDITOR_ROLE, DPO_ROLE])?;
    write_new(&key_file, &format!("{}\n", key.expose_secret()), 0o600)?;
    let tenant = catalog
        .deployment()
        .tenants()
        .first()
        .map(|t| t.kommunenummer().to_string())
        .unwrap_or_default();
    // Deliberately not a log line: the key must never reach a log collector.
    #[allow(clippy::print_stderr)]
    {
        eprintln!();
        eprintln!(
            "Development API key of principal `dev` (tenant {tenant}, every purpose of the \
             catalog, role auditor), shown once:"
        );
        eprintln!();
        eprintln!("    {}", key.expose_secret());
        eprintln!();
        eprintln!(
            "Also in {} (mode 0600). Send it as `Authorization: Bearer <key>`.",
            key_file.display()
        );
        eprintln!();
    }
    tracing::info!(path = %path.display(), "Created development principal `dev`");
    Ok(())
}

fn missing_unless_development(mode: Mode, path: &Path, what: &str) -> anyhow::Result<()> {
    match mode {
        Mode::Development => Ok(()),
        Mode::Configured => bail!(
            "{what} {} does not exist; `datavern init` creates one, or set its path in the \
             configuration",
            path.display()
        ),
    }
}

pub(crate) fn init_logging(format: LogFormat) {
    // The backup library's own steps are logged by datavern; rustic's and OpenDAL's info
    // lines (every repository open) are noise at the default level.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,rustic_core=warn,rustic_backend=warn,opendal=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A subscriber installed already (never in the binary) keeps its place.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
