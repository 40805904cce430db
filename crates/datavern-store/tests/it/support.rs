//! Shared helpers, from `datavern-testkit`, and this crate's own test catalogs.

pub(crate) use datavern_testkit::fixtures::{KOMMUNE, catalog, subject, tenant};
pub(crate) use datavern_testkit::on_every_backend;
pub(crate) use datavern_testkit::sql::{execute, integers, scalar, strings, tables};
pub(crate) use datavern_testkit::{Kek, report};

/// A small catalog.
pub(crate) const SMALL_V1: &str = include_str!("catalogs/small_v1.yaml");
/// The small catalog changed in every way `apply_catalog` refuses.
pub(crate) const SMALL_V2: &str = include_str!("catalogs/small_v2.yaml");
