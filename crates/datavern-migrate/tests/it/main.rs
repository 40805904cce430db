//! datavern-migrate's integration tests, on every backend: plans, the changes a migration
//! makes end to end while the previous catalog keeps serving, renames, resumption,
//! refusals.

mod changes;
mod online;
mod refusals;
mod renames;
mod support;
