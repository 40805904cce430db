//! Blind indexes (CipherSweet's design): a per-tenant root key, a key derived from it per
//! (tenant, collection, field) with HKDF-SHA256, and a truncated HMAC-SHA256 of the normalized
//! value. Equal values give equal indexes, so an encrypted field can be searched by equality;
//! truncation makes unequal values collide now and then, so candidates are decrypted and
//! compared.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::{hkdf, hmac};

use crate::encoding::{hex_encode, put_lp};
use crate::error::{Error, Result};
use crate::ids::{KeyId, KeyVersion};
use crate::secret::KeyBytes;

/// HKDF salt for every blind-index key derivation: a fixed domain label, so these keys can
/// never coincide with keys derived from the same root for another purpose.
const HKDF_SALT: &[u8] = b"datavern blind index v1";

/// A tenant's blind-index root key: 256 random bits from which every field's index key is
/// derived. Wrapped by the KEK with the tenant and "index root" as associated data.
///
/// Rotating it (a new id and version) changes every index, so all indexes of the tenant must
/// be recomputed. Cheap to clone; zeroized when the last clone drops; `Debug` shows id and
/// version only.
#[derive(Clone)]
pub struct IndexRootKey(Arc<RootInner>);

struct RootInner {
    id: KeyId,
    version: KeyVersion,
    bytes: KeyBytes,
    // HKDF-Extract of the root, computed once; aws-lc-rs zeroizes it on drop.
    prk: hkdf::Prk,
}

impl IndexRootKey {
    /// A fresh random root key with a fresh random id.
    pub fn generate(version: KeyVersion) -> Result<Self> {
        Ok(Self::from_parts(
            KeyId::random()?,
            version,
            KeyBytes::random()?,
        ))
    }

    pub(crate) fn from_parts(id: KeyId, version: KeyVersion, bytes: KeyBytes) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(bytes.expose());
        Self(Arc::new(RootInner {
            id,
            version,
            bytes,
            prk,
        }))
    }

    /// The root key's id.
    pub fn id(&self) -> KeyId {
        self.0.id
    }

    /// The root key's version.
    pub fn version(&self) -> KeyVersion {
        self.0.version
    }

    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.0.bytes
    }

    /// The index key for one field: HKDF-SHA256 with salt `"datavern blind index v1"`, the root
    /// as input key material and `lp(tenant) ‖ lp(collection) ‖ lp(field)` as info (4-byte
    /// big-endian lengths), expanded to 32 bytes. Indexes it computes are `length` bytes.
    pub fn derive(
        &self,
        context: &IndexContext<'_>,
        length: BlindIndexLength,
    ) -> Result<BlindIndexKey> {
        let info = context.info()?;
        let info_parts = [info.as_slice()];
        let okm = self
            .0
            .prk
            .expand(&info_parts, hmac::HMAC_SHA256)
            .map_err(|_| Error::Crypto)?;
        Ok(BlindIndexKey {
            key: hmac::Key::from(okm),
            root_id: self.0.id,
            root_version: self.0.version,
            length,
        })
    }
}

impl fmt::Debug for IndexRootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexRootKey")
            .field("id", &self.0.id)
            .field("version", &self.0.version)
            .finish_non_exhaustive()
    }
}

/// The field a blind index belongs to. Part of the key derivation, so indexes of the same value
/// differ between tenants, collections and fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexContext<'a> {
    /// The tenant (kommunenummer).
    pub tenant: &'a str,
    /// The catalog collection.
    pub collection: &'a str,
    /// The field within the collection.
    pub field: &'a str,
}

impl IndexContext<'_> {
    fn info(&self) -> Result<Vec<u8>> {
        let mut info =
            Vec::with_capacity(12 + self.tenant.len() + self.collection.len() + self.field.len());
        put_lp(&mut info, self.tenant.as_bytes())?;
        put_lp(&mut info, self.collection.as_bytes())?;
        put_lp(&mut info, self.field.as_bytes())?;
        Ok(info)
    }
}

/// How many bytes of HMAC-SHA256 a blind index keeps: from 2 to 32.
///
/// Shorter means more false positives (unequal values sharing an index, weeded out by
/// decrypting candidates) and less for an attacker holding the database to learn; longer means
/// fewer candidates and an index that is close to a unique pseudonym of the value. See
/// `docs/crypto.md` for how to choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindIndexLength(u8);

