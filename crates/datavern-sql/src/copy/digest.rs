//! The verification digest of a table: the rows' canonical values
//! ([`Value::canonical`](super::value::Value::canonical)) hashed row by row with SHA-256,
//! and the row hashes added up (as four 64-bit lanes, wrapping). The sum does not depend on
//! the order rows are read in, which differs between backends wherever a key is text in a
//! collation of the backend's own; the same rows give the same digest on every backend.

use aws_lc_rs::digest::{SHA256, digest};

use super::plan::TablePlan;
use super::rows::RowValues;

/// A running digest of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TableDigest {
    lanes: [u64; 4],
    rows: u64,
}

impl TableDigest {
    /// Adds `row`.
    pub(crate) fn add(&mut self, plan: &TablePlan, row: &RowValues, scratch: &mut Vec<u8>) {
        scratch.clear();
        for (value, column) in row.iter().zip(&plan.columns) {
            value.canonical(column.kind, scratch);
        }
        let hash = digest(&SHA256, scratch);
        for (lane, chunk) in self.lanes.iter_mut().zip(hash.as_ref().chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *lane = lane.wrapping_add(u64::from_be_bytes(word));
        }
        self.rows += 1;
    }

    /// The rows added.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The digest as 64 hex digits.
    pub(crate) fn hex(&self) -> String {
        self.lanes
            .iter()
            .map(|lane| format!("{lane:016x}"))
            .collect()
    }
}
