//! The hash chain that seals audit entries in commit order, and its verifier.
//!
//! ```text
//! GENESIS          = SHA-256( lp("datavern audit genesis v1") )
//! h(n)             = chain_next(h(n - 1), n, entry n)            n = 1, 2, ...
//! chain_next(p, n, e) = SHA-256( lp("datavern audit chain v1") ‖ p ‖ u64(n) ‖ u64(len e) ‖ e )
//! ```
//!
//! `lp(x)` is the length of `x` as a 4-byte big-endian integer followed by `x`; `u64` is
//! 8 bytes big-endian. See `docs/crypto.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{Context, SHA256};

use super::error::{AuditError, ChainError};
use crate::encoding::{hex_decode_into, hex_encode};

/// Domain-separation tag of [`chain_next`].
const CHAIN_TAG: &[u8] = b"datavern audit chain v1";

/// A link of the audit hash chain: SHA-256 over the previous link, the entry's sequence number
/// and its canonical bytes. Not secret; `Display` is lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; ChainHash::LEN]);

/// The chain hash before the first entry: SHA-256 of `lp("datavern audit genesis v1")`, that
/// is `3da6001d…332f8b18`. A log with no entries has this head.
pub const GENESIS: ChainHash = ChainHash([
    0x3d, 0xa6, 0x00, 0x1d, 0x47, 0x69, 0x65, 0x30, 0x49, 0x59, 0xdd, 0x22, 0xb0, 0x06, 0x33, 0x17,
    0x9c, 0xf3, 0x37, 0xfb, 0x55, 0x54, 0xa5, 0x88, 0x95, 0x7d, 0xf4, 0x5c, 0x33, 0x2f, 0x8b, 0x18,
]);

/// The chain hash of the entry with sequence number `sequence` whose predecessor's hash is
/// `prev` (or [`GENESIS`] for sequence 1). `entry_canonical_bytes` is the entry's unambiguous
/// encoding, for instance built with [`CanonicalWriter`](super::CanonicalWriter).
pub fn chain_next(prev: &ChainHash, sequence: u64, entry_canonical_bytes: &[u8]) -> ChainHash {
    let mut ctx = Context::new(&SHA256);
    // The tag is a constant far below 4 GiB.
    ctx.update(&(CHAIN_TAG.len() as u32).to_be_bytes());
    ctx.update(CHAIN_TAG);
    ctx.update(&prev.0);
    ctx.update(&sequence.to_be_bytes());
    ctx.update(&(entry_canonical_bytes.len() as u64).to_be_bytes());
    ctx.update(entry_canonical_bytes);
    ChainHash::from_digest(ctx.finish().as_ref())
}

impl ChainHash {
    /// Length of a chain hash in bytes.
    pub const LEN: usize = 32;

    /// The hash from its stored bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The hash's bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    fn from_digest(digest: &[u8]) -> Self {
        let mut bytes = [0u8; Self::LEN];
        bytes.copy_from_slice(digest);
        Self(bytes)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_encode(&self.0))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl FromStr for ChainHash {
    type Err = AuditError;

    /// Parses the 64-hex-digit form produced by `Display`.
    fn from_str(s: &str) -> Result<Self, AuditError> {
        let mut bytes = [0u8; Self::LEN];
        hex_decode_into(s, &mut bytes)
            .map_err(|()| AuditError::MalformedChainHash("expected 64 hex digits"))?;
        Ok(Self(bytes))
    }
}

impl TryFrom<&[u8]> for ChainHash {
    type Error = AuditError;

    /// The hash from stored bytes, which must be exactly 32.
    fn try_from(bytes: &[u8]) -> Result<Self, AuditError> {
        <[u8; Self::LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| AuditError::MalformedChainHash("expected 32 bytes"))
    }
}

/// A position in the chain: the number of entries (the sequence number of the last one) and
/// the hash after it. What a checkpoint signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries, which is also the sequence number of the last one.
    pub size: u64,
    /// The chain hash after the last entry ([`GENESIS`] when `size` is 0).
    pub hash: ChainHash,
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: Self = Self {
        size: 0,
        hash: GENESIS,
    };
}

