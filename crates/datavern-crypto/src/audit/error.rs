//! Errors of the audit module: [`AuditError`] for keys, checkpoints and signed notes,
//! [`ChainError`] for what chain verification found.

/// A key string, key name, checkpoint or signed note was malformed, or a note's signature did
/// not verify.
///
/// Messages never repeat key material; they name at most a key name and key id, which are
/// public.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A key name or checkpoint origin is empty or contains a space, a plus sign or a control
    /// character.
    #[error("invalid key name or origin: {0}")]
    InvalidName(&'static str),

    /// A verifier key string (`<name>+<key id>+<base64 key>`) could not be parsed.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),

    /// A signer key string (`PRIVATE+KEY+<name>+<key id>+<base64 key>`) could not be parsed.
    /// The message never contains the key.
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(&'static str),

    /// A key string names a signature algorithm other than Ed25519 (`0x01`).
    #[error("unsupported signature algorithm 0x{0:02x}; only ed25519 (0x01) is supported")]
    UnsupportedAlgorithm(u8),

    /// The key id in a key string is not the one its name and public key hash to.
    #[error("key id does not match the key name and public key")]
    KeyIdMismatch,

    /// Note text that cannot be signed: empty, not ending in a newline, or containing a control
    /// character other than newline.
    #[error("invalid note text: {0}")]
    InvalidNoteText(&'static str),

    /// A signed note is not in the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),

    /// A signed note carries no signature by the verifier's key (wrong key, or signature
    /// removed).
    #[error("note has no signature by key {name}+{key_id:08x}")]
    NoSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key id.
        key_id: u32,
    },

    /// A signature by the verifier's key did not verify: the note text or the signature was
    /// altered. Deliberately says nothing more.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// The verifier's key name.
        name: String,
        /// The verifier's key id.
        key_id: u32,
    },

    /// The verified note text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),

    /// A checkpoint extension line is empty or contains a control character.
    #[error("invalid checkpoint extension line: {0}")]
    InvalidExtension(&'static str),

    /// A verified checkpoint is for another log than the one expected.
    #[error("checkpoint is for origin `{found}`, not `{expected}`")]
    OriginMismatch {
        /// The origin the caller expected.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },

    /// A chain hash is not 32 bytes (or 64 hex digits).
    #[error("malformed chain hash: {0}")]
    MalformedChainHash(&'static str),

    /// The signing primitive reported a failure.
    #[error("checkpoint signing failed")]
    Signing,
}

/// What [`ChainVerifier`](super::ChainVerifier) found wrong with an audit log, at the first
/// position where the log stops being consistent.
///
/// Positions are sequence numbers (the first entry is 1). An entry that was altered together
/// with its stored hash is reported at the next entry, whose stored hash no longer follows; a
/// chain recomputed from an altered entry onwards is reported at the first signed checkpoint
/// after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// An entry's sequence number skips ahead: entries before it were deleted (or the log was
    /// reordered and a later entry came first).
    #[error("sequence gap: expected {expected}, found {found}")]
    SequenceGap {
        /// The sequence number that should have come next.
        expected: u64,
        /// The sequence number that came.
        found: u64,
    },

    /// An entry's sequence number repeats or goes back: an entry was inserted or duplicated,
    /// or the log was reordered.
    #[error("sequence out of order: expected {expected}, found {found}")]
    SequenceOutOfOrder {
        /// The sequence number that should have come next.
        expected: u64,
        /// The sequence number that came.
        found: u64,
    },

    /// The hash recomputed from the previous hash, the sequence number and the entry differs
    /// from the hash stored with the entry: the entry or its stored hash was altered, or an
    /// entry before it was removed, inserted or replaced.
    #[error("hash mismatch at {sequence}")]
    HashMismatch {
        /// The entry's sequence number.
        sequence: u64,
    },

    /// The chain head after `size` entries differs from the head a signed checkpoint recorded
    /// for that size: the log up to there was rewritten (hashes recomputed).
    #[error("chain head at {size} does not match the signed checkpoint")]
    CheckpointMismatch {
        /// The checkpoint's size (sequence number of its last entry).
        size: u64,
    },

    /// The log ends before a signed checkpoint's size: entries at its end were deleted.
    #[error("log ends at {size} but a signed checkpoint covers {checkpoint} entries")]
    Truncated {
        /// Number of entries in the log.
        size: u64,
        /// Size of the largest signed checkpoint.
        checkpoint: u64,
    },

    /// Two checkpoints for the same size record different heads: the signer signed two
    /// different histories.
    #[error("two checkpoints at size {size} record different heads")]
    ConflictingCheckpoints {
        /// The size both checkpoints claim.
        size: u64,
    },

    /// A checkpoint was registered for a size the verifier has already passed; register
    /// checkpoints before feeding entries.
    #[error("checkpoint at size {size} is behind the {verified} entries already verified")]
    CheckpointBehind {
        /// The checkpoint's size.
        size: u64,
        /// Entries already verified.
        verified: u64,
    },

    /// The sequence number space is exhausted.
    #[error("sequence number overflow")]
    SequenceOverflow,
}

impl ChainError {
    /// The sequence number where verification stopped, where the error points at one: the
    /// expected entry for a sequence error, the entry whose hash did not match, the
    /// checkpoint's size for a checkpoint mismatch (the alteration is at or before it), and
    /// the first missing entry for a truncated log.
    pub fn position(&self) -> Option<u64> {
        match *self {
            Self::SequenceGap { expected, .. } | Self::SequenceOutOfOrder { expected, .. } => {
                Some(expected)
            }
            Self::HashMismatch { sequence } => Some(sequence),
            Self::CheckpointMismatch { size } => Some(size),
            Self::Truncated { size, .. } => size.checked_add(1),
            Self::ConflictingCheckpoints { .. }
            | Self::CheckpointBehind { .. }
            | Self::SequenceOverflow => None,
        }
    }
}
