//! datavern-store's integration tests, in one binary. Tests that touch a database are written
//! once as `async fn(Backend)` and run on SQLite, PostgreSQL and MariaDB/MySQL (see
//! `#[on_every_backend]` from the test kit); the servers must be reachable (`DATAVERN_TEST_POSTGRES_URL`,
//! `DATAVERN_TEST_MYSQL_URL`), or those tests fail.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![warn(clippy::too_many_lines)]

mod apply;
mod audit;
mod baseline;
mod copy;
mod ddl;
mod files;
mod health;
mod keys;
mod migrate;
mod records;
mod rls;
mod support;
mod times;
mod tls;
