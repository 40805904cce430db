//! Identifiers and versions of keys. None of these are secret: they may be logged and stored
//! in plain text.

use std::fmt;
use std::str::FromStr;

use crate::encoding::{hex_decode_into, hex_encode};
use crate::error::{Error, Result};

/// Identifier of a data key or an index root key: 16 random bytes, written as 32 hex digits.
///
/// A field envelope starts with the id of the data key that sealed it, so a reader can find
/// the wrapped key to unwrap without decrypting anything.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    /// Length of a key id in bytes.
    pub const LEN: usize = 16;

    /// A fresh id from the secure random generator.
    pub(crate) fn random() -> Result<Self> {
        let mut id = [0u8; Self::LEN];
        aws_lc_rs::rand::fill(&mut id).map_err(|_| Error::Random)?;
        Ok(Self(id))
    }

    /// The id from its stored bytes.
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The id's bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = Error;

    /// Parses the 32-hex-digit form produced by `Display`.
    fn from_str(s: &str) -> Result<Self> {
        let mut id = [0u8; Self::LEN];
        hex_decode_into(s, &mut id).map_err(|()| Error::InvalidKeyId)?;
        Ok(Self(id))
    }
}

macro_rules! version_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            /// The first version.
            pub const FIRST: Self = Self(1);

            /// The version numbered `n`; versions start at 1.
            pub fn new(n: u32) -> Result<Self> {
                if n == 0 {
                    return Err(Error::InvalidVersion);
                }
                Ok(Self(n))
            }

            /// The version number.
            pub fn get(self) -> u32 {
                self.0
            }

            /// The version after this one.
            pub fn next(self) -> Result<Self> {
                self.0.checked_add(1).map(Self).ok_or(Error::InvalidVersion)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

version_type! {
    /// Generation of a data key or index root key (1, 2, ...). A subject whose key is rotated
    /// gets a new key with a new [`KeyId`] and the next version; old envelopes keep naming the
    /// old key id.
    KeyVersion
}

version_type! {
    /// Version of a key-encryption key within one provider (1, 2, ...). Rotating the KEK adds
    /// a version; older versions stay available for unwrapping until every wrapped key has
    /// been rewrapped.
    KekVersion
}

/// Identifier of a key-encryption key (a local key file, an OpenBao transit key): 1 to 128
/// printable ASCII characters without spaces. Stable across KEK versions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekId(String);

impl KekId {
    /// Longest accepted id, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Validates `id`.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::InvalidKekId("empty"));
        }
        if id.len() > Self::MAX_LEN {
            return Err(Error::InvalidKekId("longer than 128 bytes"));
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidKekId(
                "only printable ascii characters without spaces are allowed",
            ));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a wrapped key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A per-subject [`DataKey`](crate::DataKey).
    DataKey,
    /// A per-tenant [`IndexRootKey`](crate::IndexRootKey).
    IndexRoot,
}

impl KeyKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::DataKey => 1,
            Self::IndexRoot => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::DataKey),
            2 => Some(Self::IndexRoot),
            _ => None,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DataKey => "data key",
            Self::IndexRoot => "index root key",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_display_parses_back() {
        let id = KeyId::random().unwrap();
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
        assert_eq!(id.to_string().len(), 32);
    }

    #[test]
    fn versions_start_at_one() {
        assert!(KeyVersion::new(0).is_err());
        assert_eq!(KekVersion::FIRST.next().unwrap().get(), 2);
        assert!(KekVersion::new(u32::MAX).unwrap().next().is_err());
    }

    #[test]
    fn kek_id_rejects_spaces_and_empty() {
        assert!(KekId::new("").is_err());
        assert!(KekId::new("a b").is_err());
        assert!(KekId::new("x".repeat(129)).is_err());
        assert!(KekId::new("local:0123").is_ok());
    }
}
