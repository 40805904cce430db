//! datavern's storage: collection tables, key store, audit log and outbox, on the SQL dialect
//! layer (`datavern_sql`) over SQLite (the embedded default), PostgreSQL and MariaDB/MySQL.
//!
//! **Invariant**: every write is one transaction with its audit entry and event. Other crates
//! hand the store catalog types, ids and wrapped keys; it builds statements with sea-query
//! and runs them through `datavern_sql::Conn`. What differs between the backends (pools,
//! transactions, locks, migrations, time values) lives in `datavern_sql`; the per-dialect
//! branches still here (collection DDL and row-level security in [`schema`], row decoding in
//! [`records`]) move there with the table model.
//!
//! A [`Store`] is two databases by design, each a `datavern_sql::Database` (a pool on one
//! backend):
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
//! use datavern_sql::StoreConfig;
//! use datavern_store::Store;
//!
//! let store = Store::open(&StoreConfig::embedded("/var/lib/datavern")).await?;
//! store.apply_catalog(catalog).await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
//!
//! [`baseline`] is the raw counterpart of a data subject's access and erasure that `datavern
//! demo rights` compares the governed path with (the bench's raw table is
//! `datavern_sql::baseline`).
//!
//! With the `test-support` feature, `datavern_store::testing` opens a store on the fresh
//! databases `datavern_sql::testing` gives each test, on any backend.

// A long function is split into named steps (issue 11); clippy.toml sets the threshold.
#![warn(clippy::too_many_lines)]

pub mod audit;
pub mod baseline;
pub mod consent;
pub mod copy;
mod error;
pub mod holds;
mod ids;
pub mod jobs;
mod keys;
pub mod outbox;
pub mod records;
pub mod schema;
mod store;
pub mod table;
#[cfg(feature = "test-support")]
pub mod testing;

pub use self::audit::{AuditEntry, AuditLog};
pub use self::error::{Result, StoreError};
pub use self::holds::{HoldScope, HoldSet, LegalHold};
pub use self::ids::{InvalidSubjectId, SubjectId};
pub use self::keys::{KeyState, KeyStore, StoredSubjectKey};
pub use self::outbox::Outbox;
pub use self::records::{RecordError, RecordView, Records, RequestMeta};
pub use self::schema::{ApplyReport, IncompatibleCatalog};
pub use self::store::Store;
