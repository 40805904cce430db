//! Reports generated from the catalog alone: the record of processing activities (GDPR
//! Art. 30(1)), as a typed document and as Markdown. See `docs/reports.md`.
//!
//! Pure functions of a validated [`Catalog`](crate::catalog::Catalog): the HTTP API and the
//! CLI serialize or render what [`Ropa::from_catalog`] returns.

mod ropa;

pub use self::ropa::{
    CategoryEntry, Controller, DataSubjectEntry, PersonalDataEntry, PurposeEntry, RetentionEntry,
    Ropa, SecurityEntry, StorageEntry,
};
