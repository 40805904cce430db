//! PII detection: Norwegian identifiers in free text, and classification of table columns
//! from a sample of their values and their name.
//!
//! - [`Detector`] scans text in one pass and reports [`Finding`]s: kind (an
//!   [`IdentifierKind`](crate::id::IdentifierKind) and, where it has one, a [`Variant`]), byte
//!   span and a score in [0, 1]. Every candidate is checksum-validated with [`crate::id`];
//!   Norwegian and English context words around it raise or lower the score and decide
//!   between a fødselsnummer and a kontonummer (every valid fødselsnummer also passes the
//!   kontonummer check).
//! - [`classify_column`] (or a reusable [`ColumnClassifier`]) tells what a column holds from the
//!   share of sampled values that validate and what its name says; [`column_name_signal`]
//!   reads the name alone, also for names and addresses.
//! - [`corpus`] generates a labelled synthetic Norwegian corpus to measure precision and recall.
//!
//! `docs/pii-detection.md` documents the recognizers, the context words, the scoring and the
//! measured precision, recall and throughput.

mod column;
mod context;
pub mod corpus;
mod detector;
mod email;
mod finding;
mod numbers;
mod scanner;

pub use column::{
    ColumnClassification, ColumnClassifier, ColumnKind, NameEvidence, classify_column,
    column_name_signal,
};
pub use detector::{DEFAULT_MIN_SCORE, Detector};
pub use finding::{Finding, Variant};
