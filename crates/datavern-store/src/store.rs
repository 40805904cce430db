//! The store: the data database and the key store together.

use std::sync::Arc;

use datavern_core::catalog::Catalog;
use datavern_core::clock::{Clock, SystemClock};
use datavern_sql::{At, Database, DatabaseRole, StoreConfig};
use tracing::instrument;

use crate::audit::{AuditConfig, AuditLog};

use crate::error::{Result, StoreError};
use crate::keys::KeyStore;
use crate::schema::{self, ApplyReport};

/// A governed store: the data database and the key store, each with its own pool.
///
/// Cheap to clone: clones share the pools.
///
/// **Invariant:** the store holds the one [`Clock`] of everything built from it (records,
/// audit entries and the sealer, keys, outbox, controls, holds, retention, requests, rights,
/// compliance, export): the system clock unless [`with_clock`](Self::with_clock) gave
/// another, and nothing below it reads the system time.
#[derive(Debug, Clone)]
pub struct Store {
    data: Database,
    keys: KeyStore,
    audit: AuditLog,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Connects both databases, checks that they are two databases, and applies pending
    /// internal migrations to each.
    #[instrument(skip_all)]
    pub async fn open(config: &StoreConfig) -> Result<Store> {
        let store = Self::connect(config).await?;
        store.migrate().await?;
        store.audit.start();
        Ok(store)
    }

    /// Connects both databases as [`open`](Self::open) does, but checks that they are
    /// migrated instead of migrating them: for a serving role that may not change the schema
    /// (the owner migrates, `crate::grants`). Fails with `SqlError::NotMigrated` if a
    /// migration is missing.
    #[instrument(skip_all)]
    pub async fn open_migrated(config: &StoreConfig) -> Result<Store> {
        let store = Self::connect(config).await?;
        let checked = async {
            store.data.check_migrated().await?;
            store.keys.database().check_migrated().await
        };
        if let Err(err) = checked.await {
            store.close().await;
            return Err(err.into());
        }
        store.audit.start();
        Ok(store)
    }

    /// Connects both databases and checks that they are two databases, without migrating.
    #[instrument(skip_all)]
    pub async fn connect(config: &StoreConfig) -> Result<Store> {
        let data = Database::connect(&config.data, DatabaseRole::Data).await?;
        let keys = match Database::connect(&config.keys, DatabaseRole::Keys).await {
            Ok(keys) => keys,
            Err(err) => {
                data.close().await;
                return Err(err.into());
            }
        };
        let store = Store {
            audit: AuditLog::new(data.clone(), AuditConfig::default()),
            data,
            keys: KeyStore::new(keys),
            clock: Arc::new(SystemClock),
        };
        if let Err(err) = store.ensure_separate().await {
            store.close().await;
            return Err(err);
        }
        Ok(store)
    }

    /// A store over two databases already connected (and migrated), checked to be two
    /// databases: for reading one database with another's key store, as a restore drill
    /// reads restored data with the live keys. Closing such a store closes both pools, which
    /// their other clones share; close the one that is the caller's own instead.
    pub async fn with_databases(data: Database, keys: Database) -> Result<Store> {
        let store = Store {
            audit: AuditLog::new(data.clone(), AuditConfig::default()),
            data,
            keys: KeyStore::new(keys),
            clock: Arc::new(SystemClock),
        };
        store.ensure_separate().await?;
        Ok(store)
    }

    /// Applies pending internal migrations to both databases. Idempotent.
    pub async fn migrate(&self) -> Result<()> {
        self.data.migrate().await?;
        self.keys.database().migrate().await?;
        Ok(())
    }

    /// The same store taking time from `clock` (a `ManualClock` in tests, which then move
    /// time instead of sleeping). Call it right after opening: the audit log's sealer, which
    /// clones of this store share, takes its time from the same clock from then on.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.audit.set_clock(clock.clone());
        self.keys = self.keys.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// The store's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The store's clock's current time, at the precision the store keeps.
    pub fn now(&self) -> At {
        At::from(self.clock.now())
    }

    /// The data database.
    pub fn data(&self) -> &Database {
        &self.data
    }

    /// The key store.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// The audit log in the data database (`docs/audit.md`).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The outbox of record change events in the data database (`crate::outbox`).
    pub fn outbox(&self) -> crate::outbox::Outbox {
        crate::outbox::Outbox::new(self.data.clone(), self.clock.clone())
    }

    /// Creates the table of every collection in `catalog` that has none yet and records it in
    /// `dv_collections`. Collections already applied are checked against their tables and
    /// left alone. Idempotent: applying the same catalog again changes nothing.
    ///
    /// A catalog that would change an existing collection's table (a field added, removed,
    /// retyped, encrypted or decrypted, made searchable, a subject reference changed, a
    /// collection removed) is refused with [`StoreError::IncompatibleCatalog`] listing every
    /// difference, and nothing is applied; catalog migrations come later.
    #[instrument(skip_all, fields(backend = %self.data.backend()))]
    pub async fn apply_catalog(&self, catalog: &Catalog) -> Result<ApplyReport> {
        schema::apply_catalog(&self.data, catalog, self.now()).await
    }

    /// Refreshes the query planner's statistics of both databases, after a bulk load (such
    /// as `datavern demo seed`) or where nothing else does (PostgreSQL with autovacuum off).
    ///
    /// PostgreSQL: `ANALYZE`. Without statistics its planner takes `subject_id IN (…)` with a
    /// few hundred ids to match most of the table and scans all of it: batched key lookups
    /// went from milliseconds to seconds on a key store of a few hundred thousand subjects.
    /// SQLite's planner uses the indexes without statistics, and InnoDB recalculates its own
    /// as tables grow, so on those backends this does nothing.
    #[instrument(skip_all, fields(backend = %self.data.backend()))]
    pub async fn analyze(&self) -> Result<()> {
        for db in [&self.data, self.keys.database()] {
            db.analyze().await?;
        }
        Ok(())
    }

    /// Health check of both databases.
    pub async fn ping(&self) -> Result<()> {
        self.data.ping().await?;
        self.keys.database().ping().await?;
        Ok(())
    }

    /// Closes both pools, after the audit log's pending group commits are written (entries
    /// are not sealed here: see [`AuditLog::shutdown`]).
    pub async fn close(&self) {
        self.audit.stop().await;
        self.data.close().await;
        self.keys.database().close().await;
    }

    async fn ensure_separate(&self) -> Result<()> {
        let keys = self.keys.database();
        if self.data.backend() != keys.backend() {
            return Ok(());
        }
        if self.data.identity().await? == keys.identity().await? {
            return Err(StoreError::KeyStoreNotSeparate {
                url: self.data.redacted_url().to_owned(),
            });
        }
        Ok(())
    }
}
