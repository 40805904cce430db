//! [`WrappedKey`] and its stable byte encoding.

use std::fmt;

use crate::encoding::Reader;
use crate::error::{Error, Result};
use crate::ids::{KekId, KekVersion, KeyId, KeyKind, KeyVersion};

/// A data key or index root key encrypted by a KEK, with everything needed to unwrap it
/// again: what kind of key it is, the key's id and version, and which KEK and KEK version
/// wrapped it (so keys wrapped by an old KEK version can be found and rewrapped).
///
/// Safe to store and log: it holds only ciphertext. The store persists [`to_bytes`]; see
/// `docs/crypto.md` for the layout.
///
/// [`to_bytes`]: WrappedKey::to_bytes
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    kind: KeyKind,
    key_id: KeyId,
    key_version: KeyVersion,
    kek_id: KekId,
    kek_version: KekVersion,
    ciphertext: Vec<u8>,
}

/// Encoding version written first by [`WrappedKey::to_bytes`].
const ENCODING_VERSION: u8 = 1;
/// Upper bound on the provider's ciphertext, to refuse garbage early. A local wrap is 60
/// bytes; a remote KMS's token (e.g. `vault:v1:` plus base64) is well under this.
const MAX_CIPHERTEXT_LEN: usize = 4096;

impl WrappedKey {
    pub(crate) fn new(
        kind: KeyKind,
        key_id: KeyId,
        key_version: KeyVersion,
        kek_id: KekId,
        kek_version: KekVersion,
        ciphertext: Vec<u8>,
    ) -> Self {
        Self {
            kind,
            key_id,
            key_version,
            kek_id,
            kek_version,
            ciphertext,
        }
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The wrapped key's id (for a data key, the id its envelopes start with).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The wrapped key's version.
    pub fn key_version(&self) -> KeyVersion {
        self.key_version
    }

    /// The KEK that wrapped it.
    pub fn kek_id(&self) -> &KekId {
        &self.kek_id
    }

    /// The KEK version that wrapped it; older than the provider's current version means it
    /// should be rewrapped.
    pub fn kek_version(&self) -> KekVersion {
        self.kek_version
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The stable storage encoding:
    ///
    /// ```text
    /// u8        encoding version (1)
    /// u8        kind (1 = data key, 2 = index root key)
    /// [u8; 16]  key id
    /// u32 BE    key version
    /// u8        kek id length n (1..=128)
    /// [u8; n]   kek id (ASCII)
    /// u32 BE    kek version
    /// u32 BE    ciphertext length m (1..=4096)
    /// [u8; m]   provider ciphertext
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let kek = self.kek_id.as_str().as_bytes();
        let mut out =
            Vec::with_capacity(1 + 1 + 16 + 4 + 1 + kek.len() + 4 + 4 + self.ciphertext.len());
        out.push(ENCODING_VERSION);
        out.push(self.kind.code());
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.key_version.get().to_be_bytes());
        // KekId::new caps the id at 128 bytes, so the length fits in one byte.
        out.push(u8::try_from(kek.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(kek);
        out.extend_from_slice(&self.kek_version.get().to_be_bytes());
        // Ciphertexts come from this crate's providers and stay far below 4 GiB.
        out.extend_from_slice(
            &u32::try_from(self.ciphertext.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`to_bytes`](Self::to_bytes) output, refusing unknown versions, truncation and
    /// trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        const TRUNCATED: Error = Error::MalformedWrappedKey("truncated");
        let mut r = Reader::new(bytes);
        if r.u8().ok_or(TRUNCATED)? != ENCODING_VERSION {
            return Err(Error::MalformedWrappedKey("unknown encoding version"));
        }
        let kind = KeyKind::from_code(r.u8().ok_or(TRUNCATED)?)
            .ok_or(Error::MalformedWrappedKey("unknown key kind"))?;
        let key_id = KeyId::from_bytes(r.array().ok_or(TRUNCATED)?);
        let key_version = KeyVersion::new(r.u32().ok_or(TRUNCATED)?)
            .map_err(|_| Error::MalformedWrappedKey("key version 0"))?;
        let kek_len = usize::from(r.u8().ok_or(TRUNCATED)?);
        let kek = r.take(kek_len).ok_or(TRUNCATED)?;
        let kek_id = std::str::from_utf8(kek)
            .ok()
            .and_then(|s| KekId::new(s).ok())
            .ok_or(Error::MalformedWrappedKey("invalid kek id"))?;
        let kek_version = KekVersion::new(r.u32().ok_or(TRUNCATED)?)
            .map_err(|_| Error::MalformedWrappedKey("kek version 0"))?;
        let ct_len = usize::try_from(r.u32().ok_or(TRUNCATED)?).unwrap_or(usize::MAX);
        if ct_len == 0 || ct_len > MAX_CIPHERTEXT_LEN {
            return Err(Error::MalformedWrappedKey("ciphertext length out of range"));
        }
        let ciphertext = r.take(ct_len).ok_or(TRUNCATED)?.to_vec();
        if !r.is_empty() {
            return Err(Error::MalformedWrappedKey("trailing bytes"));
        }
        Ok(Self::new(
            kind,
            key_id,
            key_version,
            kek_id,
            kek_version,
            ciphertext,
        ))
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .field("key_version", &self.key_version)
            .field("kek_id", &self.kek_id)
            .field("kek_version", &self.kek_version)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}
