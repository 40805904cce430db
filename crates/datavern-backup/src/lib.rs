//! datavern's backups: consistent logical snapshots of the data database and of the key
//! store, kept in the restic repository format through `rustic_core` (content-defined
//! chunking with deduplication, zstd compression, AES-256 encryption, verifiable), on a
//! local directory or S3-compatible object storage, so that stock `restic` can list, check
//! and restore them.
//!
//! - [`Backups`]: the service over one live store and one repository: `init`, `create`,
//!   `list`, `verify`, `restore`, `forget` (retention tiers, never a held snapshot), `hold`
//!   and `release`, each audited in the live store's log with the snapshot id and never a
//!   value.
//! - The repository password is random, generated at `init`, and stored only wrapped by the
//!   KEK ([`datavern_crypto::RepositoryPassword`]).
//! - A data snapshot is refused before anything is written when the repository's declared
//!   location may not hold one of the catalog's collections (residency).
//! - **Crypto-shredding survives restore**: data and keys are backed up apart; a restored data
//!   snapshot is read with the live key store, so a subject erased after the snapshot stays
//!   unreadable; a restored key store has every key destroyed since destroyed again. See
//!   `docs/backup.md`.
//! - [`pitr`]: point-in-time recovery of a PostgreSQL cluster through pgBackRest: the private
//!   configuration, WAL archiving, full, differential and incremental backups, and a restore
//!   to a chosen moment into an empty data directory.

mod backups;
mod config;
mod create;
mod drill;
mod error;
mod forget;
pub mod pitr;
mod progress;
mod repository;
mod restore;
mod snapshot;
mod spool;

pub use self::backups::{Backups, ReadData, VerifyReport};
pub use self::config::{Placement, RepositoryConfig, RepositorySpec, S3Settings, S3Target};
pub use self::drill::{CollectionCount, DRILL_SAMPLE, DrillReport};
pub use self::error::{BackupError, Refusal, Result};
pub use self::forget::{ForgetReport, KeepPolicy, Prune};
pub use self::progress::ProgressMode;
pub use self::restore::RestoreReport;
pub use self::snapshot::{SnapshotInfo, SnapshotKind, SnapshotMeta};
