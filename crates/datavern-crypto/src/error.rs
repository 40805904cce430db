//! The crate's error type.
//!
//! Messages are lowercase, carry no trailing period and never contain key bytes, plaintext or
//! the contents of a key file: they name at most a path, a line number, an id or a version.

use std::path::PathBuf;

use crate::ids::{KekId, KekVersion, KeyKind};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `datavern-crypto`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field envelope did not decrypt: wrong key, wrong context, truncated or altered bytes,
    /// or an unknown format version. Deliberately says nothing more.
    #[error("field ciphertext failed authentication")]
    FieldAuthentication,

    /// A field envelope is too short or has an unknown format version, so no key id can be read.
    #[error("field envelope is malformed")]
    MalformedEnvelope,

    /// A wrapped key did not unwrap: wrong associated data (tenant, subject, key id) or
    /// altered bytes. Deliberately says nothing more.
    #[error("wrapped key failed authentication")]
    UnwrapAuthentication,

    /// The stored encoding of a wrapped key could not be parsed.
    #[error("wrapped key encoding is malformed: {0}")]
    MalformedWrappedKey(&'static str),

    /// A wrapped key names a KEK other than the provider asked to unwrap it.
    #[error("wrapped key belongs to kek `{found}`, not to provider `{expected}`")]
    KekMismatch {
        /// The provider's KEK id.
        expected: KekId,
        /// The KEK id recorded in the wrapped key.
        found: KekId,
    },

    /// A wrapped key names a KEK version the provider does not hold.
    #[error("kek `{kek}` has no version {version}")]
    UnknownKekVersion {
        /// The provider's KEK id.
        kek: KekId,
        /// The version recorded in the wrapped key.
        version: KekVersion,
    },

    /// A key of one kind was used where another kind was expected.
    #[error("expected a {expected}, found a {found}")]
    WrongKeyKind {
        /// The kind the caller asked for.
        expected: KeyKind,
        /// The kind actually present.
        found: KeyKind,
    },

    /// A KEK id is empty, too long or contains characters other than printable ASCII.
    #[error("invalid kek id: {0}")]
    InvalidKekId(&'static str),

    /// A key id is not 32 hex digits.
    #[error("invalid key id: expected 32 hex digits")]
    InvalidKeyId,

    /// A version number is zero (versions start at 1) or would overflow.
    #[error("invalid version: versions start at 1 and fit in 32 bits")]
    InvalidVersion,

    /// A blind index length outside the allowed range was requested.
    #[error(
        "blind index length must be {min}..={max} bytes, not {0}",
        min = crate::BlindIndexLength::MIN,
        max = crate::BlindIndexLength::MAX
    )]
    BlindIndexLength(usize),

    /// A padding bucket outside the allowed range was requested.
    #[error(
        "padding bucket must be {min}..={max} bytes, not {0}",
        min = crate::PaddingBucket::MIN,
        max = crate::PaddingBucket::MAX
    )]
    PaddingBucket(usize),

    /// A context value (tenant, collection, field, record id or subject id) is longer than the
    /// 4 GiB its length prefix can describe.
    #[error("context value is too long to encode")]
    ContextTooLong,

    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFileIo {
        /// The key file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The key file already exists and would have been overwritten.
    #[error("key file {path} already exists; refusing to overwrite it")]
    KeyFileExists {
        /// The key file.
        path: PathBuf,
    },

    /// A rotation's temporary file `<key file>.rotate` exists: another rotation is running,
    /// or one was interrupted before it could rename the file into place.
    #[error(
        "key file rotation pending: {path} exists; if no rotation is running, check that the \
         key file is intact and remove it"
    )]
    KeyFileRotationPending {
        /// The temporary file.
        path: PathBuf,
    },

    /// The key file can be read or written by group or others.
    #[error(
        "key file {path} is accessible by group or others (mode {mode:04o}); \
         restrict it with `chmod 600`"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The key file is not in the expected format. The message names the line but never
    /// repeats its content, which may be key material.
    #[error("malformed key file {path}{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    MalformedKeyFile {
        /// The key file.
        path: PathBuf,
        /// The 1-based line number, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        reason: &'static str,
    },

    /// An audit key, checkpoint or signed note was malformed or did not verify.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),

    /// The operating system's secure random generator failed.
    #[error("secure random generator failed")]
    Random,

    /// A cryptographic primitive reported an unexpected failure (for example a plaintext
    /// beyond AES-GCM's length limit).
    #[error("cryptographic operation failed")]
    Crypto,
}
