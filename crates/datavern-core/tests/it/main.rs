//! Integration tests for datavern-core: one test binary, one module per feature.

mod catalog;
mod id;
mod pii;
