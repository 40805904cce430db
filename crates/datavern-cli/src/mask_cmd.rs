//! `datavern migrate copy --mask`: a copy of the installation for a test environment, every
//! personal value replaced by a synthetic one, written into a new installation with keys of
//! its own (`docs/migrations.md`, "Masked copies").
//!
//! The new installation is its databases (`--to`, `--keys-to`) and a directory
//! (`--to-data-dir`) holding its key-encryption key, its audit signing key and its catalog:
//! the source's, marked `masked: true`. Serve it with that directory and catalog.
//!
//! Exit codes: 0 written, 1 refused before anything was written (residency, a target not
//! empty, the source's own key directory), 2 failed (drop the target's tables and run again).

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use datavern_core::access::PrincipalId;
use datavern_core::catalog::Catalog;
use datavern_crypto::LocalKeyFile;
use datavern_crypto::audit::CheckpointSigner;
use datavern_governance::Governance;
use datavern_governance::mask::{
    MaskOptions, MaskReport, Phase, mark_masked, masked_copy, record_refusal,
};
use datavern_sql::StoreConfig;
use datavern_sql::copy::TargetState;
use datavern_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use crate::copy_cmd::{CopyArgs, database};
use crate::governed::{Governed, Missing};
use crate::init_cmd::{create_private_dir, create_signing_key};
use crate::settings::{AUDIT_ORIGIN, KEK_FILE, Overrides, SIGNING_KEY_FILE, Settings};

/// The masked catalog's file name in the new installation's directory.
pub(crate) const MASKED_CATALOG_FILE: &str = "catalog.yaml";

pub(crate) async fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.settings, &Overrides { listen: None })?;
    let Some(dir) = args.to_data_dir.as_deref() else {
        bail!(
            "--mask needs --to-data-dir: the new installation's directory, for its own keys and \
             catalog"
        );
    };
    let config = StoreConfig::new(database(&args.to)?, database(&args.keys_to)?);
    let options = MaskOptions {
        principal: args
            .by
            .clone()
            .map_or_else(|| PrincipalId::parse("datavern-migrate"), Ok)?,
        location: args.location,
        batch_size: args.batch_size,
    };
    let source = Governed::open(&settings, Missing::Refuse).await?;
    let refusal = if same_place(dir, &settings.data_dir())
        || same_place(&dir.join(KEK_FILE), &settings.kek_file())
    {
        Some((
            "own_keys",
            "--to-data-dir is the source's own directory: a masked copy gets keys of its own, \
             never the source's (give a new directory)"
                .to_owned(),
        ))
    } else {
        // The new installation's directory first: SQLite targets usually live in it.
        create_private_dir(dir)?;
        not_empty(&config)
            .await?
            .map(|message| ("target_not_empty", message))
    };
    if let Some((code, message)) = refusal {
        let target_backend = config.data.backend().to_string();
        let audited = record_refusal(source.records(), &target_backend, &options, code).await;
        source.close().await?;
        audited?;
        return Ok(refused(code, &message));
    }
    let result = write(&args, &settings, dir, &config, &source, &options).await;
    let closed = source.close().await;
    let code = match result {
        Ok(Ok(report)) => {
            print(&report, dir, args.json)?;
            ExitCode::SUCCESS
        }
        Ok(Err(err)) => match err.refusal_code() {
            Some(code) => refused(code, &err.to_string()),
            None => {
                return Err(anyhow::Error::new(err)).context(
                    "the masked copy failed; drop the target's tables and run the same command \
                     again",
                );
            }
        },
        Err(err) => return Err(err),
    };
    closed?;
    Ok(code)
}

