//! `datavern demo seed` and `datavern demo digest`: synthetic municipal data written through
//! the governed path, and a digest of what a seeded database holds, to check that a seed
//! gives the same data run after run.
//!
//! Both go through the same governed code the HTTP API uses (`access::decide`,
//! `record::validate`, `Records`), never raw SQL, so the data is encrypted, blind-indexed,
//! audited and announced in the outbox like real data, and reading it back is audited too.
//! The database is found as `serve` finds it (`--data-dir`, `--config`, `DATAVERN_`
//! environment).

mod digest;
mod seed;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use datavern_core::access::{self, AccessRequest, Grant, Principal, PrincipalId};
use datavern_core::catalog::{Catalog, Collection, Kommunenummer, PurposeId};
use datavern_core::classification::Classification;
use datavern_store::{Records, Store};

use crate::init_cmd::create_private_dir;
use crate::serve_cmd::{LogFormat, init_logging, kek, signer};
use crate::settings::{AUDIT_ORIGIN, Overrides, Settings};

/// `datavern demo …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DemoCommand {
    /// Write N synthetic records (residents with Tenor fødselsnumre, kindergarten applications,
    /// care cases) through the governed path: encrypted and audited like real data.
    Seed(seed::SeedArgs),
    /// Print a SHA-256 digest of the decrypted data of residents sampled from a seed: two
    /// databases seeded with the same --seed and --records give the same digest.
    Digest(digest::DigestArgs),
}

pub(crate) fn run(command: DemoCommand) -> anyhow::Result<ExitCode> {
    let settings_args = match &command {
        DemoCommand::Seed(args) => &args.settings,
        DemoCommand::Digest(args) => &args.settings,
    };
    let settings = Settings::load(settings_args, &Overrides { listen: None })?;
    init_logging(LogFormat::Text);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match command {
        DemoCommand::Seed(args) => runtime.block_on(seed::seed(settings, args)),
        DemoCommand::Digest(args) => runtime.block_on(digest::digest(settings, args)),
    }
}

/// What to do when the data directory or its key files do not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// Create them, as `serve` does in development mode (seeding a fresh directory).
    Create,
    /// Refuse: there is nothing to read (a digest of a database never seeded).
    Refuse,
}

/// The opened store with the catalog applied, the audit log recording (checkpoints signed
/// as `serve` signs them), and the governed record operations on it.
struct Governed {
    catalog: Arc<Catalog>,
    store: Store,
    records: Records,
}

impl Governed {
    async fn open(settings: &Settings, missing: Missing) -> anyhow::Result<Governed> {
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
        let store_config = settings.store_config()?;
        let store = Store::open(&store_config).await.with_context(|| {
            format!(
                "cannot open the store (data {}, keys {})",
                store_config.data.redacted_url(),
                store_config.keys.redacted_url()
            )
        })?;
        store
            .apply_catalog(&catalog)
            .await
            .context("cannot apply the catalog to the database")?;
        store.audit().set_checkpointing(
            Arc::new(signer),
            AUDIT_ORIGIN,
            settings.audit.checkpoint_interval,
        );
        store.audit().start();
        let records = Records::new(store.clone(), catalog.clone(), Arc::new(kek));
        Ok(Governed {
            catalog,
            store,
            records,
        })
    }

    /// Seals everything written into the audit chain, signs a checkpoint and closes the
    /// store. Called also after a failure: what was written stays governed.
    async fn close(self) -> anyhow::Result<()> {
        let sealed = self.store.audit().shutdown().await;
        self.store.close().await;
        sealed.context("cannot seal the audit log")?;
        Ok(())
    }
}

/// A collection with a grant for it.
struct Granted<'c> {
    collection: &'c Collection,
    grant: Grant,
}

/// The access decision for `request` (whose collection must be in the example catalog).
fn grant<'c>(
    catalog: &'c Catalog,
    principal: &Principal,
    request: &AccessRequest<'_>,
) -> anyhow::Result<Granted<'c>> {
    let name = request.collection();
    let grant = access::decide(catalog, principal, request).map_err(|denial| {
        anyhow!(
            "cannot {} {name}: {denial} (datavern demo needs the example catalog, \
             examples/kommune.yaml)",
            request.operation()
        )
    })?;
    let collection = catalog
        .collection(name)
        .ok_or_else(|| anyhow!("granted collection {name} is not in the catalog"))?;
    Ok(Granted { collection, grant })
}

/// A principal of the tenant, cleared for BEGRENSET, with `purposes`; `id` is how it
/// appears in the audit log.
fn principal(id: &str, tenant: Kommunenummer, purposes: &[&str]) -> anyhow::Result<Principal> {
    let purposes = purposes
        .iter()
        .map(|p| PurposeId::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(
        Principal::new(PrincipalId::parse(id)?, tenant, Classification::Begrenset)
            .with_purposes(purposes),
    )
}

/// The tenant given, which must be in the catalog, or the catalog's first.
fn tenant(catalog: &Catalog, given: Option<&str>) -> anyhow::Result<Kommunenummer> {
    let tenants = catalog.deployment().tenants();
    let Some(given) = given else {
        return tenants
            .first()
            .map(|t| t.kommunenummer())
            .ok_or_else(|| anyhow!("the catalog has no tenant"));
    };
    let tenant = Kommunenummer::parse(given).with_context(|| format!("--tenant {given}"))?;
    if !tenants.iter().any(|t| t.kommunenummer() == tenant) {
        bail!("tenant {tenant} is not in the catalog");
    }
    Ok(tenant)
}
