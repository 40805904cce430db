//! datavern-governance's integration tests, in one binary: rights, requests, controls,
//! retention and legal holds on a real store. Tests that touch a database are written once as
//! `async fn(Backend)` and run on SQLite, PostgreSQL and MariaDB/MySQL (see
//! `#[on_every_backend]` from the test kit); the servers must be reachable (`DATAVERN_TEST_POSTGRES_URL`,
//! `DATAVERN_TEST_MYSQL_URL`), or those tests fail.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod controls;
mod holds;
mod import;
mod mask;
mod requests;
mod retention;
mod rights;
mod support;
