//! datavern's storage over sqlx, on SQLite (the embedded default), PostgreSQL and
//! MariaDB/MySQL.
//!
//! **Invariant**: this is the only crate that knows SQL dialects. Other crates hand it
//! catalog types, ids and wrapped keys; statements are built here, with sea-query where one
//! statement serves every dialect, and per dialect only where a backend has its own feature
//! (migrations, row-level security, locks).
//!
//! A [`Store`] is two databases by design, each a [`Database`] (a pool on one backend):
//!
//! ```text
//! Store
//!  ├─ data   (data.db | its own URL)  dv_collections, c_<collection>…, dv_audit,
//!  │                                  dv_audit_head, dv_audit_checkpoints, dv_outbox, dv_jobs,
//!  │                                  dv_legal_holds (→ LegalHolds), dv_requests,
//!  │                                  dv_request_events (→ Requests),
//!  │                                  dv_retention_register (→ Retention)
//!  └─ keys   (keys.db | its own URL)  dv_subject_keys, dv_index_keys        → KeyStore
//! ```
//!
//! so that a copy of the data never carries the keys that decrypt it, and destroying a
//! subject's key reaches every backup of the data (crypto-shredding). Internal tables have
//! versioned migrations per dialect; collection tables are generated from the catalog by
//! [`Store::apply_catalog`] (see [`schema`]). On PostgreSQL every collection table has
//! row-level security by tenant. `docs/storage.md` has the schema per dialect.
//!
//! ```no_run
//! # async fn demo(catalog: &datavern_core::catalog::Catalog) -> datavern_store::Result<()> {
//! use datavern_store::{Store, StoreConfig};
//!
//! let store = Store::open(&StoreConfig::embedded("/var/lib/datavern")).await?;
//! store.apply_catalog(catalog).await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
//!
//! [`baseline`] is the raw-SQL baseline `datavern bench` compares the governed path with.
//!
//! With the `test-support` feature, `datavern_store::testing` gives each test a fresh database
//! on any backend.

pub mod audit;
mod backend;
pub mod baseline;
pub mod compliance;
mod config;
mod conn;
pub mod controls;
mod database;
mod error;
pub mod grants;
pub mod holds;
mod ids;
mod keys;
mod migrate;
pub mod outbox;
pub mod records;
pub mod requests;
pub mod retention;
pub mod rights;
pub mod schema;
mod store;
mod table;
#[cfg(feature = "test-support")]
pub mod testing;

pub use self::audit::{AuditEntry, AuditLog};
pub use self::backend::{Backend, UnknownBackend};
pub use self::config::{
    DatabaseConfig, EMBEDDED_DATA_FILE, EMBEDDED_KEYS_FILE, StoreConfig, TlsMode, UnknownTlsMode,
    redact_url,
};
pub use self::database::{Database, DbPool, PoolStats};
pub use self::error::{DatabaseRole, Result, StoreError};
pub use self::holds::{HoldError, HoldScope, HoldSet, LegalHold, LegalHolds, NewHold};
pub use self::ids::{InvalidSubjectId, SubjectId};
pub use self::keys::{KeyState, KeyStore, StoredSubjectKey};
pub use self::migrate::migrations;
pub use self::outbox::Outbox;
pub use self::records::{RecordError, RecordView, Records, RequestMeta};
pub use self::requests::Requests;
pub use self::schema::{ApplyReport, IncompatibleCatalog};
pub use self::store::Store;
