//! Integration tests for the `datavern` binary: one test binary, one module per command.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod audit;
mod backup;
mod catalog;
mod consent;
mod copy;
mod db;
mod demo;
mod detect;
mod id;
mod import;
mod migrate;
mod principals;
mod requests;
mod retention;
mod rights;
mod serve;
