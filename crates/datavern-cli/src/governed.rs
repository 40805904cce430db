//! The governed store as commands other than `serve` open it, through the one composition
//! root (`datavern_governance::Governance`): the catalog applied, the audit log recording and
//! signing checkpoints as `serve` does, and the record operations and services on it, so what
//! a command writes is encrypted and audited like a request.

use std::sync::Arc;

use anyhow::{Context, bail};
use datavern_core::catalog::Catalog;
use datavern_core::clock::{Clock, SystemClock};
use datavern_governance::Governance;
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
    /// The record operations and every governance service, built once.
    pub(crate) governance: Governance,
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

impl Governed {
    /// The store of `settings` with the catalog applied, the audit log recording and signing
    /// checkpoints as `serve` does, and every service, on the system clock.
    pub(crate) async fn open(settings: &Settings, missing: Missing) -> anyhow::Result<Governed> {
        Self::open_at(settings, missing, Arc::new(SystemClock)).await
    }

    /// [`Governed::open`] on `clock` (`--now` of the request commands).
    pub(crate) async fn open_at(
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
        let signer = signer(settings, mode).await?;
        let four_eyes = settings.requests.four_eyes()?;
        let (store, _) = open_migrated(settings, &catalog, clock).await?;
        let governance = Governance::builder(store, catalog, Arc::new(kek))
            .signer(
                Arc::new(signer),
                AUDIT_ORIGIN,
                settings.audit.checkpoint_interval,
            )
            .four_eyes(four_eyes)
            .build();
        Ok(Governed { governance })
    }

    /// The catalog applied.
    pub(crate) fn catalog(&self) -> &Arc<Catalog> {
        self.governance.catalog()
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        self.governance.store()
    }

    /// The governed record operations.
    pub(crate) fn records(&self) -> &Records {
        self.governance.records()
    }

    /// Seals everything written into the audit chain, signs a checkpoint and closes the
    /// store. Called also after a failure: what was written stays governed.
    pub(crate) async fn close(self) -> anyhow::Result<()> {
        let store = self.store();
        let sealed = store.audit().shutdown().await;
        store.close().await;
        sealed.context("cannot seal the audit log")?;
        Ok(())
    }
}