impl BlindIndexLength {
    /// Shortest allowed length in bytes.
    pub const MIN: usize = 2;
    /// Longest allowed length in bytes (the whole HMAC-SHA256).
    pub const MAX: usize = 32;

    /// A length of `bytes`, or [`Error::BlindIndexLength`] outside `MIN..=MAX`.
    pub fn new(bytes: usize) -> Result<Self> {
        if !(Self::MIN..=Self::MAX).contains(&bytes) {
            return Err(Error::BlindIndexLength(bytes));
        }
        u8::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::BlindIndexLength(bytes))
    }

    /// The length in bytes.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// The key that computes one field's blind indexes, derived by [`IndexRootKey::derive`].
///
/// `Debug` shows the root key's id and version and the length, never the key.
#[derive(Clone)]
pub struct BlindIndexKey {
    // aws-lc cleanses the HMAC context when it is freed.
    key: hmac::Key,
    root_id: KeyId,
    root_version: KeyVersion,
    length: BlindIndexLength,
}

impl BlindIndexKey {
    /// The blind index of `normalized`: HMAC-SHA256 under this key, truncated to the length.
    ///
    /// Normalization is the caller's job (see [`Normalizer`](crate::Normalizer)): the same
    /// person's "151086 95088" and "15108695088" only match if both were normalized first.
    pub fn compute(&self, normalized: &[u8]) -> BlindIndex {
        let tag = hmac::sign(&self.key, normalized);
        let mut bytes = [0u8; BlindIndexLength::MAX];
        let len = self.length.get();
        bytes[..len].copy_from_slice(&tag.as_ref()[..len]);
        BlindIndex {
            bytes,
            len: self.length.0,
        }
    }

    /// The length of the indexes this key computes.
    pub fn length(&self) -> BlindIndexLength {
        self.length
    }

    /// The id of the root key it was derived from.
    pub fn root_id(&self) -> KeyId {
        self.root_id
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexKey")
            .field("root_id", &self.root_id)
            .field("root_version", &self.root_version)
            .field("length", &self.length.get())
            .finish_non_exhaustive()
    }
}

/// A blind index value, to store in the field's index column and compare for equality.
///
/// It is a keyed pseudonym of personal data, so `Debug` prints only its length; use
/// [`as_bytes`](Self::as_bytes) or [`to_hex`](Self::to_hex) deliberately.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndex {
    bytes: [u8; BlindIndexLength::MAX],
    len: u8,
}

impl BlindIndex {
    /// The index bytes (as many as the field's length).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The index as lowercase hex, for text columns.
    pub fn to_hex(&self) -> String {
        hex_encode(self.as_bytes())
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_no_key_bytes;

    const CONTEXT: IndexContext<'static> = IndexContext {
        tenant: "0301",
        collection: "persons",
        field: "fnr",
    };

    /// Known answer computed independently (Python `cryptography` HKDF + `hmac`), so the
    /// derivation documented in docs/crypto.md is the one implemented.
    #[test]
    fn matches_independent_computation() {
        let root_bytes = KeyBytes::from_slice(&[0x42; 32]).unwrap();
        let root =
            IndexRootKey::from_parts(KeyId::from_bytes([0; 16]), KeyVersion::FIRST, root_bytes);
        let key = root
            .derive(&CONTEXT, BlindIndexLength::new(32).unwrap())
            .unwrap();
        assert_eq!(
            key.compute(b"15108695088").to_hex(),
            "08a0023b4edf02b83d216314e2e0280021b4ec9545fa33e99896d58c9a007e98"
        );
    }

    #[test]
    fn debug_contains_no_key_bytes() {
        let root = IndexRootKey::generate(KeyVersion::FIRST).unwrap();
        let key = root
            .derive(&CONTEXT, BlindIndexLength::new(8).unwrap())
            .unwrap();
        for debug in [
            format!("{root:?}"),
            format!("{root:#?}"),
            format!("{key:?}"),
            format!("{key:#?}"),
        ] {
            assert_no_key_bytes(&debug, root.bytes().expose());
        }
        assert_eq!(
            format!("{root:?}"),
            format!(
                "IndexRootKey {{ id: KeyId({}), version: KeyVersion(1), .. }}",
                root.id()
            )
        );
        assert_eq!(
            format!("{key:?}"),
            format!(
                "BlindIndexKey {{ root_id: KeyId({}), root_version: KeyVersion(1), length: 8, .. }}",
                root.id()
            )
        );
        let index = key.compute(b"x");
        assert_eq!(format!("{index:?}"), "BlindIndex(8 bytes)");
    }
}
