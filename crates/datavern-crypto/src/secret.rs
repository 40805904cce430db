//! The one place raw 256-bit key material lives.

use std::fmt;

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};

use crate::error::{Error, Result};

/// Length of every symmetric key in this crate (AES-256, HMAC-SHA256 roots).
pub(crate) const KEY_LEN: usize = 32;

/// 32 bytes of key material on the heap, zeroized on drop.
///
/// Boxed so that moving the owner never leaves a stale copy on the stack. Not `Clone`, no
/// `Display`; `Debug` prints nothing of the bytes. Only this crate can read them.
pub(crate) struct KeyBytes(SecretBox<[u8; KEY_LEN]>);

impl KeyBytes {
    /// Fresh key material from aws-lc's secure random generator.
    pub(crate) fn random() -> Result<Self> {
        let mut secret = SecretBox::new(Box::new([0u8; KEY_LEN]));
        aws_lc_rs::rand::fill(secret.expose_secret_mut()).map_err(|_| Error::Random)?;
        Ok(Self(secret))
    }

    /// Copies key material out of a (zeroizing) buffer, e.g. an unwrapped key.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut secret = SecretBox::new(Box::new([0u8; KEY_LEN]));
        secret.expose_secret_mut().copy_from_slice(bytes);
        Some(Self(secret))
    }

    /// Fills fresh key material in place through `fill`, e.g. hex decoding from a key file.
    pub(crate) fn try_fill<E>(
        fill: impl FnOnce(&mut [u8; KEY_LEN]) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut secret = SecretBox::new(Box::new([0u8; KEY_LEN]));
        fill(secret.expose_secret_mut())?;
        Ok(Self(secret))
    }

    /// The raw bytes; callers must not copy them into anything that is not zeroized.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}
