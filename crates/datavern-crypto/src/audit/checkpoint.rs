//! [`Checkpoint`]: the note text that commits to the audit chain's head.
//!
//! In the shape of a C2SP transparency-log checkpoint (<https://c2sp.org/tlog-checkpoint>):
//!
//! ```text
//! <origin>
//! <size: entries in the log, decimal>
//! <base64 of the 32-byte chain hash after the last entry>
//! [extension lines]
//! ```
//!
//! with one difference: the third line is the head of a hash chain, not the root of an RFC 6962
//! Merkle tree, so it supports no inclusion or consistency proofs (see `docs/crypto.md`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::chain::{ChainHash, ChainHead};
use super::error::AuditError;
use super::note::{NoteText, check_name};

/// The signed statement "the audit log `origin` has `size` entries and its chain hash after
/// the last one is `head`", with optional extension lines (e.g. a timestamp).
///
/// Built by the log with [`new`](Self::new) and signed by
/// [`CheckpointSigner`](super::CheckpointSigner); obtained by a reader only from
/// [`CheckpointVerifier::verify`](super::CheckpointVerifier::verify), because unsigned
/// checkpoint text must not be trusted.
#[derive(Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    head: ChainHead,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint of the log named `origin` (the rules of a [`KeyName`](super::KeyName):
    /// non-empty, no white space, `+` or control characters) at `head`.
    pub fn new(origin: &str, head: ChainHead) -> Result<Self, AuditError> {
        check_name(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            head,
            extensions: Vec::new(),
        })
    }

    /// Appends an extension line, such as `timestamp 2025-01-01T00:00:00Z`: non-empty, without
    /// control characters (so without newlines). Extension lines are signed with the rest.
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self, AuditError> {
        let line = line.into();
        check_extension(&line)?;
        self.extensions.push(line);
        Ok(self)
    }

    /// The log's identity, the first line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries the checkpoint covers (the sequence number of the last one).
    pub fn size(&self) -> u64 {
        self.head.size
    }

    /// The chain hash after the last entry covered.
    pub fn head_hash(&self) -> &ChainHash {
        &self.head.hash
    }

    /// Size and head hash together, for [`ChainVerifier`](super::ChainVerifier).
    pub fn chain_head(&self) -> ChainHead {
        self.head
    }

    /// The extension lines, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The checkpoint's note text, the bytes that are signed.
    pub fn to_note_text(&self) -> NoteText {
        let mut text = String::with_capacity(
            self.origin.len()
                + 21
                + 45
                + self.extensions.iter().map(|e| e.len() + 1).sum::<usize>(),
        );
        text.push_str(&self.origin);
        text.push('\n');
        text.push_str(&self.head.size.to_string());
        text.push('\n');
        STANDARD.encode_string(self.head.hash.as_bytes(), &mut text);
        text.push('\n');
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        // Every part was checked when the checkpoint was built.
        NoteText::from_checked(text)
    }

    /// Parses verified note text (ending in a newline, free of control characters).
    pub(crate) fn parse(text: &str) -> Result<Self, AuditError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(AuditError::MalformedCheckpoint(
                "text does not end with a newline",
            ))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(hash)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(AuditError::MalformedCheckpoint(
                "expected origin, size and hash lines",
            ));
        };
        check_name(origin).map_err(|_| AuditError::MalformedCheckpoint("invalid origin line"))?;
        let size = parse_size(size).ok_or(AuditError::MalformedCheckpoint(
            "size must be a decimal number without leading zeros",
        ))?;
        let hash = STANDARD
            .decode(hash)
            .ok()
            .and_then(|bytes| ChainHash::try_from(bytes.as_slice()).ok())
            .ok_or(AuditError::MalformedCheckpoint(
                "hash line must be the base64 of 32 bytes",
            ))?;
        let mut checkpoint = Self::new(origin, ChainHead { size, hash })?;
        for line in lines {
            check_extension(line)
                .map_err(|_| AuditError::MalformedCheckpoint("empty extension line"))?;
            checkpoint.extensions.push(line.to_owned());
        }
        Ok(checkpoint)
    }
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("origin", &self.origin)
            .field("size", &self.head.size)
            .field("head", &self.head.hash)
            .field("extensions", &self.extensions)
            .finish()
    }
}

fn check_extension(line: &str) -> Result<(), AuditError> {
    if line.is_empty() {
        return Err(AuditError::InvalidExtension("empty"));
    }
    if line.chars().any(char::is_control) {
        return Err(AuditError::InvalidExtension("contains a control character"));
    }
    Ok(())
}

/// ASCII decimal without sign or leading zeros ("0" alone is fine), as tlog-checkpoint asks.
fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::GENESIS;

    fn checkpoint() -> Checkpoint {
        Checkpoint::new(
            "datavern.example/audit",
            ChainHead {
                size: 42,
                hash: GENESIS,
            },
        )
        .unwrap()
        .with_extension("timestamp 2025-01-01T00:00:00Z")
        .unwrap()
    }

    #[test]
    fn text_round_trips() {
        let text = checkpoint().to_note_text();
        assert_eq!(
            text.as_str(),
            "datavern.example/audit\n42\nPaYAHUdpZTBJWd0isAYzF5zzN/tVVKWIlX30XDMvixg=\n\
             timestamp 2025-01-01T00:00:00Z\n"
        );
        assert_eq!(Checkpoint::parse(text.as_str()).unwrap(), checkpoint());
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let hash = "PaYAHUdpZTBJWd0isAYzF5zzN/tVVKWIlX30XDMvixg=";
        for bad in [
            String::new(),
            "o\n1\n".to_owned(),
            format!("o\n01\n{hash}\n"),
            format!("o\n+1\n{hash}\n"),
            format!("o\n-1\n{hash}\n"),
            format!("o\n18446744073709551616\n{hash}\n"),
            format!("o b\n1\n{hash}\n"),
            format!("o\n1\n{}\n", &hash[1..]),
            "o\n1\nPaYAHUdpZTBJWd0isAYzF5zzN/tVVKWIlX30XDMvixh=\n".to_owned(),
            format!("o\n1\n{hash}\n\n"),
            format!("o\n1\n{hash}"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse(&format!("o\n0\n{hash}\n")).is_ok());
    }

    #[test]
    fn extensions_are_checked() {
        assert!(checkpoint().with_extension("").is_err());
        assert!(checkpoint().with_extension("a\nb").is_err());
        assert!(Checkpoint::new("a+b", ChainHead::EMPTY).is_err());
    }
}
