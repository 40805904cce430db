//! datavern's shared test support, for the integration tests of every crate (a dev-dependency
//! only; never linked into the binary).
//!
//! - [`#[on_every_backend]`](on_every_backend): an `async fn(Backend)` becomes one test per
//!   backend, `name::sqlite`, `name::postgres` and `name::mariadb`. The servers must be reachable
//!   (`DATAVERN_TEST_POSTGRES_URL`, `DATAVERN_TEST_MYSQL_URL` or the local defaults); a test
//!   fails, never skips, when one is not.
//! - [`Env`]: fresh databases on one backend (`datavern_sql::testing::TestDb`), a migrated
//!   store with a catalog applied, a local KEK and the record service, with helpers that create
//!   and read records through the governed path as a caseworker of a tenant.
//! - [`fixtures`]: the example catalog, tenants, subject ids, synthetic residents whose
//!   fødselsnummer comes from `datavern_core::id::synth`.
//! - [`Kek`]: a local KEK in a temporary directory, with data and index keys to hand.
//! - [`sql`]: raw SQL for assertions about what is stored (counts, bytes, table names).
//! - `app` (feature `server`): `TestApp`, the server on `127.0.0.1:0` over fresh databases,
//!   with API keys for a caseworker, a limited principal, another tenant and a DPO.

// Test support: a failed setup step is a failed test, so panicking is the right answer here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "server")]
pub mod app;
mod env;
pub mod fixtures;
mod kek;
pub mod sql;

pub use self::env::{Env, meta, record_error};
pub use self::kek::Kek;
pub use datavern_sql::Backend;
pub use datavern_testkit_macros::on_every_backend;

/// An error with its causes, on one line, for a test's panic message.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
    datavern_sql::testing::report(err)
}
