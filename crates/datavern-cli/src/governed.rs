//! The governed store as commands other than `serve` open it: the catalog applied, the
//! audit log recording and signing checkpoints as `serve` does, and the governed record
//! operations on it, so what a command writes is encrypted and audited like a request.

use std::sync::Arc;

use anyhow::{Context, bail};
use datavern_core::catalog::Catalog;
use datavern_core::clock::Clock;
use datavern_store::{ApplyReport, Records, Store};

use crate::init_cmd::create_private_dir;
use crate::serve_cmd::{kek, signer};
use crate::settings::{AUDIT_ORIGIN, Settings};

/// What to do when the data directory or its key files do not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Create them, as `serve` does in development mode (seeding a fresh directory).
    Create,
    /// Refuse: there is nothing to read (a digest of a database never seeded).
    Refuse,
}

/// The opened store with the catalog applied, the audit log recording (checkpoints signed
/// as `serve` signs them), and the governed record operations on it.
pub(crate) struct Governed {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) store: Store,
    pub(crate) records: Records,
}

/// The store, migrated and with `catalog` applied, as the role that serves.
///
/// With `database.migration_url` (and `keys_migration_url`), the owner migrates both
/// databases and applies the catalog first, and the serving role (`database.url`) only checks
/// that the migrations are there and the tables match the catalog: it needs no privilege to
/// change the schema (`datavern db grants`). Without, one role does both.
///
/// The store takes its time from `clock` (the system clock but where a command is told the
/// time, as `request --now`): the one clock of everything the command does.
pub(crate) async fn open_migrated(
    settings: &Settings,
    catalog: &Catalog,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Store, ApplyReport)> {
    let config = settings.store_config()?;
    let cannot_open = |config: &datavern_sql::StoreConfig| {
        format!(
            "cannot open the store (data {}, keys {})",
            config.data.redacted_url(),
            config.keys.redacted_url()
        )
    };
    let store = match settings.owner_store_config()? {
        None => Store::open(&config)
            .await
            .with_context(|| cannot_open(&config))?,
        Some(owner_config) => {
            let owner = Store::connect(&owner_config)
                .await
                .with_context(|| cannot_open(&owner_config))?;
            let migrated = async {
                owner.migrate().await?;
                owner.apply_catalog(catalog).await
            }
            .await;
            owner.close().await;
            let report = migrated.context("cannot migrate the store as its owner")?;
            tracing::info!(
                created = report.created.len(),
                "Migrated and applied the catalog as the owner"
            );
            Store::open_migrated(&config)
                .await
                .with_context(|| cannot_open(&config))?
        }
    };
    let store = store.with_clock(clock);
    let report = store
        .apply_catalog(catalog)
        .await
        .context("cannot apply the catalog to the database")?;
    Ok((store, report))
}

/// The store with `catalog` applied and the audit log sealing and signing checkpoints as
/// `serve` does; for commands that write no record (retention, holds, reports).
pub(crate) async fn open_store(
    settings: &Settings,
    catalog: &Catalog,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Store> {
    let signer = signer(settings, settings.mode()).await?;
    let (store, _) = open_migrated(settings, catalog, clock).await?;
    store.audit().set_checkpointing(
        Arc::new(signer),
        AUDIT_ORIGIN,
        settings.audit.checkpoint_interval,
    );
    store.audit().start();
    Ok(store)
}

impl Governed {
    /// The governed store on `clock` (see [`open_migrated`]).
    pub(crate) async fn open(
        settings: &Settings,
        missing: Missing,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Governed> {
        let mode = settings.mode();
        let catalog = Arc::new(settings.catalog()?);
        match missing {
            Missing::Create => create_private_dir(&settings.data_dir())?,
            Missing::Refuse => {
                let kek_file = settings.kek_file();
                if !kek_file.exists() {
                    bail!(
                        "no key-encryption key at {}: nothing was seeded here (datavern demo \
                         seed)",
                        kek_file.display()
                    );
                }
            }
        }
        let kek = kek(settings, mode).await?;
        let store = open_store(settings, &catalog, clock).await?;
        let records = Records::new(store.clone(), catalog.clone(), Arc::new(kek));
        Ok(Governed {
            catalog,
            store,
            records,
        })
    }

    /// Seals everything written into the audit chain, signs a checkpoint and closes the
    /// store. Called also after a failure: what was written stays governed.
    pub(crate) async fn close(self) -> anyhow::Result<()> {
        let sealed = self.store.audit().shutdown().await;
        self.store.close().await;
        sealed.context("cannot seal the audit log")?;
        Ok(())
    }
}
