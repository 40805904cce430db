//! datavern's governance services, over the store's public API: what a data protection
//! officer, a caseworker or the retention job does *with* the governed records.
//!
//! - [`rights`]: the six rights of the data subject (access, rectification, erasure,
//!   restriction, portability, objection) carried out for a verified request.
//! - [`requests`]: the register of data subject requests and their lifecycle (verification,
//!   four-eyes approval, the Art. 12(3) deadline, history).
//! - [`controls`]: the consent, restriction and objection registers.
//! - [`retention`]: the retention job and its register.
//! - [`holds`]: placing and releasing legal holds.
//! - [`compliance`]: the DPO's compliance report.
//! - [`import`]: rows from a legacy system (CSV or a database table) imported through the
//!   governed path, resumable, with a data-quality report.
//!
//! [`Governance`] is the composition root: built once from a store, a catalog, a KEK
//! provider, the audit signer and a clock, it holds the record operations and every service,
//! and is what `datavern serve`, the CLI, the benchmark and the tests build.
//!
//! **Boundary**: this crate never opens a database or writes SQL for a collection table
//! itself; it reaches records through `datavern_store` (the one table model, the seal and
//! open routine, the audit writer and the outbox) and runs its own registers' statements
//! through `datavern_sql`. What the record path must enforce inside its own transactions (an
//! active legal hold, a consent given with a record) is the store's; this crate is where those
//! registers are managed.
//!
//! Errors: every service returns [`Error`], which wraps a [`StoreError`] or says which rule
//! refused ([`RightsError`], [`HoldError`]).

// A long function is split into named steps; clippy.toml sets the threshold (120 lines).
#![warn(clippy::too_many_lines)]

pub mod compliance;
pub mod controls;
mod error;
pub mod holds;
pub mod import;
pub mod mask;
pub mod requests;
pub mod retention;
pub mod rights;
mod stack;

pub use self::error::{Error, Result};
pub use self::holds::{HoldError, HoldScope, HoldSet, LegalHold, LegalHolds, NewHold};
pub use self::requests::Requests;
pub use self::rights::RightsError;
pub use self::stack::{Governance, GovernanceBuilder};
pub use datavern_store::StoreError;
