//! datavern's key hierarchy, and the only crate that touches key material.
//!
//! ```text
//! KEK (KekProvider: local key file, OpenBao transit)
//!  ├─ wraps DataKey       one per data subject  → seals field envelopes (AES-256-GCM)
//!  └─ wraps IndexRootKey  one per tenant        → HKDF per (tenant, collection, field)
//!                                                 → BlindIndexKey → truncated HMAC-SHA256
//!
//! audit: hash chain over entries → Checkpoint (size, head) → Ed25519 signed note (C2SP)
//! ```
//!
//! **Invariant**: key material never leaves this crate as bytes except wrapped (encrypted) by a
//! KEK. Keys are opaque types, zeroized on drop, with a hand-written `Debug` that shows only
//! ids and versions and no `Display`. Errors never contain key bytes or plaintext.
//!
//! The formats (field envelope, associated data, wrapped key encoding, key file, blind index
//! derivation, audit chain and checkpoints) are specified byte by byte in `docs/crypto.md`.
//! The audit log's cryptography is in [`audit`].
//!
//! ```no_run
//! # async fn demo() -> datavern_crypto::Result<()> {
//! use datavern_crypto::*;
//!
//! let kek = LocalKeyFile::create("/var/lib/datavern/kek").await?;
//! let key = DataKey::generate(KeyVersion::FIRST)?;
//! let wrapped = kek.wrap(&[WrapRequest::data_key(&key, "0301", "subject-1")]).await?;
//! // store wrapped[0].to_bytes() in the key store ...
//!
//! let context = FieldContext {
//!     tenant: "0301",
//!     collection: "persons",
//!     field: "name",
//!     record_id: "0190b5d2-7c1e-7000-8000-000000000001",
//!     subject_id: "subject-1",
//! };
//! let envelope = encrypt_field(&key, &context, b"Kari Nordmann")?;
//! assert_eq!(envelope_key_id(&envelope)?, key.id());
//! let plaintext = decrypt_field(&key, &context, &envelope)?;
//! # Ok(()) }
//! ```

mod api_key;
pub mod audit;
mod blind_index;
mod data_key;
mod encoding;
mod envelope;
mod error;
mod ids;
mod kek;
mod normalize;
mod private_file;
mod repository_key;
mod secret;

pub use self::api_key::{API_KEY_PREFIX, ApiKey, ApiKeyHash, InvalidApiKeyHash};
pub use self::blind_index::{
    BlindIndex, BlindIndexKey, BlindIndexLength, IndexContext, IndexRootKey,
};
pub use self::data_key::DataKey;
pub use self::envelope::{
    ENVELOPE_OVERHEAD, ENVELOPE_VERSION, FieldContext, NONCE_LEN, PADDED_ENVELOPE_VERSION, Padding,
    PaddingBucket, TAG_LEN, decrypt_field, encrypt_field, encrypt_field_padded, envelope_key_id,
};
pub use self::error::{Error, Result};
pub use self::ids::{KekId, KekVersion, KeyId, KeyKind, KeyVersion};
pub use self::kek::{
    KekProvider, LocalKeyFile, UnwrapRequest, UnwrappedKey, WrapRequest, WrappedKey,
};
pub use self::normalize::Normalizer;
pub use self::repository_key::{REPOSITORY_KEY_TENANT, RepositoryPassword};
pub use zeroize::Zeroizing;

#[cfg(test)]
mod test_support {
    use crate::encoding::hex_encode;

    /// Asserts that `text` contains neither the hex (either case) nor the raw bytes of `key`.
    pub(crate) fn assert_no_key_bytes(text: &str, key: &[u8]) {
        let hex = hex_encode(key);
        assert!(!text.contains(&hex), "hex key bytes in {text}");
        assert!(
            !text.contains(&hex.to_uppercase()),
            "hex key bytes in {text}"
        );
        assert!(
            !text.as_bytes().windows(key.len()).any(|w| w == key),
            "raw key bytes in {text}"
        );
        // A debug list of the bytes, e.g. `[66, 66, ...]`, would also leak them.
        let list = format!("{key:?}");
        assert!(
            !text.contains(&list[1..list.len() - 1]),
            "byte list in {text}"
        );
    }
}
