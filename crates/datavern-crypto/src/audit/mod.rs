//! The audit log's cryptography: the hash chain that seals entries in commit order, and
//! Ed25519-signed checkpoints of its head in the C2SP signed-note format.
//!
//! ```text
//! entry 1 ──► h1 = chain_next(GENESIS, 1, bytes1)
//! entry 2 ──► h2 = chain_next(h1, 2, bytes2)
//!   ...
//! entry n ──► hn = chain_next(h(n-1), n, bytesn)
//!               └─► Checkpoint { origin, size n, head hn } ──► CheckpointSigner ──► SignedNote
//! ```
//!
//! The store writes each entry's canonical bytes ([`CanonicalWriter`]) and chain hash in the
//! transaction that makes the change, and periodically signs a [`Checkpoint`]. `audit verify`
//! replays the log through a [`ChainVerifier`] with the checkpoints that a
//! [`CheckpointVerifier`] accepted, which needs only the public verifier key.
//!
//! No database here: this module is pure computation and formats, specified in
//! `docs/crypto.md`.
//!
//! ```
//! use datavern_crypto::audit::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let signer = CheckpointSigner::generate(KeyName::new("datavern.example/audit")?)?;
//!
//! let mut head = ChainHead::EMPTY;
//! let mut log = Vec::new();
//! for (sequence, action) in (1..).zip(["write", "read", "denied"]) {
//!     let entry = CanonicalWriter::new().str("entry v1").str(action).finish();
//!     head = ChainHead { size: sequence, hash: chain_next(&head.hash, sequence, &entry) };
//!     log.push((sequence, entry, head.hash));
//! }
//! let note = signer.sign(&Checkpoint::new("datavern.example/audit", head)?)?;
//!
//! // Offline, with only the verifier key:
//! let verifier = CheckpointVerifier::new(&signer.verifier_key())?;
//! let checkpoint = verifier.verify_for_origin(note.as_str(), "datavern.example/audit")?;
//! let mut chain = ChainVerifier::new();
//! chain.expect(checkpoint.chain_head())?;
//! for (sequence, entry, stored) in &log {
//!     chain.push(*sequence, entry, stored)?;
//! }
//! assert_eq!(chain.finish()?, head);
//! # Ok(()) }
//! ```

mod canonical;
mod chain;
mod checkpoint;
mod error;
mod note;
mod signer;

pub use self::canonical::CanonicalWriter;
pub use self::chain::{ChainHash, ChainHead, ChainVerifier, GENESIS, chain_next};
pub use self::checkpoint::Checkpoint;
pub use self::error::{AuditError, ChainError};
pub use self::note::{KeyName, NoteText, SignedNote};
pub use self::signer::{CheckpointSigner, CheckpointVerifier};
