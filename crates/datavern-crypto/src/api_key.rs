//! API keys for statically configured principals: generation, hashing and constant-time
//! verification.
//!
//! A key is `dvk_` followed by 32 random bytes in unpadded base64url (43 characters), e.g.
//! `dvk_3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`. The prefix makes a leaked key easy to
//! recognise (secret scanners, log filters). Configuration stores only the key's
//! [`ApiKeyHash`], written `sha256:<64 hex digits>`; the key itself is shown once when it is
//! made.
//!
//! Why one SHA-256 and not a slow password hash: see [`ApiKeyHash`].
//!
//! ```
//! use datavern_crypto::{ApiKey, ApiKeyHash};
//!
//! let key = ApiKey::generate()?;
//! let stored: ApiKeyHash = key.hash().to_string().parse()?;
//! assert!(stored.verify(key.expose_secret()));
//! assert!(!stored.verify("dvk_guess"));
//! // The key never shows through Debug.
//! assert!(!format!("{key:?}").contains(&key.expose_secret()[4..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::encoding::{hex_decode_into, hex_encode};
use crate::error::{Error, Result};

/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "dvk_";

/// Random bytes in a key.
const KEY_RANDOM_LEN: usize = 32;
/// Length of a SHA-256 digest.
const HASH_LEN: usize = 32;
/// How an [`ApiKeyHash`] is written: the algorithm, then the hex digest.
const HASH_PREFIX: &str = "sha256:";

/// A newly generated API key, in clear: hand it to its holder once, store only its
/// [`hash`](Self::hash).
///
/// Zeroized on drop; no `Display`, and `Debug` prints `ApiKey(<redacted>)`.
pub struct ApiKey(SecretString);

/// The SHA-256 hash of an API key, as configuration stores it (`sha256:<64 hex digits>`).
///
/// A hash is not a secret in the way the key is, but comparisons with it still run in
/// constant time, and `Debug` shows only its first bytes. There is deliberately no
/// `PartialEq`: compare with [`verify`](Self::verify) or [`ct_eq`](Self::ct_eq).
///
/// **Why SHA-256 and not a slow password hash (Argon2, bcrypt, PBKDF2):** slow hashes exist
/// to make guessing *low-entropy* secrets expensive after a hash leaks. API keys are 256 bits
/// from the operating system's secure random generator, so there is nothing to guess: a
/// leaked hash leaves an attacker a 2^256 preimage search, with or without a work factor. One
/// SHA-256 is also what every request pays to authenticate, where a slow hash would cost tens
/// of milliseconds of CPU per request and hand attackers a cheap denial of service. (GitHub's
/// and Stripe's API tokens are stored the same way.)
#[derive(Clone)]
pub struct ApiKeyHash([u8; HASH_LEN]);

/// Why a text is not an [`ApiKeyHash`]. The message never repeats the text, which could be a
/// key pasted into the wrong place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API key hash: expected `sha256:` followed by 64 hex digits")]
pub struct InvalidApiKeyHash;

impl ApiKey {
    /// A fresh key: `dvk_` and 32 bytes from the secure random generator, base64url.
    pub fn generate() -> Result<ApiKey> {
        let mut random = Zeroizing::new([0u8; KEY_RANDOM_LEN]);
        aws_lc_rs::rand::fill(random.as_mut()).map_err(|_| Error::Random)?;
        let mut text = String::with_capacity(API_KEY_PREFIX.len() + 43);
        text.push_str(API_KEY_PREFIX);
        URL_SAFE_NO_PAD.encode_string(random.as_ref(), &mut text);
        Ok(ApiKey(SecretString::from(text)))
    }

    /// The key in clear, to show its holder once or write to a private file.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The hash to store.
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(self.expose_secret())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKeyHash {
    /// The hash of a presented key (any text: a malformed key simply matches nothing).
    pub fn of(presented: &str) -> ApiKeyHash {
        let mut hash = [0u8; HASH_LEN];
        hash.copy_from_slice(digest(&SHA256, presented.as_bytes()).as_ref());
        ApiKeyHash(hash)
    }

    /// Whether `presented` is the key this is the hash of, compared in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        self.ct_eq(&ApiKeyHash::of(presented))
    }

    /// Whether two hashes are equal, compared in constant time.
    pub fn ct_eq(&self, other: &ApiKeyHash) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl fmt::Display for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HASH_PREFIX}{}", hex_encode(&self.0))
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyHash({HASH_PREFIX}{}…)", hex_encode(&self.0[..4]))
    }
}

impl FromStr for ApiKeyHash {
    type Err = InvalidApiKeyHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .trim()
            .strip_prefix(HASH_PREFIX)
            .ok_or(InvalidApiKeyHash)?;
        if hex.len() != HASH_LEN * 2 {
            return Err(InvalidApiKeyHash);
        }
        let mut hash = [0u8; HASH_LEN];
        hex_decode_into(hex, &mut hash).map_err(|()| InvalidApiKeyHash)?;
        Ok(ApiKeyHash(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_prefix_and_43_base64url_characters() {
        let key = ApiKey::generate().unwrap();
        let text = key.expose_secret();
        let body = text.strip_prefix(API_KEY_PREFIX).unwrap();
        assert_eq!(body.len(), 43);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(text, ApiKey::generate().unwrap().expose_secret());
    }

    #[test]
    fn hash_round_trips_through_its_text_form_and_verifies_only_its_key() {
        let key = ApiKey::generate().unwrap();
        let text = key.hash().to_string();
        assert!(
            text.starts_with("sha256:") && text.len() == 7 + 64,
            "{text}"
        );
        let parsed: ApiKeyHash = text.parse().unwrap();
        assert!(parsed.verify(key.expose_secret()));
        assert!(parsed.ct_eq(&key.hash()));
        assert!(!parsed.verify(&format!("{}x", key.expose_secret())));
        assert!(!parsed.verify(""));
        // Upper-case hex is accepted too.
        let upper = format!("sha256:{}", text[7..].to_uppercase());
        assert!(upper.parse::<ApiKeyHash>().unwrap().ct_eq(&parsed));
    }

    #[test]
    fn known_answer() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            ApiKeyHash::of("abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_hashes_are_refused_without_repeating_the_text() {
        for bad in [
            "",
            "sha256:",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:ba78",
            "dvk_secretsecretsecret",
        ] {
            let err = bad.parse::<ApiKeyHash>().unwrap_err();
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_key_or_the_whole_hash() {
        let key = ApiKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "ApiKey(<redacted>)");
        let hash = key.hash();
        let debug = format!("{hash:?}");
        assert!(!debug.contains(&hash.to_string()[7..]), "{debug}");
    }
}
