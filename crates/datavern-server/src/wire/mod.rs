//! The JSON shapes of responses that are not errors. Errors are in [`crate::error`].

pub mod audit;
pub mod catalog;
pub mod hold;
pub mod record;
pub mod request;
