//! Per-subject data keys.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, RandomizedNonceKey};

use crate::error::{Error, Result};
use crate::ids::{KeyId, KeyVersion};
use crate::secret::KeyBytes;

/// A data subject's 256-bit AES-GCM key, which seals that subject's fields.
///
/// Generated here, stored only wrapped by a KEK (see [`KekProvider`](crate::KekProvider)),
/// destroyed to crypto-shred the subject. Cloning is cheap (the key is shared behind an
/// `Arc`) and the material is zeroized when the last clone drops. `Debug` shows the id and
/// version only; there is no `Display` and no way to read the bytes outside this crate.
#[derive(Clone)]
pub struct DataKey(Arc<Inner>);

struct Inner {
    id: KeyId,
    version: KeyVersion,
    bytes: KeyBytes,
    // Expanded AES key schedule and GHASH key, kept so each field operation skips key setup.
    // aws-lc cleanses the context when it is freed.
    aead: RandomizedNonceKey,
}

impl DataKey {
    /// A fresh random key with a fresh random id.
    ///
    /// `version` is the subject's key generation: [`KeyVersion::FIRST`] for a new subject,
    /// the previous version's `next()` when a subject's key is rotated.
    pub fn generate(version: KeyVersion) -> Result<Self> {
        Self::from_parts(KeyId::random()?, version, KeyBytes::random()?)
    }

    pub(crate) fn from_parts(id: KeyId, version: KeyVersion, bytes: KeyBytes) -> Result<Self> {
        let aead =
            RandomizedNonceKey::new(&AES_256_GCM, bytes.expose()).map_err(|_| Error::Crypto)?;
        Ok(Self(Arc::new(Inner {
            id,
            version,
            bytes,
            aead,
        })))
    }

    /// The key's id, which every envelope it seals starts with.
    pub fn id(&self) -> KeyId {
        self.0.id
    }

    /// The key's generation for its subject.
    pub fn version(&self) -> KeyVersion {
        self.0.version
    }

    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.0.bytes
    }

    pub(crate) fn aead(&self) -> &RandomizedNonceKey {
        &self.0.aead
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.0.id)
            .field("version", &self.0.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::hex_encode;

    #[test]
    fn debug_contains_no_key_bytes() {
        let key = DataKey::generate(KeyVersion::FIRST).unwrap();
        for debug in [format!("{key:?}"), format!("{key:#?}")] {
            crate::test_support::assert_no_key_bytes(&debug, key.bytes().expose());
            assert!(debug.contains(&key.id().to_string()), "{debug}");
        }
        assert_eq!(
            format!("{key:?}"),
            format!(
                "DataKey {{ id: KeyId({}), version: KeyVersion(1), .. }}",
                key.id()
            )
        );
        assert_ne!(hex_encode(key.bytes().expose()), key.id().to_string());
    }

    #[test]
    fn generated_keys_differ() {
        let a = DataKey::generate(KeyVersion::FIRST).unwrap();
        let b = DataKey::generate(KeyVersion::FIRST).unwrap();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.bytes().expose(), b.bytes().expose());
    }
}
