//! datavern crypto