/// Checks an audit log entry by entry, in the order it is stored, and reports the first
/// position where it stops being consistent.
///
/// Feed every entry with [`push`](Self::push): its sequence number (from 1, without gaps),
/// its canonical bytes and the chain hash stored with it. Register the log's signed
/// checkpoints first with [`expect`](Self::expect), so that a chain recomputed after an
/// alteration, and entries deleted from the end, are detected too; then call
/// [`finish`](Self::finish).
///
/// After the first error the verifier stays failed: every later call returns that error.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    head: ChainHead,
    checkpoints: BTreeMap<u64, ChainHash>,
    failure: Option<ChainError>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier for a log from its first entry (sequence number 1, after [`GENESIS`]).
    pub fn new() -> Self {
        Self::resume(ChainHead::EMPTY)
    }

    /// A verifier that continues after a trusted head, typically a verified checkpoint's: the
    /// next entry must have sequence number `head.size + 1` and follow `head.hash`.
    pub fn resume(head: ChainHead) -> Self {
        Self {
            head,
            checkpoints: BTreeMap::new(),
            failure: None,
        }
    }

    /// Registers a head the chain must pass through, from a verified signed checkpoint.
    ///
    /// Fails when two checkpoints disagree about the same size, when the checkpoint is behind
    /// the entries already verified, and at once when it is for exactly the current size and
    /// does not match.
    pub fn expect(&mut self, checkpoint: ChainHead) -> Result<(), ChainError> {
        self.check_failed()?;
        let result = self.register(checkpoint);
        self.record(result)
    }

    /// Checks the next entry of the log: its sequence number must follow the previous one, and
    /// the hash recomputed from the previous hash, the sequence number and `entry` must equal
    /// `stored`, the hash kept with the entry.
    pub fn push(
        &mut self,
        sequence: u64,
        entry: &[u8],
        stored: &ChainHash,
    ) -> Result<(), ChainError> {
        self.check_failed()?;
        let result = self.step(sequence, entry, stored);
        self.record(result)
    }

    /// Entries verified so far and the chain hash after them.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Ends verification: fails with the first error found, or with
    /// [`ChainError::Truncated`] when a registered checkpoint lies beyond the last entry.
    /// Returns the verified head.
    pub fn finish(self) -> Result<ChainHead, ChainError> {
        self.check_failed()?;
        if let Some((&checkpoint, _)) = self.checkpoints.last_key_value() {
            return Err(ChainError::Truncated {
                size: self.head.size,
                checkpoint,
            });
        }
        Ok(self.head)
    }

    fn check_failed(&self) -> Result<(), ChainError> {
        match &self.failure {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    fn record(&mut self, result: Result<(), ChainError>) -> Result<(), ChainError> {
        if let Err(err) = &result {
            self.failure = Some(err.clone());
        }
        result
    }

    fn register(&mut self, checkpoint: ChainHead) -> Result<(), ChainError> {
        let ChainHead { size, hash } = checkpoint;
        if size < self.head.size {
            return Err(ChainError::CheckpointBehind {
                size,
                verified: self.head.size,
            });
        }
        if size == self.head.size {
            return if hash == self.head.hash {
                Ok(())
            } else {
                Err(ChainError::CheckpointMismatch { size })
            };
        }
        match self.checkpoints.insert(size, hash) {
            Some(previous) if previous != hash => Err(ChainError::ConflictingCheckpoints { size }),
            _ => Ok(()),
        }
    }

    fn step(&mut self, sequence: u64, entry: &[u8], stored: &ChainHash) -> Result<(), ChainError> {
        let expected = self
            .head
            .size
            .checked_add(1)
            .ok_or(ChainError::SequenceOverflow)?;
        if sequence > expected {
            return Err(ChainError::SequenceGap {
                expected,
                found: sequence,
            });
        }
        if sequence < expected {
            return Err(ChainError::SequenceOutOfOrder {
                expected,
                found: sequence,
            });
        }
        let computed = chain_next(&self.head.hash, sequence, entry);
        if computed != *stored {
            return Err(ChainError::HashMismatch { sequence });
        }
        self.head = ChainHead {
            size: sequence,
            hash: computed,
        };
        match self.checkpoints.remove(&sequence) {
            Some(signed) if signed != computed => {
                Err(ChainError::CheckpointMismatch { size: sequence })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_the_hash_of_its_tag() {
        const GENESIS_TAG: &[u8] = b"datavern audit genesis v1";
        let mut input = (GENESIS_TAG.len() as u32).to_be_bytes().to_vec();
        input.extend_from_slice(GENESIS_TAG);
        let digest = aws_lc_rs::digest::digest(&SHA256, &input);
        assert_eq!(GENESIS.as_bytes().as_slice(), digest.as_ref());
    }

    #[test]
    fn hash_parses_from_hex_and_bytes() {
        let text = GENESIS.to_string();
        assert_eq!(text.parse::<ChainHash>().unwrap(), GENESIS);
        assert_eq!(
            ChainHash::try_from(GENESIS.as_bytes().as_slice()).unwrap(),
            GENESIS
        );
        assert!(ChainHash::try_from(&GENESIS.as_bytes()[1..]).is_err());
        assert!("zz".parse::<ChainHash>().is_err());
    }

    #[test]
    fn entry_length_is_bound() {
        // Without the length prefix, moving bytes between the sequence number and the entry
        // could collide; with it, these differ.
        let a = chain_next(&GENESIS, 1, b"ab");
        let b = chain_next(&GENESIS, 1, b"ab\0");
        assert_ne!(a, b);
    }
}
