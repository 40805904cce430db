//! The composition root: everything datavern governs, built once from a store, a catalog, a
//! KEK provider, the audit signer and a clock. `datavern serve`, every CLI command that
//! touches the store, the benchmark and the tests build it here, so that they all run the same
//! services wired the same way.
//!
//! ```no_run
//! # async fn demo(
//! #     store: datavern_store::Store,
//! #     catalog: std::sync::Arc<datavern_core::catalog::Catalog>,
//! #     kek: std::sync::Arc<dyn datavern_crypto::KekProvider>,
//! #     signer: std::sync::Arc<datavern_crypto::audit::CheckpointSigner>,
//! # ) {
//! use std::time::Duration;
//! use datavern_governance::Governance;
//!
//! let governance = Governance::builder(store, catalog, kek)
//!     .signer(signer, "datavern/example", Duration::from_secs(300))
//!     .build();
//! let records = governance.records(); // the governed record operations
//! let requests = governance.requests(); // the data subject request register
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use datavern_core::catalog::Catalog;
use datavern_core::clock::Clock;
use datavern_core::dsr::FourEyes;
use datavern_crypto::KekProvider;
use datavern_crypto::audit::CheckpointSigner;
use datavern_store::records::KeyCacheConfig;
use datavern_store::{Records, Store};

use crate::controls::Controls;
use crate::holds::LegalHolds;
use crate::requests::Requests;
use crate::retention::Retention;
use crate::rights::Rights;

/// The governed store and every service on it, sharing one catalog, one KEK provider and one
/// clock. Cheap to clone.
#[derive(Clone)]
pub struct Governance {
    kek: Arc<dyn KekProvider>,
    records: Records,
    rights: Rights,
    requests: Requests,
    controls: Controls,
    holds: LegalHolds,
}

/// Builds a [`Governance`]: the store, catalog and KEK provider are required; the audit
/// signer, the clock, the key cache and the four-eyes rule have defaults.
#[must_use = "a builder does nothing until `build`"]
pub struct GovernanceBuilder {
    store: Store,
    catalog: Arc<Catalog>,
    kek: Arc<dyn KekProvider>,
    checkpointing: Option<Checkpointing>,
    clock: Option<Arc<dyn Clock>>,
    key_cache: KeyCacheConfig,
    four_eyes: FourEyes,
}

/// How the audit log signs its checkpoints.
struct Checkpointing {
    signer: Arc<CheckpointSigner>,
    origin: String,
    interval: Duration,
}

impl Governance {
    /// A builder over `store` (migrated, with `catalog` applied), whose records are sealed
    /// under keys wrapped by `kek`.
    pub fn builder(
        store: Store,
        catalog: Arc<Catalog>,
        kek: Arc<dyn KekProvider>,
    ) -> GovernanceBuilder {
        GovernanceBuilder {
            store,
            catalog,
            kek,
            checkpointing: None,
            clock: None,
            key_cache: KeyCacheConfig::default(),
            four_eyes: FourEyes::default(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        self.records.catalog()
    }

    /// The KEK provider every key is wrapped with (and a backup repository's password).
    pub fn kek(&self) -> &Arc<dyn KekProvider> {
        &self.kek
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.records.store()
    }

    /// The governed record operations.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The executors of the data subject's rights.
    pub fn rights(&self) -> &Rights {
        &self.rights
    }

    /// The data subject request register.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// The consent, restriction and objection registers.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// The legal hold register.
    pub fn holds(&self) -> &LegalHolds {
        &self.holds
    }

    /// A retention job over the store and catalog (its batch size set with
    /// [`Retention::with_batch_size`]).
    pub fn retention(&self) -> Retention {
        Retention::new(self.store().clone(), Arc::clone(self.catalog()))
    }

    /// An importer of legacy rows through the governed record operations.
    pub fn importer(&self) -> crate::import::Importer {
        crate::import::Importer::new(self.records.clone())
    }

    /// The clock every service reads: the store's.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        self.store().clock()
    }
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The store's pools are left out: driver options can hold connection passwords.
        f.debug_struct("Governance").finish_non_exhaustive()
    }
}

impl GovernanceBuilder {
    /// Signs audit checkpoints with `signer` under `origin`, one at least every `interval`
    /// (without, the audit log seals its chain but signs nothing).
    pub fn signer(
        mut self,
        signer: Arc<CheckpointSigner>,
        origin: impl Into<String>,
        interval: Duration,
    ) -> Self {
        self.checkpointing = Some(Checkpointing {
            signer,
            origin: origin.into(),
            interval,
        });
        self
    }

    /// Reads time from `clock` instead of the store's (tests move a `ManualClock` instead of
    /// sleeping): the store takes it (`Store::with_clock`), so every service shares it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Caches subject and index keys as `cache` says instead of the default.
    pub fn key_cache(mut self, cache: KeyCacheConfig) -> Self {
        self.key_cache = cache;
        self
    }

    /// Applies `four_eyes` to data subject requests instead of the default (erasure and
    /// rectification need a second principal).
    pub fn four_eyes(mut self, four_eyes: FourEyes) -> Self {
        self.four_eyes = four_eyes;
        self
    }

    /// The services, with the audit log recording (and signing, with a signer).
    pub fn build(self) -> Governance {
        let store = match self.clock {
            Some(clock) => self.store.with_clock(clock),
            None => self.store,
        };
        let audit = store.audit();
        if let Some(checkpointing) = self.checkpointing {
            audit.set_checkpointing(
                checkpointing.signer,
                checkpointing.origin,
                checkpointing.interval,
            );
        }
        audit.start();
        let records = Records::with_key_cache(
            store.clone(),
            self.catalog,
            Arc::clone(&self.kek),
            self.key_cache,
        );
        let requests = Requests::new(&store).with_four_eyes(self.four_eyes);
        Governance {
            kek: self.kek,
            rights: Rights::new(records.clone()),
            controls: Controls::new(records.clone()),
            holds: LegalHolds::new(store),
            requests,
            records,
        }
    }
}
