//! datavern-server's integration tests, in one binary: each test spawns the whole server on
//! `127.0.0.1:0` with its own databases and talks to it over HTTP with reqwest.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[macro_use]
mod app;
mod audit;
mod auth;
mod consent;
mod errors;
mod four_eyes;
mod health;
mod logs;
mod metrics;
mod openapi;
mod records;
mod reports;
mod requests;
mod rights;
