//! PII detection: tricky cases, the labelled corpus's precision and recall, column
//! classification, and properties over arbitrary input.

mod cases;
mod column;
mod corpus;
mod props;