/// Opens the new installation and writes the copy into it.
async fn write(
    args: &CopyArgs,
    settings: &Settings,
    dir: &Path,
    config: &StoreConfig,
    source: &Governed,
    options: &MaskOptions,
) -> anyhow::Result<Result<MaskReport, datavern_governance::mask::MaskError>> {
    create_private_dir(dir)?;
    let text = mark_masked(source.catalog().source()).context(
        "cannot mark the catalog as masked: write `deployment:` as a block (one key per line) in \
         the source's catalog",
    )?;
    let catalog = Arc::new(
        Catalog::from_yaml(&text)
            .map_err(|errors| anyhow::anyhow!("the masked catalog is invalid:\n{errors}"))?,
    );
    let catalog_file = dir.join(MASKED_CATALOG_FILE);
    std::fs::write(&catalog_file, &text)
        .with_context(|| format!("cannot write {}", catalog_file.display()))?;
    let kek = open_or_create_kek(&dir.join(KEK_FILE)).await?;
    let signer = open_or_create_signer(&dir.join(SIGNING_KEY_FILE)).await?;
    let store = Store::open(config)
        .await
        .with_context(|| format!("cannot open the target {}", config.data.redacted_url()))?
        .with_clock(source.store().clock().clone());
    store
        .apply_catalog(&catalog)
        .await
        .context("cannot apply the masked catalog to the target")?;
    let target = Governance::builder(store, catalog, Arc::new(kek))
        .signer(
            Arc::new(signer),
            AUDIT_ORIGIN,
            settings.audit.checkpoint_interval,
        )
        .build();
    let bar = (!args.json && std::io::stderr().is_terminal()).then(progress_bar);
    let result = masked_copy(source.records(), target.records(), options, &mut |p| {
        if let Some(bar) = &bar {
            let phase = match p.phase {
                Phase::Learn => "read",
                Phase::Write => "mask",
            };
            bar.set_message(format!("{phase} {}", p.collection));
            bar.set_position(p.done);
        }
    })
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let target_store = target.store();
    let sealed = target_store.audit().shutdown().await;
    target_store.close().await;
    sealed.context("cannot seal the target's audit log")?;
    Ok(result)
}

/// Why the target may not receive a masked copy, if it may not: it must be empty.
async fn not_empty(config: &StoreConfig) -> anyhow::Result<Option<String>> {
    let target = Store::connect(config).await.with_context(|| {
        format!(
            "cannot connect to the target {}",
            config.data.redacted_url()
        )
    })?;
    let mut refusal = None;
    for db in [target.data(), target.keys().database()] {
        if db.copy_state().await? != TargetState::Empty {
            refusal = Some(format!(
                "the {} target {} is not empty: a masked copy is written only into empty \
                 databases (create new ones, or drop their tables first)",
                db.role(),
                db.redacted_url()
            ));
            break;
        }
    }
    target.close().await;
    Ok(refusal)
}

async fn open_or_create_kek(path: &Path) -> anyhow::Result<LocalKeyFile> {
    if path.exists() {
        LocalKeyFile::open(path).await
    } else {
        LocalKeyFile::create(path).await
    }
    .with_context(|| format!("cannot open or create the key file {}", path.display()))
}

async fn open_or_create_signer(path: &Path) -> anyhow::Result<CheckpointSigner> {
    if path.exists() {
        return CheckpointSigner::open(path)
            .await
            .with_context(|| format!("cannot open signing key {}", path.display()));
    }
    create_signing_key(path).await
}

/// Whether `a` and `b` name the same existing file or directory.
fn same_place(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn refused(code: &str, message: &str) -> ExitCode {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("refused ({code}): {message}");
    }
    ExitCode::from(1)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg:32} {pos} records {per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar
}

fn print(report: &MaskReport, dir: &Path, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} -> {} (location {}), masked",
        report.source_backend, report.target_backend, report.location
    )?;
    for c in &report.collections {
        writeln!(
            out,
            "{:<28} {:>10} records  masked: {}",
            c.collection,
            c.records,
            if c.masked_fields.is_empty() {
                "-".to_owned()
            } else {
                c.masked_fields.join(", ")
            }
        )?;
    }
    writeln!(
        out,
        "{} records in {:.1} s; the new installation's keys and catalog are in {} (serve it \
         with catalog.path = \"{}\")",
        report.records,
        report.seconds,
        dir.display(),
        dir.join(MASKED_CATALOG_FILE).display()
    )?;
    Ok(())
}
