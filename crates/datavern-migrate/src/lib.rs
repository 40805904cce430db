//! datavern's catalog migrations.
//!
//! A catalog change that alters existing tables is not applied at start-up; it is
//! migrated: [`Migrator::plan`] compares the catalog in force (the newest row of
//! `dv_catalog_versions`, its text and checksum) with a new one, change by change, each
//! classed ([`ChangeClass`]) with its DDL per dialect and the rows it touches;
//! [`Migrator::apply`] runs it online (expand, then keyset backfills with a checkpoint per
//! batch, resumable after a kill), [`Migrator::complete`] contracts and puts the new catalog
//! in force, [`Migrator::abort`] rolls back before that. A session lock keeps two processes
//! from migrating one database at once, and every step is in the audit log
//! (`migration.*`). See `docs/migrations.md`.

#![forbid(unsafe_code)]

mod backfill;
mod error;
mod migrator;
pub mod plan;

pub use self::backfill::OnInvalid;
pub use self::error::{MigrateError, Refusal, Result};
pub use self::migrator::{Applied, MigrateOptions, Migration, Migrator, Status};
pub use self::plan::{Change, ChangeClass, ChangeKind, Plan};
