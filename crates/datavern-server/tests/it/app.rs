//! `TestApp` and the helpers around it, from `datavern-testkit` (feature `server`).

pub use datavern_testkit::app::*;
