//! datavern store (work in progress)
