//! Integration tests for datavern-core: one test binary, one module per feature.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod catalog;
mod catalog_protection;
mod consent;
mod controls;
mod id;
mod pii;
mod record;
mod requests;
