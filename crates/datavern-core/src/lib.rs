//! datavern's pure core: the catalog model and its validation, the personal-data taxonomy,
//! NSM classification and residency rules, Norwegian identifiers, and PII detection.
//!
//! **Invariant:** this crate does no I/O. It never depends on tokio, sqlx, axum or hyper
//! (CI checks this with `cargo tree`), so every rule here is a pure function that can be
//! tested exhaustively and embedded anywhere.

pub mod access;
pub mod catalog;
pub mod classification;
pub mod clock;
pub mod consent;
pub mod controls;
pub mod demo;
pub mod dsr;
pub mod id;
pub mod pii;
pub mod record;
pub mod report;
pub mod residency;
pub mod taxonomy;
