//! datavern-server's integration tests, in one binary: each test spawns the whole server on
//! `127.0.0.1:0` with its own databases and talks to it over HTTP with reqwest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod app;
mod audit;
mod audit_coverage;
mod auth;
mod consent;
mod consent_recorder;
mod errors;
mod flood;
mod four_eyes;
mod health;
mod metrics;
mod no_echo;
mod openapi;
mod records;
mod reports;
mod requests;
mod rights;
mod tenants;
mod write_guards;
