//! Integration tests for the `datavern` binary: one test binary, one module per command.

mod catalog;
mod detect;
mod id;
